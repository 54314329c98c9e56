"""What the response cache costs and saves, with no network in the way.

Run by hand (it is not a test):  .venv/bin/python bench/cache.py [--quick]

Provider answers come from a transport interceptor that hands back a fixed body at once
(``transport.set_interceptor``, the cassette seam), so the numbers are llmrelay's own work:
a call with no cache, an in-process hit, an in-process miss (lookup + store), the same on SQLite
and Redis, sync and async. Redis runs as our own ``redis-server`` on a free loopback port; its
``INFO commandstats`` counts the commands a hit and a miss send. Last, the value codec: sizes and
times of plain JSON, zlib level 1 and level 6 on small, long and many-choice answers.
Exit status: 0 when every target passes, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from typing import Any, Callable

import llmrelay
from llmrelay import transport

# Targets (issue 12).
HIT_US = 30.0
MISS_EXTRA_US = 15.0
REDIS_HIT_ROUND_TRIPS = 1

MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
WORDS = " ".join(f"word{i}" for i in range(40))


def body(content: str = WORDS, n: int = 1) -> bytes:
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1752720361,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench",
        "service_tier": "default",
        "choices": [{"index": i, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": content, "refusal": None,
                                 "annotations": []}} for i in range(n)],
        "usage": {"prompt_tokens": 14, "completion_tokens": 40, "total_tokens": 54,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
    }).encode()


class Canned:
    """Answers every request with one fixed body, at once."""

    replaying = True

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.sent = 0

    def send(self, request: Any, timeout: Any) -> Any:
        self.sent += 1
        return transport.replayed(200, {"content-type": "application/json"}, self.content)

    async def asend(self, request: Any, timeout: Any) -> Any:
        self.sent += 1
        return transport.replayed(200, {"content-type": "application/json"}, self.content,
                                  asynchronous=True)


def interleaved(variants: dict[str, tuple[Any, Callable[[int], Any]]], n: int,
                rounds: int = 9) -> dict[str, float]:
    """Best microseconds per call of each ``(cache, fn)`` variant, measured in alternating
    rounds so that the machine's ups and downs hit every variant alike; ``i`` never repeats."""
    counter = iter(range(10**9))
    best = {name: float("inf") for name in variants}
    for round_ in range(rounds + 1):
        for name, (cache, fn) in variants.items():
            llmrelay.cache = cache
            start = time.perf_counter()
            for _ in range(n):
                fn(next(counter))
            if round_:  # the first round warms up
                best[name] = min(best[name], (time.perf_counter() - start) / n * 1e6)
    llmrelay.cache = None
    return best


def ainterleaved(variants: dict[str, tuple[Any, Callable[[int], Any]]], n: int,
                 rounds: int = 9) -> dict[str, float]:
    async def main() -> dict[str, float]:
        counter = iter(range(10**9))
        best = {name: float("inf") for name in variants}
        for round_ in range(rounds + 1):
            for name, (cache, fn) in variants.items():
                llmrelay.cache = cache
                start = time.perf_counter()
                for _ in range(n):
                    await fn(next(counter))
                if round_:
                    best[name] = min(best[name], (time.perf_counter() - start) / n * 1e6)
        llmrelay.cache = None
        return best

    return asyncio.run(main())


def per_call(fn: Callable[[int], Any], n: int, rounds: int = 3) -> float:
    return interleaved({"": (None, fn)}, n, rounds)[""]


KW = {"model": "gpt-4o-mini", "messages": MESSAGES, "api_key": "sk-bench",
      "api_base": "https://api.openai.com/v1"}


def same(_: int) -> Any:
    return llmrelay.completion(**KW)


def fresh(i: int) -> Any:
    return llmrelay.completion(**KW, seed=i)


async def asame(_: int) -> Any:
    return await llmrelay.acompletion(**KW)


async def afresh(i: int) -> Any:
    return await llmrelay.acompletion(**KW, seed=i)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], str, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install -y redis-server)")
    port, folder = free_port(), tempfile.mkdtemp(prefix="llmrelay-bench-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", folder],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(500):
        try:
            if redis.Redis.from_url(url).ping():
                break
        except redis.RedisError:
            time.sleep(0.01)
    return proc, url, folder


HANDSHAKE = ("hello", "client|setinfo", "select", "auth")


def commands(url: str, work: Callable[[], Any]) -> dict[str, int]:
    """Commands the server ran during ``work()`` (by name), ours excluded."""
    import redis

    admin = redis.Redis.from_url(url)
    admin.config_resetstat()
    work()
    stats = admin.info("commandstats")
    admin.close()
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()
            if not name.startswith(("cmdstat_config", "cmdstat_info"))}


def round_trips(counted: dict[str, int], calls: int) -> float:
    """Commands per call, a new connection's handshake (once per connection) left out."""
    return sum(v for k, v in counted.items() if k not in HANDSHAKE) / calls


def codec_table() -> list[tuple[str, int, int, int, float, float, float]]:
    rows = []
    samples = {"one short answer": body(), "one long answer (~4 KB text)": body(WORDS * 12),
               "20 choices": body(n=20)}
    for name, raw in samples.items():
        answer = llmrelay.ModelResponse.model_validate_json(raw)
        data = answer.model_dump_json().encode()
        one, six = zlib.compress(data, 1), zlib.compress(data, 6)
        t1 = per_call(lambda _, d=data: zlib.compress(d, 1), 2000, 3)
        t6 = per_call(lambda _, d=data: zlib.compress(d, 6), 2000, 3)
        td = per_call(lambda _, c=one: zlib.decompress(c), 2000, 3)
        rows.append((name, len(data), len(one), len(six), t1, t6, td))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per round")
    args = parser.parse_args()
    n = 2000 if args.quick else 10000
    canned = Canned(body())
    transport.set_interceptor(canned)
    results: dict[str, float] = {}
    failures: list[str] = []

    memory = llmrelay.Cache()
    # Every "miss" call asks something new (its own seed): it looks up, misses and stores, and
    # the LRU evicts past 1,000 entries. "no cache" makes the same calls with the cache off.
    results.update(interleaved({
        "no cache, sync": (None, fresh),
        "memory hit, sync": (memory, same),
        "memory miss, sync": (memory, fresh),
    }, n // 5))
    results.update(ainterleaved({
        "no cache, async": (None, afresh),
        "memory hit, async": (memory, asame),
        "memory miss, async": (memory, afresh),
    }, n // 5))

    with tempfile.TemporaryDirectory() as folder:
        disk = llmrelay.Cache(f"sqlite:///{folder}/bench.db")
        results.update(interleaved({"sqlite hit, sync": (disk, same),
                                    "sqlite miss, sync": (disk, fresh)}, n // 10, 3))
        disk.close()

    proc, url, folder = start_redis()
    try:
        shared = llmrelay.Cache(url)
        results.update(interleaved({"redis hit, sync": (shared, same),
                                    "redis miss, sync": (shared, fresh)}, n // 10, 3))
        results.update(ainterleaved({"redis hit, async": (shared, asame)}, n // 10, 3))
        llmrelay.cache = shared
        hits = commands(url, lambda: [same(0) for _ in range(100)])
        miss = commands(url, lambda: [fresh(10**8 + i) for i in range(100)])

        async def ahits() -> None:
            for _ in range(100):
                await asame(0)

        async_hits = commands(url, lambda: asyncio.run(ahits()))
        shared.close()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
    llmrelay.cache = None
    transport.set_interceptor(None)

    print(f"llmrelay cache benchmark, {time.strftime('%Y-%m-%d')}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs (no network: canned answers)\n")
    width = max(map(len, results))
    for name, us in results.items():
        print(f"  {name:<{width}}  {us:8.1f} us/call")
    extra = results["memory miss, sync"] - results["no cache, sync"]
    print(f"\n  memory miss adds {extra:.1f} us over no cache (target <= {MISS_EXTRA_US})")
    print(f"  memory hit {results['memory hit, sync']:.1f} us (target <= {HIT_US})")
    print(f"  redis commands for 100 sync hits: {hits}")
    print(f"  redis commands for 100 async hits: {async_hits}")
    print(f"  redis commands for 100 misses: {miss}")
    if results["memory hit, sync"] > HIT_US:
        failures.append("memory hit")
    if extra > MISS_EXTRA_US:
        failures.append("memory miss overhead")
    for name, counted in (("sync", hits), ("async", async_hits)):
        per_hit = round_trips(counted, 100)
        print(f"  redis round trips per {name} hit: {per_hit}")
        if per_hit > REDIS_HIT_ROUND_TRIPS:
            failures.append(f"redis {name} hit round trips ({per_hit})")
    print("\n  value codec (answer JSON as stored; times per value)")
    print(f"  {'answer':<30} {'JSON':>7} {'zlib-1':>7} {'zlib-6':>7} {'c1 us':>7} "
          f"{'c6 us':>7} {'d1 us':>7}")
    for row in codec_table():
        print(f"  {row[0]:<30} {row[1]:>7} {row[2]:>7} {row[3]:>7} {row[4]:>7.1f} "
              f"{row[5]:>7.1f} {row[6]:>7.1f}")
    print(f"\n  provider requests sent through the canned transport: {canned.sent}")
    if failures:
        print("\nMISSED: " + ", ".join(failures))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
