"""Processes: one worker serving the app on uvicorn (uvloop + httptools), or a supervisor that
binds the port once and runs N workers on it.

SIGTERM drains: the listener stays open and new ``/v1`` requests get 503 while the ones in
flight finish (up to ``--grace`` seconds); then spend is flushed and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

from .config import ConfigError, GatewayConfig, log_ignored

__all__ = ["EXIT_CONFIG", "EXIT_START", "ServeOptions", "bind", "run_supervisor", "run_worker"]

log = logging.getLogger("llmrelay.server")

EXIT_CONFIG = 2  # the config is invalid
EXIT_START = 3  # the start failed (database unreachable, port taken)
SHUTDOWN_AFTER_DRAIN = 1  # uvicorn's own wait once in-flight requests are done
FLUSH_ON_EXIT = 10.0


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 4000
    workers: int = 1
    grace: float = 30.0


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (made once, shared by every worker)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server_class() -> type[Any]:
    import uvicorn

    class DrainingServer(uvicorn.Server):  # type: ignore[misc]
        """uvicorn's server, but a signal starts a drain instead of closing the listener."""

        def __init__(self, config: Any, gateway: Any, grace: float) -> None:
            super().__init__(config)
            self.gateway = gateway
            self.grace = grace
            self.draining = False
            self.loop = asyncio.get_running_loop()

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.draining:
                if sig == signal.SIGINT:  # a second Ctrl-C: stop now
                    self.force_exit = self.should_exit = True
                return
            self.draining = True
            self.gateway.lifecycle.draining = True
            self.loop.call_soon_threadsafe(self._drain)

        async def watch_parent(self, parent: int) -> None:
            """A worker whose supervisor is gone (killed) drains and exits on its own."""
            while not self.draining:
                await asyncio.sleep(1.0)
                if os.getppid() != parent:
                    self.handle_exit(signal.SIGTERM, None)

        def _drain(self) -> None:
            async def drain() -> None:
                started = time.monotonic()
                pending = self.gateway.lifecycle.in_flight
                log.warning("shutdown: draining %d request(s) in flight (up to %g s)",
                            pending, self.grace)
                done = await self.gateway.lifecycle.wait_idle(self.grace)
                if not done:
                    log.warning("shutdown: %d request(s) still in flight after %g s; stopping",
                                self.gateway.lifecycle.in_flight, self.grace)
                else:
                    log.info("shutdown: drained in %.2f s", time.monotonic() - started)
                self.should_exit = True

            self.loop.create_task(drain())

    return DrainingServer


async def _serve(config: GatewayConfig, options: ServeOptions, sock: socket.socket,
                 parent: int | None) -> int:
    import uvicorn

    from .app import Gateway, build_router
    from .storage import StoreUnavailable

    try:
        gateway = await Gateway.open(config, build_router(config))
    except ConfigError as exc:
        print(f"llmrelay serve: invalid config: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    except StoreUnavailable as exc:
        print(f"llmrelay serve: cannot start: {exc}", file=sys.stderr, flush=True)
        return EXIT_START
    # What the start loaded (price tables, tokenizers, modules) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it (p99 at 1,000 req/s
    # went from 170-590 ms to 7-28 ms in bench/gateway.py).
    gc.collect()
    gc.freeze()
    uv_config = uvicorn.Config(
        gateway, http="httptools", lifespan="off", access_log=False, log_config=None,
        proxy_headers=False,
        server_header=False, timeout_keep_alive=5, timeout_graceful_shutdown=SHUTDOWN_AFTER_DRAIN,
        backlog=2048)
    server = _uvicorn_server_class()(uv_config, gateway, options.grace)
    watcher = None if parent is None else asyncio.get_running_loop().create_task(
        server.watch_parent(parent))
    log.info("llmrelay gateway serving %s on http://%s:%d (pid %d)", ", ".join(config.groups()),
             options.host, options.port, os.getpid())
    try:
        await server.serve(sockets=[sock])
    finally:
        if watcher is not None:
            watcher.cancel()
        await gateway.close(FLUSH_ON_EXIT)
    log.info("llmrelay gateway stopped (pid %d)", os.getpid())
    return 0


def run_worker(config: GatewayConfig, options: ServeOptions, sock: socket.socket, *,
               supervised: bool = False) -> int:
    """Serve in this process until drained; returns the exit status."""
    if not supervised:  # the supervisor said it once for all its workers
        log_ignored(config)
    # The database and fsync threads must not hold the event loop back for the default 5 ms.
    sys.setswitchinterval(0.0005)
    parent = os.getppid() if supervised else None
    try:
        import uvloop
    except ImportError:  # not on this platform: the standard loop works, slower
        return asyncio.run(_serve(config, options, sock, parent))
    return uvloop.run(_serve(config, options, sock, parent))


def run_supervisor(options: ServeOptions, worker_argv: list[str], sock: socket.socket) -> int:
    """Run ``options.workers`` worker processes on ``sock``; forward SIGTERM/SIGINT to them and
    wait for their drain. A worker that dies is replaced; one that fails to start stops all."""
    fd = sock.fileno()
    command = [sys.executable, "-m", "llmrelay.server", *worker_argv, "--worker-fd", str(fd)]
    stopping = False

    def spawn() -> subprocess.Popen[bytes]:
        # Own session: a terminal's Ctrl-C reaches the supervisor only, which sends one SIGTERM.
        return subprocess.Popen(command, pass_fds=[fd], start_new_session=True)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping and sig == signal.SIGINT:
            for child in children:  # a second Ctrl-C: stop now
                if child.poll() is None:
                    child.kill()
            return
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    children = [spawn() for _ in range(options.workers)]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    status = 0
    started = time.monotonic()
    while children:
        time.sleep(0.2)
        for child in list(children):
            code = child.poll()
            if code is None:
                continue
            if stopping:
                children.remove(child)
                status = status or (0 if code == 0 else 1)
            elif code in (EXIT_CONFIG, EXIT_START) or time.monotonic() - started < 5:
                log.error("worker %d failed to start (exit %d); stopping", child.pid, code)
                on_signal(signal.SIGTERM, None)
                children.remove(child)
                status = code or 1
            else:
                log.error("worker %d died (exit %d); starting another", child.pid, code)
                children[children.index(child)] = spawn()
    sock.close()
    return status
