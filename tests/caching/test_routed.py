"""The Router's side of the cache: a routed call keyed by its group, looked up before any
deployment is picked, stored once it answered; a hit has no deployment and is reported once."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.caching import alookup_routed, lookup_routed
from llmrelay.scope import CallScope, scoped
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, at

DEPLOYMENT = CallScope(deployment="eu-1", group="chat", report=False, cache=False)


class Run:
    """A stand-in for the Router's observer (hooks.CallRun): what it was told."""

    def __init__(self) -> None:
        self.told: list[tuple[Any, ...]] = []

    def stream_open(self, stream: Any) -> None:
        self.told.append(("open",))

    def success(self, result: Any, meta: Any) -> None:
        self.told.append(("success", meta.cache_hit))

    async def asuccess(self, result: Any, meta: Any) -> None:
        self.success(result, meta)

    def failure(self, error: BaseException, meta: Any) -> None:
        self.told.append(("failure",))

    async def afailure(self, error: BaseException, meta: Any) -> None:
        self.failure(error, meta)

    def stream_end(self, meta: Any, how: str, error: BaseException | None) -> None:
        self.told.append(("end", how, meta.cache_hit))

    async def astream_end(self, meta: Any, how: str, error: BaseException | None) -> None:
        self.stream_end(meta, how, error)


def routed(emulator: Emulator, group: str = "chat", run: Any = None, cache: Any = None,
           **kwargs: Any) -> Any:
    """What a Router does around its attempts."""
    found = lookup_routed(group, "completion", MESSAGES, kwargs, cache, run=run)
    if found is not None and found.hit is not None:
        return found.hit
    with scoped(DEPLOYMENT):
        result = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES,
                                     **at(emulator, "openai"), **kwargs)
    return found.store(result) if found is not None else result


async def arouted(emulator: Emulator, group: str = "chat", run: Any = None, **kwargs: Any) -> Any:
    found = await alookup_routed(group, "completion", MESSAGES, kwargs, None, run=run)
    if found is not None and found.hit is not None:
        return found.hit
    with scoped(DEPLOYMENT):
        result = await llmrelay.acompletion(model="gpt-4o-mini", messages=MESSAGES,
                                            **at(emulator, "openai"), **kwargs)
    return await found.astore(result) if found is not None else result


def test_nothing_to_do_without_a_cache(emulator: Emulator) -> None:
    assert lookup_routed("chat", "completion", MESSAGES, {}) is None
    routed(emulator)
    routed(emulator)
    assert emulator.count() == 2


def test_a_routed_hit_has_no_deployment(emulator: Emulator, cache: llmrelay.Cache) -> None:
    first = routed(emulator, temperature=0)
    assert first.meta.deployment == "eu-1" and not first.meta.cache_hit
    run = Run()
    second = routed(emulator, run=run, temperature=0)
    assert emulator.count() == 1 and second == first
    meta = second.meta
    assert (meta.cache_hit, meta.deployment, meta.cost, meta.attempts) == (True, None, 0.0, 0)
    assert meta.usage == first.usage and meta.latency is not None
    assert run.told == [("success", True)]


def test_the_group_is_the_key(emulator: Emulator, cache: llmrelay.Cache) -> None:
    routed(emulator)
    routed(emulator, group="other")
    llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, **at(emulator, "openai"))
    assert emulator.count() == 3  # another group, and the direct call, are other requests
    assert routed(emulator, group="other").meta.cache_hit
    assert llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES,
                               **at(emulator, "openai")).meta.cache_hit
    assert emulator.count() == 3


def test_per_call_controls(emulator: Emulator, cache: llmrelay.Cache) -> None:
    routed(emulator, cache={"no-store": True})
    routed(emulator, cache={"no-cache": True})
    assert emulator.count() == 2
    assert routed(emulator).meta.cache_hit
    with pytest.raises(llmrelay.BadRequestError):
        routed(emulator, cache={"nocache": True})


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_routed_stream_is_stored_once_complete_and_replayed(
        emulator: Emulator, cache: llmrelay.Cache, include_usage: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    partial = routed(emulator, stream=True, **options)
    next(partial)
    partial.close()
    original = list(routed(emulator, stream=True, **options))
    assert emulator.count() == 2
    run = Run()
    stream = routed(emulator, run=run, stream=True, **options)
    replayed = list(stream)
    assert emulator.count() == 2
    assert llmrelay.stream_chunk_builder(replayed) == llmrelay.stream_chunk_builder(original)
    assert bool([c for c in replayed if not c.choices]) == include_usage
    assert (stream.meta.cache_hit, stream.meta.deployment, stream.meta.cost) == (True, None, 0.0)
    assert run.told == [("open",), ("end", "complete", True)]
    whole = routed(emulator)  # stored with its usage, even when this caller hid it
    assert whole.meta.cache_hit and whole.usage is not None and whole.usage.total_tokens > 0


async def test_async_routed_calls(emulator: Emulator, cache: llmrelay.Cache) -> None:
    first = await arouted(emulator)
    run = Run()
    second = await arouted(emulator, run=run)
    assert second == first and second.meta.cache_hit and run.told == [("success", True)]
    original = [c async for c in await arouted(emulator, stream=True, seed=2)]
    stream = await arouted(emulator, run=run, stream=True, seed=2)
    assert isinstance(stream, llmrelay.AsyncStream)
    replayed = [c async for c in stream]
    assert llmrelay.stream_chunk_builder(replayed) == llmrelay.stream_chunk_builder(original)
    assert run.told[-2:] == [("open",), ("end", "complete", True)]
    assert emulator.count() == 2
