"""Small helpers shared by the core tests: call llmrelay sync or async the same way."""

from __future__ import annotations

import asyncio
from typing import Any

import llmrelay

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
