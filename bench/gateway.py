"""What the gateway adds to a request: direct call vs through ``llmrelay serve``, open loop.

Run by hand (it is not a test):
    .venv/bin/python bench/gateway.py [--duration 5] [--rates 200,500] [--database-url URL]
        [--redis-url URL] [--limits] [--replicas N | --workers N] [--rss 100000]
        [--litellm /path/to/venv] [--json out.json]

An instant loopback stub answers every request with a fixed chat completion. The same request
is sent to the stub directly and through the gateway (a virtual key checked, a spend row
logged per request, SQLite by default) at fixed rates by an open-loop generator
(bench/loadgen.py), so a slow server shows as latency, not as a lower rate. Reports the added
latency p50/p99 at each rate (medians of --repeat interleaved runs), then steps the rate up to
find the highest one whose p99 through the gateway stays under 50 ms, and the gateway's CPU
time per request (all its processes). Stub, gateway and load share this machine's cores.

``--redis-url`` shares limits and spend through Redis; ``--limits`` gives the bench key an
rpm / tpm / parallel limit and a budget (never reached) so each request is checked and counted
against all four; ``--replicas N`` runs N separate gateways on one database (and Redis), the
load spread round-robin; ``--rss N`` then sends N more requests and samples the resident memory.
``--litellm VENV`` measures LiteLLM's proxy from that virtualenv instead, the same way (its
master key only, no database): install it apart, never into this project's environment.
Exit status 0 when the targets (p50 < 1 ms, p99 < 5 ms added at 500 req/s) are met, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from loadgen import Result, build_request, free_port, open_loop  # noqa: E402

MASTER = "sk-bench-master"
BODY = {"model": "chat", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 20}
TARGET_P50_MS = 1.0
TARGET_P99_MS = 5.0
CEILING_P99_MS = 50.0
BIG_LIMITS = {"rpm_limit": 10_000_000, "tpm_limit": 1_000_000_000, "max_parallel_requests": 100_000,
              "max_budget": 1_000_000.0, "budget_duration": "30d"}
TICK = os.sysconf("SC_CLK_TCK")


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def start_stub(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(HERE / "loadgen.py"), str(port)])
    wait_http(f"http://127.0.0.1:{port}/v1/chat/completions")
    return proc


def gateway_config(stub_port: int, database_url: str, redis_url: str | None,
                   spend_fsync: bool) -> dict[str, Any]:
    general: dict[str, Any] = {"master_key": MASTER, "spend_fsync": spend_fsync,
                               "database_url": database_url}
    if redis_url:
        general["redis_url"] = redis_url
        general["redis_prefix"] = f"llmrelay-bench:{os.getpid()}"
    return {
        "model_list": [{"model_name": "chat", "params": {
            "model": "openai/gpt-4o-mini", "api_key": "sk-stub",
            "api_base": f"http://127.0.0.1:{stub_port}/v1"}}],
        "router_settings": {"num_retries": 0},
        "general_settings": general,
    }


def start_gateway(tmp: Path, config: dict[str, Any], port: int, workers: int) -> subprocess.Popen[bytes]:
    path = tmp / f"config-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([sys.executable, "-m", "llmrelay.server", "--config", str(path),
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                            cwd=tmp)
    wait_http(f"http://127.0.0.1:{port}/health/liveliness")
    return proc


def start_litellm(tmp: Path, venv: Path, stub_port: int, port: int) -> subprocess.Popen[bytes]:
    """LiteLLM's proxy, as its docs start it: a config with the model, a master key, no database."""
    config = {"model_list": [{"model_name": "chat", "litellm_params": {
        "model": "openai/gpt-4o-mini", "api_key": "sk-stub",
        "api_base": f"http://127.0.0.1:{stub_port}/v1"}}],
        "general_settings": {"master_key": MASTER}}
    path = tmp / "litellm.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.Popen([str(venv / "bin" / "litellm"), "--config", str(path), "--port", str(port)],
                            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "litellm.log").open("wb"))
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", timeout=180)
    return proc


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for p in tree(pid):
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                continue
    return total / TICK


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for p in tree(pid):
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
    return total / 1024


def redis_cpu(url: str | None) -> float:
    """CPU seconds the Redis server has used (``INFO cpu``); 0 without Redis."""
    if not url:
        return 0.0
    import redis

    client = redis.Redis.from_url(url)
    try:
        info = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def run(targets: list[tuple[int, bytes]], rate: float, duration: float) -> Result:
    import uvloop

    (port, raw), more = targets[0], targets[1:]
    return uvloop.run(open_loop("127.0.0.1", port, raw, rate, duration, more=more))


def ok(result: Result, rate: float) -> bool:
    return (result.p99 * 1000 < CEILING_P99_MS and not result.errors
            and result.achieved >= rate * 0.95 and set(result.statuses) == {200})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rates", default="200,500")
    parser.add_argument("--ceiling-rates", default="500,750,1000,1250,1500,2000,2500,3000",
                        help="empty: skip the search for the highest rate")
    parser.add_argument("--database-url", help="default: SQLite in a temp dir")
    parser.add_argument("--redis-url", help="limits and spend rows through this Redis")
    parser.add_argument("--limits", action="store_true",
                        help="the bench key has rpm, tpm, parallel limits and a budget (never reached)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--replicas", type=int, default=1, help="separate gateways, load round-robin")
    parser.add_argument("--spend-fsync", action="store_true",
                        help="every answer waits for its row's fsync (general_settings.spend_fsync)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per rate, direct and gateway interleaved; medians reported")
    parser.add_argument("--rss", type=int, default=0, help="then send this many requests, sampling RSS")
    parser.add_argument("--rss-rate", type=float, default=1000.0)
    parser.add_argument("--litellm", type=Path, help="measure LiteLLM's proxy from this virtualenv")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"), "workers": args.workers, "replicas": args.replicas,
        "server": "litellm" if args.litellm else "llmrelay",
        "database": "none" if args.litellm else ("postgresql" if args.database_url else "sqlite"),
        "redis": bool(args.redis_url), "limits": args.limits, "rates": [], "ceiling": []}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        stub_port = free_port()
        stub = start_stub(stub_port)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            ports = [free_port() for _ in range(args.replicas)]
            if args.litellm:
                procs.append(start_litellm(tmp, args.litellm, stub_port, ports[0]))
                key = MASTER
            else:
                config = gateway_config(stub_port, args.database_url or f"sqlite:///{tmp}/bench.db",
                                        args.redis_url, args.spend_fsync)
                procs += [start_gateway(tmp, config, port, args.workers) for port in ports]
                settings = {"key_alias": "bench", **(BIG_LIMITS if args.limits else {})}
                key = httpx.post(f"http://127.0.0.1:{ports[0]}/key/generate", json=settings,
                                 headers={"authorization": f"Bearer {MASTER}"}).json()["key"]
            pids = [p.pid for p in procs]
            direct = [(stub_port, build_request("127.0.0.1", stub_port, "/v1/chat/completions",
                                                {**BODY, "model": "gpt-4o-mini"},
                                                {"Authorization": "Bearer sk-stub"}))]
            through = [(port, build_request("127.0.0.1", port, "/v1/chat/completions", BODY,
                                            {"Authorization": f"Bearer {key}"})) for port in ports]
            warm = run(through, 200, 1.0)  # warm the gateway's pools and caches
            sent = warm.sent - warm.unanswered
            print(f"{'rate':>6} {'direct p50':>11} {'p99':>8} {'gateway p50':>12} {'p99':>8} "
                  f"{'added p50':>10} {'p99':>8}  errors", flush=True)
            for rate in [float(r) for r in args.rates.split(",") if r]:
                pairs = []
                for _ in range(args.repeat):  # interleaved: noise from elsewhere hits both sides
                    d = run(direct, rate, args.duration)
                    g = run(through, rate, args.duration)
                    sent += g.sent - g.unanswered
                    pairs.append((d, g))
                d50 = statistics.median(d.p50 for d, _ in pairs) * 1000
                d99 = statistics.median(d.p99 for d, _ in pairs) * 1000
                g50 = statistics.median(g.p50 for _, g in pairs) * 1000
                g99 = statistics.median(g.p99 for _, g in pairs) * 1000
                bad = sum(g.errors + sum(v for k, v in g.statuses.items() if k != 200) for _, g in pairs)
                row = {"rate": rate, "direct_p50_ms": round(d50, 3), "direct_p99_ms": round(d99, 3),
                       "gateway_p50_ms": round(g50, 3), "gateway_p99_ms": round(g99, 3),
                       "added_p50_ms": round(g50 - d50, 3), "added_p99_ms": round(g99 - d99, 3),
                       "runs": [{"direct": d.summary(), "gateway": g.summary()} for d, g in pairs],
                       "failed": bad}
                results["rates"].append(row)
                print(f"{rate:>6.0f} {d50:>10.2f}m {d99:>7.2f}m {g50:>11.2f}m {g99:>7.2f}m "
                      f"{g50 - d50:>9.2f}m {g99 - d99:>7.2f}m  {bad}", flush=True)
            best = 0.0
            for rate in [float(r) for r in args.ceiling_rates.split(",") if r]:
                cpu0, redis0 = cpu_seconds(pids), redis_cpu(args.redis_url)
                g = run(through, rate, args.duration)
                if not ok(g, rate):  # one more try: a burst from elsewhere on a shared machine
                    sent += g.sent - g.unanswered
                    print(f"ceiling: {rate:>6.0f} req/s -> p99 {g.p99 * 1000:7.2f} ms; once more",
                          flush=True)
                    cpu0, redis0 = cpu_seconds(pids), redis_cpu(args.redis_url)
                    g = run(through, rate, args.duration)
                done = max(1, g.sent - g.unanswered)
                cpu = (cpu_seconds(pids) - cpu0) / done
                rcpu = (redis_cpu(args.redis_url) - redis0) / done
                sent += g.sent - g.unanswered
                good = ok(g, rate)
                results["ceiling"].append({"rate": rate, **g.summary(), "achieved": round(g.achieved),
                                           "cpu_us_per_request": round(cpu * 1e6),
                                           "redis_cpu_us_per_request": round(rcpu * 1e6), "ok": good})
                print(f"ceiling: {rate:>6.0f} req/s -> p99 {g.p99 * 1000:7.2f} ms, achieved "
                      f"{g.achieved:7.0f} req/s, CPU per request: gateway {cpu * 1e6:4.0f} us, "
                      f"Redis {rcpu * 1e6:3.0f} us {'ok' if good else 'over'}", flush=True)
                if not good:
                    break
                best = rate
            if args.ceiling_rates:
                results["highest_rate_p99_under_50ms"] = best
                print(f"highest rate with p99 < {CEILING_P99_MS:g} ms: {best:.0f} req/s")
            if args.rss:
                results["rss"] = rss_run(through, pids, args.rss, args.rss_rate)
                sent += results["rss"]["answered"]
            if not args.litellm:
                time.sleep(2.0)
                logged = httpx.get(f"http://127.0.0.1:{ports[0]}/spend/logs", params={"page_size": 1},
                                   headers={"authorization": f"Bearer {MASTER}"}, timeout=60).json()["total"]
                results["spend_rows"] = logged
                results["requests_sent"] = sent
                print(f"spend rows logged: {logged} for {sent} requests answered")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            stub.terminate()
            stub.wait(10)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    at500 = next((r for r in results["rates"] if r["rate"] == 500), None)
    if at500 is None:
        return 0
    met = at500["added_p50_ms"] < TARGET_P50_MS and at500["added_p99_ms"] < TARGET_P99_MS
    print(f"targets at 500 req/s (p50 < {TARGET_P50_MS:g} ms, p99 < {TARGET_P99_MS:g} ms added): "
          f"{'met' if met else 'missed'}")
    return 0 if met else 1


def rss_run(through: list[tuple[int, bytes]], pids: list[int], total: int, rate: float) -> dict[str, Any]:
    """``total`` requests at ``rate`` in tenths; the resident memory after each tenth."""
    chunk = total // 10
    samples = []
    failed = answered = 0
    for i in range(10):
        g = run(through, rate, chunk / rate)
        failed += g.errors + sum(v for k, v in g.statuses.items() if k != 200)
        answered += g.sent - g.unanswered  # warm-up included
        samples.append(round(rss_mb(pids), 1))
        print(f"rss: {(i + 1) * chunk:>7} requests -> {samples[-1]:.1f} MB", flush=True)
    first, last = samples[0], samples[-1]
    change = (last - first) / first * 100
    print(f"rss: {first:.1f} MB after the first tenth, {last:.1f} MB at the end ({change:+.1f} %)")
    return {"requests": total, "rate": rate, "mb": samples, "change_percent": round(change, 1),
            "failed": failed, "answered": answered}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
