"""What the Router costs per call, with memory state and with Redis state.

Run by hand (it is not a test):  .venv/bin/python bench/router.py [--quick] [--redis URL] [--json out.json]

- routing work alone: ``Router`` deciding, counting and settling around a stub that answers at
  once (no HTTP), per call, memory and Redis state, next to one raw Redis round trip;
- end to end against the loopback nginx stub of bench/overhead.py: a direct ``completion()``
  and the same call through a one-deployment Router, alternating (median of the paired
  differences);
- 8 threads through one Router against the same stub: calls per second with and without it.

Targets (issue 13): ≤ 20 µs a call with memory state; ≤ one Redis round trip more with Redis
state; 8 threads keep ≥ 90 % of their throughput. Exit 1 when one is missed, 2 without nginx.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import Nginx, find_nginx, openai_bodies, paired

import llmrelay

MESSAGES = [{"role": "user", "content": "Hi"}]
MODEL = "openai/gpt-4o-mini"


def median(values: list[float]) -> float:
    return statistics.median(values)


def router_for(url: str, redis_url: str | None, prefix: str) -> llmrelay.Router:
    return llmrelay.Router(
        model_list=[{"model_name": "chat", "params": {"model": MODEL, "api_base": url,
                                                      "api_key": "x", "max_tokens": 100}}],
        redis_url=redis_url, redis_prefix=prefix)


def stub_answer() -> Callable[..., Any]:
    """A ``completion`` stand-in answering at once, with the usage and meta a real one has."""
    from llmrelay.meta import CallMeta
    from llmrelay.types import ModelResponse, attach_meta

    body = openai_bodies()[0]

    def answer(**kwargs: Any) -> Any:
        resp = ModelResponse.model_validate(body)
        attach_meta(resp, CallMeta("openai", "gpt-4o-mini", attempts=1))
        return resp

    return answer


def routing_only(router: llmrelay.Router, n: int) -> dict[str, float]:
    """µs a call spends in the Router itself (pick, count, scope, settle), around a stub."""
    answer = stub_answer()
    baseline, routed = [], []
    clock = time.perf_counter_ns
    for _ in range(3):
        gc.collect()
        t0 = clock()
        for _ in range(n):
            answer(model=MODEL, messages=MESSAGES)
        t1 = clock()
        for _ in range(n):
            router._call(answer, "chat", "completion", MESSAGES, {}).run()
        t2 = clock()
        baseline.append((t1 - t0) / n / 1000)
        routed.append((t2 - t1) / n / 1000)
    return {"stub_us": min(baseline), "routed_us": min(routed),
            "routing_us": min(routed) - min(baseline)}


def round_trips_per_call(router: llmrelay.Router, redis_url: str, n: int) -> dict[str, float]:
    """Commands this Redis served per routed call (its own server: nothing else talks to it)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    router.completion(model="chat", messages=MESSAGES)
    time.sleep(0.1)
    client.config_resetstat()
    for _ in range(n):
        router.completion(model="chat", messages=MESSAGES)
    time.sleep(0.1)  # settlements no pick carried go out after a short linger
    stats = client.info("commandstats")
    client.close()
    # Commands a script runs inside Redis are counted too; only EVALSHA / SCRIPT cross the wire.
    sent = sum(v["calls"] for k, v in stats.items() if k.startswith(("cmdstat_evalsha",
                                                                     "cmdstat_script")))
    return {"round_trips_per_call": sent / n,
            "script_us": stats.get("cmdstat_evalsha", {}).get("usec_per_call", 0.0)}


class RedisServer:
    """A throwaway redis-server on a free port, so its command counts are the bench's own."""

    def __init__(self) -> None:
        import shutil
        import subprocess
        import tempfile

        from overhead import free_port

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="llmrelay-bench-redis-")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        deadline = time.monotonic() + 5
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        import shutil

        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


async def routing_only_async(router: llmrelay.Router, n: int) -> dict[str, float]:
    """``routing_only`` for ``acompletion``: the Router's own work on an event loop."""
    answer = stub_answer()

    async def aanswer(**kwargs: Any) -> Any:
        return answer(**kwargs)

    baseline, routed = [], []
    clock = time.perf_counter_ns
    for _ in range(3):
        gc.collect()
        t0 = clock()
        for _ in range(n):
            await aanswer(model=MODEL, messages=MESSAGES)
        t1 = clock()
        for _ in range(n):
            await router._call(aanswer, "chat", "completion", MESSAGES, {}).arun()
        t2 = clock()
        baseline.append((t1 - t0) / n / 1000)
        routed.append((t2 - t1) / n / 1000)
    return {"stub_us": min(baseline), "routed_us": min(routed),
            "routing_us": min(routed) - min(baseline)}


def redis_round_trip(redis_url: str, n: int) -> float:
    """µs of one EVALSHA of a trivial script on this Redis (the floor of a routing decision)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    sha = client.script_load("return 1")
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        client.evalsha(sha, 0)
        samples.append((time.perf_counter_ns() - t0) / 1000)
    client.close()
    return median(samples)


def end_to_end(url: str, router: llmrelay.Router, n: int) -> dict[str, float]:
    def direct() -> Any:
        return llmrelay.completion(model=MODEL, messages=MESSAGES, max_tokens=100, api_base=url,
                                   api_key="x", num_retries=0)

    def routed() -> Any:
        return router.completion(model="chat", messages=MESSAGES)

    for _ in range(200):
        direct(); routed()  # noqa: E702
    gc.collect()
    t_direct, t_routed = paired(direct, routed, n)
    return {"direct_us": median(t_direct), "routed_us": median(t_routed),
            "overhead_us": median([b - a for a, b in zip(t_direct, t_routed)])}


def threads_throughput(url: str, router: llmrelay.Router, seconds: float,
                       rounds: int) -> dict[str, float]:
    def direct() -> Any:
        return llmrelay.completion(model=MODEL, messages=MESSAGES, max_tokens=100, api_base=url,
                                   api_key="x", num_retries=0)

    def routed() -> Any:
        return router.completion(model="chat", messages=MESSAGES)

    def rate(fn: Callable[[], Any]) -> float:
        stop = time.monotonic() + seconds
        counts = [0] * 8

        def work(i: int) -> None:
            while time.monotonic() < stop:
                fn()
                counts[i] += 1

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts) / (time.monotonic() - started)

    direct_rates, routed_rates = [], []
    for i in range(rounds):  # alternate, so drift hits both
        if i & 1:
            routed_rates.append(rate(routed))
            direct_rates.append(rate(direct))
        else:
            direct_rates.append(rate(direct))
            routed_rates.append(rate(routed))
    d, r = median(direct_rates), median(routed_rates)
    return {"direct_calls_s": d, "routed_calls_s": r, "ratio": r / d}


async def async_throughput(url: str, router: llmrelay.Router, total: int,
                           rounds: int) -> dict[str, float]:
    gate = asyncio.Semaphore(100)

    async def direct() -> Any:
        async with gate:
            return await llmrelay.acompletion(model=MODEL, messages=MESSAGES, max_tokens=100,
                                              api_base=url, api_key="x", num_retries=0)

    async def routed() -> Any:
        async with gate:
            return await router.acompletion(model="chat", messages=MESSAGES)

    async def rate(fn: Callable[[], Any]) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(fn() for _ in range(total)))
        return total / (time.perf_counter() - started)

    await rate(direct)
    await rate(routed)
    d, r = [], []
    for _ in range(rounds):
        d.append(await rate(direct))
        r.append(await rate(routed))
    return {"direct_calls_s": median(d), "routed_calls_s": median(r),
            "ratio": median(r) / median(d)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--redis", help="a Redis URL (default: a throwaway redis-server)")
    parser.add_argument("--json")
    args = parser.parse_args()
    binary = find_nginx()
    if binary is None:
        print("nginx is not installed (apt-get install -y nginx)", file=sys.stderr)
        return 2
    n = 2000 if args.quick else 10_000
    nginx = Nginx(binary, {"openai": openai_bodies()})
    nginx.start()
    server = None if args.redis else RedisServer()
    redis_url = args.redis or server.url  # type: ignore[union-attr]
    url = nginx.url("openai", "json")
    prefix = f"llmrelay-bench:{uuid.uuid4().hex[:8]}"
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
    try:
        memory = router_for(url, None, prefix)
        shared = router_for(url, redis_url, prefix)
        results["routing_memory"] = routing_only(memory, n)
        results["routing_memory_async"] = asyncio.run(routing_only_async(memory, n))
        results["routing_redis"] = routing_only(shared, n // 4)
        results["redis_rtt_us"] = redis_round_trip(redis_url, 2000)
        if server is not None:
            results["redis_wire"] = round_trips_per_call(shared, redis_url, 500)
        results["e2e_memory"] = end_to_end(url, memory, n // 2)
        results["e2e_redis"] = end_to_end(url, shared, n // 4)
        results["threads_memory"] = threads_throughput(url, memory, 1.0 if args.quick else 2.0,
                                                       3 if args.quick else 5)
        results["async_memory"] = asyncio.run(async_throughput(url, memory, 2000,
                                                               3 if args.quick else 7))
        shared.close()
    finally:
        nginx.cleanup()
        if server is not None:
            server.stop()
    checks = {
        "routing ≤ 20 µs (memory)": results["routing_memory"]["routing_us"] <= 20,
        "Redis state: one round trip per routing decision": results.get(
            "redis_wire", {}).get("round_trips_per_call", 1.0) <= 1.02,
        "8 threads ≥ 90 %": results["threads_memory"]["ratio"] >= 0.9,
    }
    print(json.dumps(results, indent=2))
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "checks": checks}, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
