"""What ``llmrelay.embedding()`` costs over a raw client, for one 1,000-string batch.

Run by hand (it is not a test):  .venv/bin/python bench/embeddings.py [--rounds N] [--json out.json]

Both sides talk to the same llmrelay emulator (``/v1/embeddings``, run in its own process so
that it does not compete for this one's GIL) over loopback: the raw side encodes the body with
the standard library, posts it with a bare httpcore pool and parses the answer with
``pydantic_core.from_json``; the llmrelay side is ``llmrelay.embedding()``. Calls alternate in
pairs (which side goes first alternates too), so machine noise hits both alike. Reported: the
median per-pair difference in wall-clock time, and in this process's CPU time (what llmrelay
itself spends; waiting for the emulator costs none). Measured at the model's full 1,536
dimensions (a ~20 MB answer) and at ``dimensions=256``.
Exit status: 0 when the median CPU-time overhead is within the target at every size.
"""

from __future__ import annotations

import argparse
import gc
import json
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import httpcore
from pydantic_core import from_json

import llmrelay
from llmrelay.testing import DEFAULT_API_KEY

MODEL = "text-embedding-3-small"
BATCH = 1000
TARGET_MS = 2.0  # issue 9: at most 2 ms of llmrelay time over the raw client


def inputs() -> list[str]:
    return [f"document {i}: notes on topic {i % 37} and its neighbours" for i in range(BATCH)]


def raw_call(pool: httpcore.ConnectionPool, url: str, key: str,
             texts: list[str], dimensions: int | None) -> Any:
    """What a hand-written client does: encode, post, parse."""
    payload: dict[str, Any] = {"model": MODEL, "input": texts}
    if dimensions is not None:
        payload["dimensions"] = dimensions
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = pool.request("POST", url, content=body, headers={
        "authorization": f"Bearer {key}", "content-type": "application/json"})
    assert response.status == 200, response.content[:200]
    return from_json(response.content)


def paired(rounds: int, raw: Callable[[], Any], ours: Callable[[], Any]) -> dict[str, float]:
    """Alternating pairs; returns medians in milliseconds (wall clock and process CPU)."""
    for _ in range(3):  # warm caches, pools, the emulator's encoded vectors
        raw()
        ours()
    wall: dict[Any, list[float]] = {raw: [], ours: []}
    cpu: dict[Any, list[float]] = {raw: [], ours: []}
    gc.collect()
    for i in range(rounds):
        for fn in (raw, ours) if i % 2 == 0 else (ours, raw):
            started, started_cpu = time.perf_counter(), time.process_time()
            fn()
            cpu[fn].append((time.process_time() - started_cpu) * 1000)
            wall[fn].append((time.perf_counter() - started) * 1000)
    wall_diff = sorted(b - a for a, b in zip(wall[raw], wall[ours]))
    cpu_diff = sorted(b - a for a, b in zip(cpu[raw], cpu[ours]))
    return {
        "raw_ms": statistics.median(wall[raw]),
        "llmrelay_ms": statistics.median(wall[ours]),
        "overhead_ms": statistics.median(wall_diff),
        "raw_cpu_ms": statistics.median(cpu[raw]),
        "llmrelay_cpu_ms": statistics.median(cpu[ours]),
        "cpu_overhead_ms": statistics.median(cpu_diff),
        "cpu_overhead_p25_ms": cpu_diff[len(cpu_diff) // 4],
        "cpu_overhead_p75_ms": cpu_diff[(3 * len(cpu_diff)) // 4],
    }


@contextmanager
def emulator_process() -> Iterator[str]:
    """``python -m llmrelay.testing`` on a free port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llmrelay.testing", "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "llmrelay emulator on http://..." once it listens
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    texts = inputs()
    results: dict[str, dict[str, float]] = {}
    with emulator_process() as emulator, httpcore.ConnectionPool() as pool:
        base = emulator + "/v1"
        url = base + "/embeddings"
        for dimensions in (None, 256):
            def raw(d: int | None = dimensions) -> Any:
                return raw_call(pool, url, DEFAULT_API_KEY, texts, d)

            def ours(d: int | None = dimensions) -> Any:
                return llmrelay.embedding(model=MODEL, input=texts, dimensions=d,
                                          api_base=base, api_key=DEFAULT_API_KEY)

            check = ours()
            assert len(check.data) == BATCH and check.data[-1].index == BATCH - 1
            label = f"{BATCH} strings x {dimensions or 1536} dims"
            results[label] = paired(args.rounds, raw, ours)
    llmrelay.close()
    ok = True
    print(f"embedding() vs raw httpcore + pydantic_core ({args.rounds} pairs, medians, ms)")
    for label, r in results.items():
        passed = r["cpu_overhead_ms"] <= TARGET_MS
        ok &= passed
        print(f"  {label:<26} wall: raw {r['raw_ms']:7.2f} llmrelay {r['llmrelay_ms']:7.2f} "
              f"(+{r['overhead_ms']:.2f})   cpu: raw {r['raw_cpu_ms']:7.2f} llmrelay "
              f"{r['llmrelay_cpu_ms']:7.2f} overhead {r['cpu_overhead_ms']:.2f} "
              f"(IQR {r['cpu_overhead_p25_ms']:.2f}..{r['cpu_overhead_p75_ms']:.2f}) "
              f"target <= {TARGET_MS}: {'ok' if passed else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
