"""Callbacks for streams: told once when the stream ends, is closed, fails or is collected, with
the response built from the chunks the caller was handed."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest

import llmrelay
from llmrelay.observe import flush
from llmrelay.streaming import _ARecorded, _Recorded
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, at
from tests.observe.conftest import AsyncRecorder, Recorder

MODES = ["sync", "async"]
ANSWER = "Hello from the emulator. You said: Hi there"


@pytest.mark.parametrize("callback", [Recorder, AsyncRecorder], ids=["sync-cb", "async-cb"])
def test_completed_stream_reports_before_the_last_next_returns(
    emulator: Emulator, callback: type[Recorder]
) -> None:
    recorder = callback()
    stream = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                 callbacks=[recorder], **at(emulator, "openai"))
    chunks = []
    while True:
        assert recorder.events == []
        try:
            chunks.append(next(stream))
        except StopIteration:
            break
    event = recorder.one("success")
    assert event.stream is True
    assert event.response.choices[0].message.content == ANSWER
    assert event.response.choices[0].finish_reason == "stop"
    assert event.response.id == chunks[0].id and event.response.model == chunks[0].model
    # The caller did not ask for usage: the provider's usage is on the event all the same.
    assert all(c.usage is None for c in chunks)
    assert event.usage == stream.meta.usage == event.response.usage
    assert event.usage.completion_tokens == 8
    assert event.cost == stream.meta.cost == pytest.approx((5 * 0.15 + 8 * 0.60) / 1e6)
    assert event.latency == stream.meta.latency
    assert 0 < event.time_to_first_token == stream.meta.time_to_first_token <= event.latency
    assert event.attempts == 1 and event.params == {"stream": True}
    assert event.response.meta is stream.meta is event.meta


async def test_completed_async_stream_reports_before_the_last_anext_returns(
    emulator: Emulator,
) -> None:
    for recorder in (Recorder(), AsyncRecorder()):
        stream = await llmrelay.acompletion(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                            callbacks=[recorder], **at(emulator, "openai"))
        count = 0
        while True:
            assert recorder.events == []
            try:
                await stream.__anext__()
                count += 1
            except StopAsyncIteration:
                break
        event = recorder.one("success")
        assert event.response.choices[0].message.content == ANSWER
        assert event.usage == stream.meta.usage and event.usage is not None
        assert recorder.threads == [threading.current_thread().name]


@pytest.mark.parametrize("mode", MODES)
def test_closed_early_reports_what_was_delivered(
    emulator: Emulator, recorder: Recorder, mode: str
) -> None:
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True,
              "callbacks": [recorder], **at(emulator, "openai")}

    def sync() -> Any:
        stream = llmrelay.completion(**kwargs)
        next(stream), next(stream)
        assert recorder.events == []
        stream.close()
        assert len(recorder.events) == 1  # reported before close() returned
        stream.close()
        return stream

    async def asynchronous() -> Any:
        stream = await llmrelay.acompletion(**kwargs)
        await stream.__anext__()
        await stream.__anext__()
        assert recorder.events == []
        await stream.aclose()
        assert len(recorder.events) == 1
        await stream.aclose()
        return stream

    stream = sync() if mode == "sync" else asyncio.run(asynchronous())
    event = recorder.one("success")
    choice = event.response.choices[0]
    assert choice.message.content == "Hello"
    assert choice.finish_reason is None
    assert event.usage is None and event.response.usage is None  # the provider sent none yet
    assert event.cost is None is stream.meta.cost
    assert event.latency == stream.meta.latency is not None


def test_usage_chunk_asked_for_is_the_events_usage(emulator: Emulator, recorder: Recorder) -> None:
    stream = llmrelay.completion(model="claude-3-5-haiku-latest", messages=MESSAGES, stream=True,
                                 stream_options={"include_usage": True}, callbacks=[recorder],
                                 **at(emulator, "anthropic"))
    chunks = list(stream)
    assert chunks[-1].usage is not None
    event = recorder.one("success")
    assert event.usage == chunks[-1].usage == event.response.usage
    assert event.provider == "anthropic"


def test_closed_before_any_chunk_was_delivered(emulator: Emulator, recorder: Recorder) -> None:
    stream = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                 callbacks=[recorder], **at(emulator, "openai"))
    stream.close()
    event = recorder.one("success")
    assert event.response.choices == []
    assert event.response.model == stream.meta.model


@pytest.mark.parametrize("callback", [Recorder, AsyncRecorder], ids=["sync-cb", "async-cb"])
def test_collected_stream_reports_later_never_inside_del(
    emulator: Emulator, callback: type[Recorder]
) -> None:
    recorder = callback()
    stream = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                 callbacks=[recorder], **at(emulator, "openai"))
    next(stream), next(stream), next(stream)
    meta = stream.meta
    del stream
    gc.collect()
    assert flush(5)
    event = recorder.one("success")
    assert event.response.choices[0].message.content == "Hello from"
    assert event.response.choices[0].finish_reason is None
    assert event.latency == meta.latency is not None
    # Delivered by the deferred-report worker (sync callbacks) or the callbacks' loop (async).
    assert recorder.threads[0] in ("llmrelay-deferred", "llmrelay-callbacks")
    assert recorder.threads[0] != threading.current_thread().name


async def test_collected_async_stream_reports_later(emulator: Emulator) -> None:
    recorder = AsyncRecorder()
    stream = await llmrelay.acompletion(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                        callbacks=[recorder], **at(emulator, "openai"))
    await stream.__anext__()
    del stream
    gc.collect()
    await asyncio.sleep(0)  # the loop's finalizer hook closes the abandoned generator
    assert flush(5)
    event = recorder.one("success")
    message = event.response.choices[0].message  # the first chunk: the role, no text yet
    assert (message.role, message.content) == ("assistant", None)
    assert event.response.choices[0].finish_reason is None


@pytest.mark.parametrize("fault", ["stream_error", "drop_stream"])
@pytest.mark.parametrize("mode", MODES)
def test_stream_failed_midway_reports_the_error(
    emulator: Emulator, recorder: Recorder, mode: str, fault: str
) -> None:
    getattr(emulator, fault)()
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True,
              "callbacks": [recorder], **at(emulator, "openai")}

    async def drain() -> None:
        async for _ in await llmrelay.acompletion(**kwargs):
            assert recorder.events == []

    with pytest.raises(llmrelay.APIError) as raised:
        if mode == "sync":
            for _ in llmrelay.completion(**kwargs):
                assert recorder.events == []
        else:
            asyncio.run(drain())
    event = recorder.one("failure")  # before the failing next() raised
    assert event.exception is raised.value
    assert event.response is None
    assert event.stream is True and event.attempts == 1


def test_chunks_are_kept_only_while_someone_listens(emulator: Emulator, recorder: Recorder) -> None:
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True,
              **at(emulator, "openai")}
    quiet = llmrelay.completion(**kwargs)
    assert not isinstance(quiet._iterator, _Recorded)
    quiet.close()
    heard = llmrelay.completion(callbacks=[recorder], **kwargs)
    assert isinstance(heard._iterator, _Recorded)
    run = heard._on_end.run
    list(heard)
    assert heard._on_end is None and run.chunks is None  # let go once reported
    event = recorder.one("success")
    assert len(event._chunks) == 10  # the response is rebuilt only if a callback reads it
    assert event.response.choices[0].message.content == ANSWER
    assert event._chunks is None and event.response is event.response

    async def quiet_async() -> None:
        stream = await llmrelay.acompletion(**kwargs)
        assert not isinstance(stream._iterator, _ARecorded)
        await stream.aclose()

    asyncio.run(quiet_async())


def test_n_greater_than_one_stream_by_fan_out_reports_once(
    emulator: Emulator, recorder: Recorder
) -> None:
    stream = llmrelay.completion(model="claude-3-5-haiku-latest", messages=MESSAGES, n=2,
                                 stream=True, callbacks=[recorder], **at(emulator, "anthropic"))
    list(stream)
    event = recorder.one("success")
    assert sorted(c.index for c in event.response.choices) == [0, 1]
    assert event.attempts == 2
    assert event.usage == stream.meta.usage
