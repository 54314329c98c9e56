"""Routed streams: retried and fallen back only before their first chunk; a deployment's
in-flight count, tokens and latency settled when the stream ends, is closed or collected."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

import llmrelay
from llmrelay.testing import Emulator

from .conftest import MESSAGES, MODES, azure, fail, route, sent


def pair(emu: Emulator, **settings: object) -> llmrelay.Router:
    return llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2),
                                       azure(emu, "c", group="backup")],
                           fallbacks={"chat": ["backup"]}, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [500, 429])
@pytest.mark.parametrize("mode", MODES)
def test_failure_before_the_first_chunk_is_retried(emu: Emulator, mode: str, status: int) -> None:
    router = pair(emu)
    fail(emu, "a", status)
    stream, chunks = route(mode, router, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("Hello")
    assert (stream.meta.deployment, stream.meta.attempts) == ("b", 2)
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 1)


@pytest.mark.parametrize("mode", MODES)
def test_streams_fall_back_to_other_groups_before_the_first_chunk(emu: Emulator, mode: str) -> None:
    router = pair(emu, num_retries=1)
    fail(emu, "a", 503)
    fail(emu, "b", 503)
    stream, _ = route(mode, router, stream=True)
    assert (stream.meta.deployment, stream.meta.attempts) == ("c", 3)


@pytest.mark.parametrize("mode", MODES)
def test_failure_after_the_first_chunk_is_raised_and_not_retried(emu: Emulator, mode: str) -> None:
    router = pair(emu, allowed_fails=0, cooldown_time=30)
    emu.stream_error(status=500, provider="azure")
    with pytest.raises(llmrelay.APIError):
        route(mode, router, stream=True)
    assert (sent(emu, "a"), sent(emu, "b"), sent(emu, "c")) == (1, 0, 0)
    status = {d.id: d for d in router.deployments()}
    assert status["a"].cooling_until is not None  # it counted toward a's failures
    assert status["a"].in_flight == 0


@pytest.mark.parametrize("mode", MODES)
def test_dropped_stream_is_raised_from_the_iteration(emu: Emulator, mode: str) -> None:
    router = pair(emu)
    emu.drop_stream(after=4, provider="azure")
    with pytest.raises(llmrelay.APIConnectionError):
        route(mode, router, stream=True)
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 0)
    assert [d.in_flight for d in router.deployments()] == [0, 0, 0]


def test_stream_tokens_and_latency_are_settled_at_the_end(emu: Emulator) -> None:
    router = pair(emu)
    stream = router.completion(model="chat", messages=MESSAGES, stream=True)
    assert router.deployments()[0].in_flight == 1
    chunks = list(stream)
    assert all(c.usage is None for c in chunks)  # the caller did not ask for usage
    a = router.deployments()[0]
    assert a.in_flight == 0
    assert stream.meta.usage is not None
    assert a.tpm_used == stream.meta.usage.total_tokens > 0
    assert a.latency is not None and a.time_to_first_token is not None
    assert a.time_to_first_token <= a.latency


def test_closed_and_collected_streams_release_their_deployment(emu: Emulator) -> None:
    router = pair(emu)
    stream = router.completion(model="chat", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    assert router.deployments()[0].in_flight == 0
    stream = router.completion(model="chat", messages=MESSAGES, stream=True)
    assert router.deployments()[0].in_flight == 1
    del stream
    gc.collect()
    assert router.deployments()[0].in_flight == 0
    assert router.deployments()[0].rpm_used == 2


async def test_async_streams_release_on_aclose(emu: Emulator) -> None:
    router = pair(emu)
    stream = await router.acompletion(model="chat", messages=MESSAGES, stream=True)
    await stream.__anext__()
    assert router.deployments()[0].in_flight == 1
    await stream.aclose()
    assert router.deployments()[0].in_flight == 0
    async with await router.acompletion(model="chat", messages=MESSAGES, stream=True) as s:
        await s.__anext__()
    assert router.deployments()[0].in_flight == 0


@pytest.mark.parametrize("mode", MODES)
def test_the_call_returns_once_the_first_chunk_arrived(emu: Emulator, mode: str) -> None:
    router = pair(emu)
    emu.slow_stream(0.08, provider="azure")

    async def aopen() -> tuple[float, object]:
        started = time.monotonic()
        stream = await router.acompletion(model="chat", messages=MESSAGES, stream=True)
        opened = time.monotonic() - started
        return opened, [c async for c in stream]

    started = time.monotonic()
    if mode == "sync":
        stream = router.completion(model="chat", messages=MESSAGES, stream=True)
        opened = time.monotonic() - started
        list(stream)
    else:
        opened, _ = asyncio.run(aopen())
    total = time.monotonic() - started
    assert total > 0.6 and opened < total / 2


def test_stream_force_timeout_before_the_first_chunk(emu: Emulator) -> None:
    router = pair(emu, force_timeout=0.3)
    emu.slow(3.0, provider="azure")
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout):
        router.completion(model="chat", messages=MESSAGES, stream=True)
    assert time.monotonic() - started < 2.0
    assert (sent(emu, "a"), sent(emu, "b"), sent(emu, "c")) == (1, 0, 0)
