"""What prices and token counts cost: first-use load times, per-call times, memory.

Run by hand (it is not a test):  .venv/bin/python bench/pricing.py [--json out.json]

Each first-use number comes from a fresh interpreter (median of 5), so nothing is cached
from an earlier step; per-call numbers are the median of 7 timed loops. Memory is the growth
of the process's resident set (the tokenizers live in Rust, out of tracemalloc's sight).
Exit status 1 when ``cost_of_parts`` misses its 10 µs target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

COST_TARGET_US = 10.0

CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant that answers questions about "
                                  "geography and history concisely and accurately."},
    {"role": "user", "content": "What is the capital of France, and what is one famous landmark "
                                "there? Please also tell me about the history of the Eiffel "
                                "Tower in a few sentences, including when it was built and why."},
    {"role": "assistant", "content": "The capital of France is Paris. One famous landmark is the "
                                     "Eiffel Tower, built between 1887 and 1889 as the entrance "
                                     "arch for the 1889 World's Fair, marking the centennial of "
                                     "the French Revolution. Designed by Gustave Eiffel's "
                                     "company, it was first criticised by artists and writers "
                                     "but became a global icon of France and of engineering."},
    {"role": "user", "content": "Thanks! Now what about Germany? Tell me its capital and one "
                                "landmark there, with a short history of that landmark, and "
                                "say how it compares with the Eiffel Tower in age and height."},
]

# Snippets run in a fresh interpreter; each prints seconds (and RSS growth in KiB).
FRESH = {
    "import llmrelay": "import llmrelay",
    "price data, first lookup": (
        "import llmrelay.pricing as p\n"
        "p.completion_cost(model='gpt-4o-mini', usage={'prompt_tokens': 1, 'completion_tokens': 1})"
    ),
    "o200k_base tokenizer, first count": (
        "import llmrelay.pricing as p\np.token_counter(model='gpt-4o', text='hi')"
    ),
    "cl100k_base tokenizer, first count": (
        "import llmrelay.pricing as p\np.token_counter(model='gpt-4', text='hi')"
    ),
}
RUNNER = """
import resource, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024
{prelude}
before = rss()
start = time.perf_counter()
exec(sys.argv[1])
print(time.perf_counter() - start, rss() - before)
"""


def fresh(snippet: str, prelude: str) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", RUNNER.format(prelude=prelude), snippet],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def per_call(fn: Callable[[], Any], loops: int) -> float:
    fn()
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - start) / loops)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    results: dict[str, Any] = {}

    for name, snippet in FRESH.items():
        prelude = "" if name == "import llmrelay" else "import llmrelay"
        runs = [fresh(snippet, prelude) for _ in range(5)]
        seconds = statistics.median(r[0] for r in runs)
        kib = statistics.median(r[1] for r in runs)
        results[name] = {"ms": round(seconds * 1e3, 1), "rss_kib": kib}
        print(f"{name:40s} {seconds * 1e3:8.1f} ms   +{kib / 1024:6.1f} MiB resident")

    import llmrelay.pricing as pricing
    from llmrelay.types import Usage

    usage = Usage.of(1200, 300, cached_tokens=1000, reasoning_tokens=100)
    as_dict = usage.model_dump()
    pricing.cost_of_parts("openai", "gpt-4o", None, [("gpt-4o-2024-08-06", usage)])
    pricing.token_counter(model="gpt-4o", messages=CONVERSATION)
    calls: dict[str, tuple[Callable[[], Any], int]] = {
        "cost_of_parts, 1 part (Usage)": (
            lambda: pricing.cost_of_parts("openai", "gpt-4o", None,
                                          [("gpt-4o-2024-08-06", usage)]), 20000),
        "cost_of_parts, 1 part (dict)": (
            lambda: pricing.cost_of_parts("openai", "gpt-4o", None,
                                          [("gpt-4o-2024-08-06", as_dict)]), 20000),
        "cost_of_parts, 3 parts (n=3 fan-out)": (
            lambda: pricing.cost_of_parts("anthropic", "claude-sonnet-4-5", None,
                                          [("claude-sonnet-4-5-20250929", usage)] * 3), 20000),
        "cost_of_parts, azure via base_model": (
            lambda: pricing.cost_of_parts("azure", "azure/prod", "gpt-4o",
                                          [("gpt-4o-2024-08-06", usage)]), 20000),
        "completion_cost(model=, usage=)": (
            lambda: pricing.completion_cost(model="gpt-4o-mini", usage=usage), 20000),
        "token_counter, 4 messages": (
            lambda: pricing.token_counter(model="gpt-4o", messages=CONVERSATION), 2000),
        "token_counter, text": (
            lambda: pricing.token_counter(model="gpt-4o", text=CONVERSATION[2]["content"]), 2000),
    }
    tokens = pricing.token_counter(model="gpt-4o", messages=CONVERSATION)
    for name, (fn, loops) in calls.items():
        micros = per_call(fn, loops)
        results[name] = {"us": round(micros, 2)}
        print(f"{name:40s} {micros:8.2f} µs")
    results["conversation_tokens"] = tokens
    print(f"(the conversation is {tokens} tokens)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    sys.exit(0 if results["cost_of_parts, 1 part (Usage)"]["us"] <= COST_TARGET_US else 1)


if __name__ == "__main__":
    main()
