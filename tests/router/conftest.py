"""Router fixtures: emulated deployments (Azure deployments on the shared emulator, one path
each, so faults and request counts are per deployment) and a real Redis."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from llmrelay.testing import Emulator

from ..services import REDIS_PREFIX, RedisServer, free_port

__all__ = ["RedisServer", "free_port"]  # the Redis tests import them from here

MESSAGES = [{"role": "user", "content": "Hi there"}]
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


# ---- Redis (tests/services.py; the session's ``redis_url`` is in tests/conftest.py) -------


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test alone, inside this session's."""
    return f"{REDIS_PREFIX}:{request.node.name}:{uuid.uuid4().hex[:6]}"


@pytest.fixture(params=["memory", "redis"])
def state(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The Router's state: in memory, or in Redis (the same rules, in the Lua script)."""
    if request.param == "memory":
        return {}
    return {"redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("prefix")}


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
