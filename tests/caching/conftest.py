"""Cache fixtures: one ``llmrelay.Cache`` per backend (memory, SQLite in a temp dir, a real
Redis), each under a namespace unique to the test, and throwaway ``redis-server`` processes for
the tests that kill or pause one.

Redis: ``LLMRELAY_TEST_REDIS_URL``, else the local 127.0.0.1:6379, else one started here from the
``redis-server`` binary (installed with apt-get when missing and allowed). Never skipped: without
a Redis the run fails and says why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

import llmrelay

SESSION = uuid.uuid4().hex[:10]
BACKENDS = ["memory", "sqlite", "redis"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reachable(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run("apt-get install -y -q redis-server >/dev/null 2>&1 || "
                       "(apt-get update -q >/dev/null 2>&1 && "
                       "apt-get install -y -q redis-server >/dev/null 2>&1)",
                       shell=True, check=False, timeout=600)
        binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("No redis-server binary (apt-get install -y redis-server): the cache's "
                    "Redis tests need a real Redis and are never skipped")
    return binary


class RedisServer:
    """A throwaway ``redis-server`` on a free port, ours to kill, pause and restart."""

    def __init__(self) -> None:
        self.binary = redis_binary()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="llmrelay-cache-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not reachable(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for the whole session (shared with others: keys under our namespace only)."""
    url = os.environ.get("LLMRELAY_TEST_REDIS_URL")
    if url:
        if not reachable(url):
            pytest.fail(f"LLMRELAY_TEST_REDIS_URL={url} does not answer PING")
        yield url
        _forget(url)
        return
    if reachable("redis://127.0.0.1:6379/0"):
        yield "redis://127.0.0.1:6379/0"
        _forget("redis://127.0.0.1:6379/0")
        return
    server = RedisServer()
    try:
        yield server.url
    finally:
        server.stop()


def _forget(url: str) -> None:
    """Delete this session's keys (never FLUSHDB: others share this Redis)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"t{SESSION}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """Our own throwaway Redis, for tests that kill or pause it."""
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def namespace() -> str:
    return f"t{SESSION}-{uuid.uuid4().hex[:8]}"


def make_cache(backend: str, namespace: str, redis_url: str, tmp_path: Path,
               **options: Any) -> llmrelay.Cache:
    if backend == "memory":
        return llmrelay.Cache(namespace=namespace, **options)
    if backend == "sqlite":
        return llmrelay.Cache(f"sqlite:///{tmp_path}/cache.db", namespace=namespace, **options)
    return llmrelay.Cache(redis_url, namespace=namespace, **options)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def cache(backend: str, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
          ) -> Iterator[llmrelay.Cache]:
    """``llmrelay.cache`` set to a fresh cache of ``backend`` for the test."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    made = make_cache(backend, namespace, url, tmp_path)
    llmrelay.cache = made
    try:
        yield made
    finally:
        llmrelay.cache = None
        made.close()


@pytest.fixture(autouse=True)
def _no_cache_left() -> Iterator[None]:
    yield
    llmrelay.cache = None
