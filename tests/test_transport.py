"""Pooled clients: connection reuse, event-loop changes, and a light import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import warnings
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES


def kwargs(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


def test_sequential_sync_calls_share_one_connection(emulator: Emulator) -> None:
    llmrelay.close()
    for _ in range(20):
        llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    for _chunk in llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator)):
        pass
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    assert len({r.client_port for r in emulator.requests}) == 1


def test_sequential_async_calls_share_one_connection(emulator: Emulator) -> None:
    async def main() -> None:
        for _ in range(20):
            await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))
        stream = await llmrelay.acompletion(messages=MESSAGES, stream=True, **kwargs(emulator))
        async for _ in stream:
            pass
        await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))

    asyncio.run(main())
    assert len({r.client_port for r in emulator.requests}) == 1


def test_the_pool_survives_new_event_loops_without_leaks(emulator: Emulator) -> None:
    async def main() -> str:
        resp = await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))
        return resp.choices[0].message.content or ""

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(main()) and asyncio.run(main()) and asyncio.run(main())
        import gc

        gc.collect()
    leaks = [w for w in caught if "Unclosed" in str(w.message)]
    assert leaks == []


def test_close_and_aclose_reset_the_pools(emulator: Emulator) -> None:
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    llmrelay.close()
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))

    async def main() -> None:
        await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))
        await llmrelay.aclose()
        await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))

    asyncio.run(main())
    assert emulator.count() == 4


def test_concurrent_async_calls(emulator: Emulator) -> None:
    async def main() -> list[Any]:
        return await asyncio.gather(*(
            llmrelay.acompletion(messages=[{"role": "user", "content": f"n{i}"}],
                                 **kwargs(emulator))
            for i in range(50)
        ))

    results = asyncio.run(main())
    assert [r.choices[0].message.content.split()[-1] for r in results] == [
        f"n{i}" for i in range(50)]


def test_import_is_light() -> None:
    code = (
        "import sys, llmrelay\n"
        "heavy = [m for m in sys.modules if m.startswith(('pydantic', 'aiohttp', 'openai', "
        "'anthropic', 'cohere', 'replicate', 'llmrelay.providers', 'llmrelay.types'))]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", llmrelay.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(llmrelay, name) is not None
