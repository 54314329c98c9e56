"""Router fixtures: emulated deployments (Azure deployments on the shared emulator, one path
each, so faults and request counts are per deployment) and a real Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from llmrelay.testing import Emulator

MESSAGES = [{"role": "user", "content": "Hi there"}]
SESSION = uuid.uuid4().hex[:12]
API_VERSION = "2024-10-21"


def azure(emu: Emulator, name: str, group: str = "chat", **extra: Any) -> dict[str, Any]:
    """A deployment entry for the emulated Azure deployment ``name`` (its id is ``name``)."""
    params = {"model": f"azure/{name}", "api_base": emu.url, "api_key": emu.api_key,
              "api_version": API_VERSION, **extra.pop("params", {})}
    return {"model_name": group, "params": params, "id": name, **extra}


def sent(emu: Emulator, name: str) -> int:
    """Requests the emulated deployment ``name`` received."""
    return emu.count(path=f"/deployments/{name}/")


def fail(emu: Emulator, name: str, status: int, times: int = 1, **kwargs: Any) -> None:
    emu.fail(status, path=f"/deployments/{name}/", times=times, **kwargs)


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    return emulator


# ---- Redis -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reachable(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        ok = bool(client.ping())
        client.close()
        return ok
    except redis.RedisError:
        return False


class RedisServer:
    """A throwaway ``redis-server`` on a free port (for tests that kill it)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install -y redis-server): "
                        "the Router's shared-state tests need a real Redis")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="llmrelay-redis-")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while not _reachable(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``LLMRELAY_TEST_REDIS_URL``, else the local Redis, else a throwaway server; never skipped."""
    url = os.environ.get("LLMRELAY_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    server = None
    if not _reachable(url):
        if os.environ.get("LLMRELAY_TEST_REDIS_URL"):
            pytest.fail(f"LLMRELAY_TEST_REDIS_URL={url} is not reachable")
        server = RedisServer()
        url = server.url
    yield url
    _delete_prefix(url, f"llmrelay-test:{SESSION}:")
    if server is not None:
        server.stop()


def _delete_prefix(url: str, prefix: str) -> None:
    """Remove this session's keys only (the shared Redis is never flushed)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])
    client.close()


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test alone, inside this session's."""
    return f"llmrelay-test:{SESSION}:{request.node.name}:{uuid.uuid4().hex[:6]}"


@pytest.fixture(params=["memory", "redis"])
def state(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The Router's state: in memory, or in Redis (the same rules, in the Lua script)."""
    if request.param == "memory":
        return {}
    return {"redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("prefix")}


@pytest.fixture
def throwaway_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


HERE = Path(__file__).resolve().parent


def route(mode: str, router: Any, **kwargs: Any) -> Any:
    """``router.completion`` or ``acompletion`` run to the end; streams collected into a list
    (the stream object is returned too, for its ``meta``)."""
    import asyncio

    kwargs.setdefault("model", "chat")
    kwargs.setdefault("messages", MESSAGES)
    if mode == "sync":
        result = router.completion(**kwargs)
        return (result, list(result)) if kwargs.get("stream") else result

    async def run() -> Any:
        result = await router.acompletion(**kwargs)
        if kwargs.get("stream"):
            return result, [chunk async for chunk in result]
        return result

    return asyncio.run(run())


MODES = ["sync", "async"]
