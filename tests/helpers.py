"""Small helpers shared by the core tests: call llmrelay sync or async the same way."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import llmrelay

if TYPE_CHECKING:
    from llmrelay.call import Call
    from llmrelay.testing import Emulator

MESSAGES = [{"role": "user", "content": "Hi there"}]


def call(mode: str, **kwargs: Any) -> Any:
    """``completion`` or ``acompletion`` (run to the end), streams collected into a list."""
    kwargs.setdefault("messages", MESSAGES)
    if mode == "sync":
        result = llmrelay.completion(**kwargs)
        return list(result) if kwargs.get("stream") else result

    async def run() -> Any:
        result = await llmrelay.acompletion(**kwargs)
        if kwargs.get("stream"):
            return [chunk async for chunk in result]
        return result

    return asyncio.run(run())


async def acall(mode: str, **kwargs: Any) -> Any:
    """``call`` from inside a running event loop (async tests); ``mode`` picks the API."""
    if mode == "sync":
        result = llmrelay.completion(**kwargs)
        return list(result) if kwargs.get("stream") else result
    result = await llmrelay.acompletion(**kwargs)
    if kwargs.get("stream"):
        return [chunk async for chunk in result]
    return result


def embed(mode: str, **kwargs: Any) -> Any:
    """``embedding`` or ``aembedding`` (run to the end)."""
    if mode == "sync":
        return llmrelay.embedding(**kwargs)
    return asyncio.run(llmrelay.aembedding(**kwargs))


def visible(call: "Call", chunks: list[Any]) -> list[Any]:
    """The chunks a caller sees: the core hides the usage-only chunk it asked for on its own
    (to price the call) when the caller did not (``api._keep_usage``)."""
    from llmrelay.api import _keep_usage

    return [c for c in chunks if c.usage is None or _keep_usage(call, c)]


def at(emulator: "Emulator", provider: str) -> dict[str, Any]:
    """The keyword arguments that point a call at ``provider``'s emulator."""
    return {"api_base": emulator.base_url(provider), "api_key": emulator.api_key}
