"""Which ASGI stack the gateway runs on, measured: server x event loop x framework.

Run by hand:  .venv/bin/python bench/server_stack.py [--duration 5]

Each candidate serves the same small handler (read a JSON body, check a bearer header, answer
a chat completion with an ``x-request-id``), one process, on a free port. It is measured with
the open-loop generator of ``bench/loadgen.py``: latency at 500 req/s, then throughput with
32 busy connections and the server's CPU time per request (the steadiest number on a shared
machine). Rounds are interleaved and medians reported. The load generator shares the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from loadgen import CHAT_BODY, build_request, closed_loop, free_port, open_loop  # noqa: E402

REQUEST = {"model": "chat", "messages": [{"role": "user", "content": "Hello there"}]}
ANSWER = json.dumps(CHAT_BODY).encode()


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    json.loads(body)
    auth = dict(scope["headers"]).get(b"authorization", b"")
    assert auth.startswith(b"Bearer ")
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"x-request-id", uuid.uuid4().hex.encode())]})
    await send({"type": "http.response.body", "body": ANSWER})


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def chat(request: Request) -> Response:
        json.loads(await request.body())
        assert request.headers.get("authorization", "").startswith("Bearer ")
        return Response(ANSWER, media_type="application/json",
                        headers={"x-request-id": uuid.uuid4().hex})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


CANDIDATES = {
    "uvicorn+uvloop+httptools / raw ASGI": ("uvicorn", "uvloop", "raw"),
    "uvicorn+uvloop+httptools / starlette": ("uvicorn", "uvloop", "starlette"),
    "uvicorn+asyncio+h11 / raw ASGI": ("uvicorn-h11", "asyncio", "raw"),
    "granian (uvloop) / raw ASGI": ("granian", "uvloop", "raw"),
    "granian (uvloop) / starlette": ("granian", "uvloop", "starlette"),
}


def serve(server: str, framework: str, port: int) -> None:
    target = "server_stack:raw_app" if framework == "raw" else "server_stack:starlette_app"
    if server.startswith("uvicorn"):
        import uvicorn

        app = raw_app if framework == "raw" else starlette_app()
        h11 = server == "uvicorn-h11"
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False,
                    loop="asyncio" if h11 else "uvloop", http="h11" if h11 else "httptools",
                    lifespan="off")
    else:
        from granian import Granian
        from granian.constants import Interfaces, Loops

        Granian(target, address="127.0.0.1", port=port, interface=Interfaces.ASGI,
                loop=Loops.uvloop, workers=1, log_enabled=False,
                factory=framework != "raw").serve()


def wait_port(port: int, timeout: float = 20.0) -> None:
    import socket

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU so far of a process and its children (granian serves from a child)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(name: str, duration: float) -> dict[str, Any]:
    server, _loop, framework = CANDIDATES[name]
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", server, framework, str(port)],
                            cwd=HERE, env={**os.environ, "PYTHONPATH": str(HERE)})
    try:
        wait_port(port)
        raw = build_request("127.0.0.1", port, "/v1/chat/completions", REQUEST,
                            {"Authorization": "Bearer sk-test"})
        import uvloop

        lat = uvloop.run(open_loop("127.0.0.1", port, raw, 500, duration))
        before = cpu_seconds(proc.pid)
        tput = uvloop.run(closed_loop("127.0.0.1", port, raw, 32, duration))
        cpu = (cpu_seconds(proc.pid) - before) / max(1, len(tput.latencies))
        return {"p50_ms_at_500": lat.p50 * 1000, "p99_ms_at_500": lat.p99 * 1000,
                "req_per_s_c32": tput.achieved, "cpu_us": cpu * 1e6,
                "errors": lat.errors + tput.errors}
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved; medians reported")
    parser.add_argument("--serve", nargs=3, metavar=("SERVER", "FRAMEWORK", "PORT"))
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]))
        return
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CANDIDATES}
    for _ in range(args.rounds):  # interleaved, so load from elsewhere hits every candidate
        for name in CANDIDATES:
            runs[name].append(measure(name, args.duration))
    print(f"{'candidate':<40} {'p50@500':>9} {'p99@500':>9} {'req/s c32':>10} {'CPU/req':>9}")
    for name, results in runs.items():
        med = {key: float(statistics.median(r[key] for r in results))
               for key in ("p50_ms_at_500", "p99_ms_at_500", "req_per_s_c32", "cpu_us")}
        errors = sum(r["errors"] for r in results)
        print(f"{name:<40} {med['p50_ms_at_500']:>7.2f}ms {med['p99_ms_at_500']:>7.2f}ms "
              f"{med['req_per_s_c32']:>10.0f} {med['cpu_us']:>7.0f}us"
              f"{'  errors ' + str(errors) if errors else ''}", flush=True)


if __name__ == "__main__":
    main()
