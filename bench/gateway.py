"""What the gateway adds to a request: direct call vs through ``llmrelay serve``, open loop.

Run by hand (it is not a test):
    .venv/bin/python bench/gateway.py [--duration 5] [--rates 200,500] [--database-url URL]
                                      [--workers N] [--json out.json]

An instant loopback stub answers every request with a fixed chat completion. The same request
is sent to the stub directly and through the gateway (a virtual key checked, a spend row
logged per request, SQLite by default) at fixed rates by an open-loop generator
(bench/loadgen.py), so a slow server shows as latency, not as a lower rate. Reports the added
latency p50/p99 at each rate (medians of --repeat interleaved runs), then steps the rate up to
find the highest one whose p99 through the gateway stays under 50 ms. Stub, gateway and load
share this machine's cores.
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


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def start_stub(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(HERE / "loadgen.py"), str(port)])
    wait_http(f"http://127.0.0.1:{port}/v1/chat/completions")
    return proc


def start_gateway(tmp: Path, stub_port: int, port: int, database_url: str | None,
                  workers: int, spend_fsync: bool = False) -> subprocess.Popen[bytes]:
    config = {
        "model_list": [{"model_name": "chat", "params": {
            "model": "openai/gpt-4o-mini", "api_key": "sk-stub",
            "api_base": f"http://127.0.0.1:{stub_port}/v1"}}],
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": MASTER, "spend_fsync": spend_fsync,
                             "database_url": database_url or f"sqlite:///{tmp}/bench.db"},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([sys.executable, "-m", "llmrelay.server", "--config", str(tmp / "config.yaml"),
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                            cwd=tmp)
    wait_http(f"http://127.0.0.1:{port}/health/liveliness")
    return proc


def run(port: int, raw: bytes, rate: float, duration: float) -> Result:
    import uvloop

    return uvloop.run(open_loop("127.0.0.1", port, raw, rate, duration))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rates", default="200,500")
    parser.add_argument("--ceiling-rates", default="500,750,1000,1250,1500,2000,2500,3000",
                        help="empty: skip the search for the highest rate")
    parser.add_argument("--database-url", help="default: SQLite in a temp dir")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--spend-fsync", action="store_true",
                        help="every answer waits for its row's fsync (general_settings.spend_fsync)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per rate, direct and gateway interleaved; medians reported")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "workers": args.workers,
                               "database": "postgresql" if args.database_url else "sqlite",
                               "rates": [], "ceiling": []}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        stub_port, gw_port = free_port(), free_port()
        stub = start_stub(stub_port)
        gateway = start_gateway(tmp, stub_port, gw_port, args.database_url, args.workers,
                                args.spend_fsync)
        try:
            key = httpx.post(f"http://127.0.0.1:{gw_port}/key/generate", json={"key_alias": "bench"},
                             headers={"authorization": f"Bearer {MASTER}"}).json()["key"]
            direct_raw = build_request("127.0.0.1", stub_port, "/v1/chat/completions",
                                       {**BODY, "model": "gpt-4o-mini"},
                                       {"Authorization": "Bearer sk-stub"})
            gw_raw = build_request("127.0.0.1", gw_port, "/v1/chat/completions", BODY,
                                   {"Authorization": f"Bearer {key}"})
            warm = run(gw_port, gw_raw, 200, 1.0)  # warm the gateway's pools and caches
            sent = warm.sent - warm.unanswered
            print(f"{'rate':>6} {'direct p50':>11} {'p99':>8} {'gateway p50':>12} {'p99':>8} "
                  f"{'added p50':>10} {'p99':>8}  errors", flush=True)
            for rate in [float(r) for r in args.rates.split(",")]:
                pairs = []
                for _ in range(args.repeat):  # interleaved: noise from elsewhere hits both sides
                    direct = run(stub_port, direct_raw, rate, args.duration)
                    through = run(gw_port, gw_raw, rate, args.duration)
                    sent += through.sent - through.unanswered
                    pairs.append((direct, through))
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
                through = run(gw_port, gw_raw, rate, args.duration)
                sent += through.sent - through.unanswered
                ok = (through.p99 * 1000 < CEILING_P99_MS and not through.errors
                      and through.achieved >= rate * 0.95
                      and set(through.statuses) == {200})
                results["ceiling"].append({"rate": rate, **through.summary(),
                                           "achieved": round(through.achieved), "ok": ok})
                print(f"ceiling: {rate:>6.0f} req/s -> p99 {through.p99 * 1000:7.2f} ms, achieved "
                      f"{through.achieved:7.0f} req/s {'ok' if ok else 'over'}", flush=True)
                if not ok:
                    break
                best = rate
            if args.ceiling_rates:
                results["highest_rate_p99_under_50ms"] = best
                print(f"highest rate with p99 < {CEILING_P99_MS:g} ms through the gateway: "
                      f"{best:.0f} req/s")
            time.sleep(1.0)
            logged = httpx.get(f"http://127.0.0.1:{gw_port}/spend/logs", params={"page_size": 1},
                               headers={"authorization": f"Bearer {MASTER}"}, timeout=60).json()["total"]
            results["spend_rows"] = logged
            results["requests_sent"] = sent
            print(f"spend rows logged: {logged} for {sent} requests answered")
        finally:
            gateway.terminate()
            gateway.wait(60)
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


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
