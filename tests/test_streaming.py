"""SSE decoding, stream iteration, chunk building and connection release."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

import llmrelay
from llmrelay.streaming import ServerSentEvent, SSEDecoder
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]

TOOLS = [{"type": "function", "function": {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "days": {"type": "integer"}},
                   "required": ["city", "days"]}}}]


def kwargs(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


def decode_all(data: bytes, step: int) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for start in range(0, len(data), step):
        events += decoder.feed(data[start:start + step])
    return events + decoder.flush()


STREAM = (
    ": OPENROUTER PROCESSING\n\n"
    "event: message_start\r\ndata: {\"a\": 1}\r\n\r\n"
    "data: line one\ndata: line two\n\n"
    "id: 7\nretry: 300\ndata:no-space\n\n"
    "data: héllo ✓\n\n"
    "data: [DONE]"
).encode()

EXPECTED = [
    ServerSentEvent('{"a": 1}', "message_start"),
    ServerSentEvent("line one\nline two"),
    ServerSentEvent("no-space", None, "7", 300),
    ServerSentEvent("héllo ✓", None, "7"),  # the last event id persists (WHATWG)
    ServerSentEvent("[DONE]", None, "7"),
]


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 10_000])
def test_decoder_gives_the_same_events_however_the_bytes_are_split(step: int) -> None:
    assert decode_all(STREAM, step) == EXPECTED


def test_decoder_ignores_comment_only_streams() -> None:
    assert decode_all(b": hi\n\n: keep-alive\n\n", 5) == []


@pytest.mark.parametrize("mode", MODES)
def test_text_stream_shape(mode: str, emulator: Emulator) -> None:
    chunks = call(mode, stream=True, **kwargs(emulator))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert all(c.usage is None for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Hello from the emulator. You said: Hi there"


@pytest.mark.parametrize("mode", MODES)
def test_include_usage_adds_a_final_usage_chunk(mode: str, emulator: Emulator) -> None:
    chunks = call(mode, stream=True, stream_options={"include_usage": True}, **kwargs(emulator))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.usage is not None and built.usage.total_tokens == last.usage.total_tokens


@pytest.mark.parametrize("mode", MODES)
def test_tool_call_deltas_rebuild_into_tool_calls(mode: str, emulator: Emulator) -> None:
    chunks = call(mode, stream=True, tools=TOOLS, **kwargs(emulator))
    first = chunks[0].choices[0].delta.tool_calls[0]
    assert first.index == 0 and first.id and first.function.name == "get_weather"
    assert first.function.arguments == ""
    built = llmrelay.stream_chunk_builder(chunks)
    call_ = built.choices[0].message.tool_calls[0]
    assert call_.id == first.id
    assert call_.function.arguments == '{"city": "city-1", "days": 1}'
    assert built.choices[0].finish_reason == "tool_calls"


def test_stream_chunk_builder_matches_the_non_streaming_answer(emulator: Emulator) -> None:
    whole = llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    built = llmrelay.stream_chunk_builder(
        llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator))
    )
    assert built.choices[0].message.content == whole.choices[0].message.content
    assert built.choices[0].finish_reason == whole.choices[0].finish_reason
    assert built.id == whole.id


@pytest.mark.parametrize("mode", MODES)
def test_mid_stream_error_is_raised_from_the_iterator(mode: str, emulator: Emulator) -> None:
    emulator.stream_error()
    with pytest.raises(llmrelay.InternalServerError) as info:
        call(mode, stream=True, **kwargs(emulator))
    assert "server had an error" in info.value.message
    assert info.value.provider == "openai"


def _busy_connections() -> int:
    from llmrelay import transport

    pools = transport._sync_pools
    if pools is None:
        return 0
    return sum(1 for c in pools.direct.connections if not c.is_idle() and not c.is_closed())


def test_sync_stream_releases_its_connection_when_exhausted_closed_or_dropped(
    emulator: Emulator,
) -> None:
    for _chunk in llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator)):
        pass
    assert _busy_connections() == 0

    stream = llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator))
    next(stream)
    assert _busy_connections() == 1
    stream.close()
    assert _busy_connections() == 0

    with llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator)) as stream:
        next(stream)
    assert _busy_connections() == 0

    stream = llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator))
    next(stream)
    del stream
    gc.collect()
    assert _busy_connections() == 0


def test_async_stream_closes_on_aclose_and_cancellation(emulator: Emulator) -> None:
    async def main() -> None:
        stream = await llmrelay.acompletion(messages=MESSAGES, stream=True, **kwargs(emulator))
        await stream.__anext__()
        await stream.aclose()

        async def consume() -> None:
            async with await llmrelay.acompletion(
                messages=MESSAGES, stream=True, **kwargs(emulator)
            ) as s:
                async for _ in s:
                    await asyncio.sleep(10)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The pool still works after a cancelled stream.
        resp = await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))
        assert resp.choices[0].message.content

    asyncio.run(main())


@pytest.mark.parametrize("mode", MODES)
def test_dropped_connection_mid_stream_is_a_connection_error(mode: str, emulator: Emulator) -> None:
    emulator.drop_stream(after=3)
    with pytest.raises(llmrelay.APIConnectionError):
        call(mode, stream=True, num_retries=0, **kwargs(emulator))


def test_a_stream_iterated_as_a_temporary_yields_every_chunk(emulator: Emulator) -> None:
    whole = llmrelay.completion(messages=MESSAGES, **kwargs(emulator)).choices[0].message.content
    text = ""
    for chunk in llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator)):
        text += chunk.choices[0].delta.content or ""
    assert text == whole


def test_breaking_out_of_a_loop_leaves_the_stream_open(emulator: Emulator) -> None:
    stream = llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator))
    head = []
    for chunk in stream:
        head.append(chunk)
        if len(head) == 3:
            break
    rest = list(stream)
    built = llmrelay.stream_chunk_builder(head + rest)
    assert built.choices[0].message.content == "Hello from the emulator. You said: Hi there"


def _reference_events(text: str) -> list[ServerSentEvent]:
    """The WHATWG algorithm, line by line, as plainly as it reads (lenient like ours: an
    ``event:`` with no data still dispatches)."""
    events: list[ServerSentEvent] = []
    data: list[str] = []
    name: str | None = None
    last_id: str | None = None
    retry: int | None = None
    for line in [*text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), ""]:
        if not line:
            if data or name is not None:
                events.append(ServerSentEvent("\n".join(data), name, last_id, retry))
            data, name, retry = [], None, None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and value.isdigit():
            retry = int(value)
    return events


@pytest.mark.parametrize("seed", range(40))
def test_decoder_matches_the_reference_on_random_streams(seed: int) -> None:
    import random

    rng = random.Random(seed)
    pieces = ["data: {\"a\": 1}", "data: x", "data:", "data:  two spaces", "event: ping",
              "event: message_start", ": comment", "id: 42", "retry: 10", "retry: x",
              "data: é✓ multi-byte", "unknown: field", "data: [DONE]", "field-without-colon"]
    lines: list[str] = []
    for _ in range(rng.randint(1, 30)):
        lines += [*rng.sample(pieces, rng.randint(1, 3)), ""]
    text = rng.choice(["\n", "\r\n", "\r"]).join(lines)
    data = text.encode()
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    start = 0
    while start < len(data):
        step = rng.randint(1, 12)
        events += decoder.feed(data[start:start + step])
        start += step
    events += decoder.flush()
    assert events == _reference_events(text)


def test_next_and_for_share_one_stream(emulator: Emulator) -> None:
    whole = llmrelay.completion(messages=MESSAGES, **kwargs(emulator)).choices[0].message.content
    stream = llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator))
    chunks = [next(stream), next(stream)]
    chunks += list(stream)
    with pytest.raises(StopIteration):
        next(stream)
    assert llmrelay.stream_chunk_builder(chunks).choices[0].message.content == whole
    assert stream.meta.latency is not None and stream.meta.usage is not None  # ended: settled


def test_a_stream_dropped_mid_loop_is_freed_without_the_garbage_collector(
    emulator: Emulator,
) -> None:
    """The iterator a loop holds refers to its stream, not the other way round: no cycle keeps a
    dropped stream (and its connection) alive until a collection."""
    import weakref

    gc.disable()
    try:
        stream = llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator))
        alive = weakref.ref(stream)
        iterator = iter(stream)
        next(iterator)
        assert _busy_connections() == 1
        del stream
        assert alive() is not None  # the loop's iterator keeps it
        del iterator
        assert alive() is None
        assert _busy_connections() == 0
    finally:
        gc.enable()


def test_async_anext_and_async_for_share_one_stream(emulator: Emulator) -> None:
    async def main() -> tuple[list[Any], Any]:
        stream = await llmrelay.acompletion(messages=MESSAGES, stream=True, **kwargs(emulator))
        chunks = [await stream.__anext__()]
        chunks += [chunk async for chunk in stream]
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        return chunks, stream.meta

    chunks, meta = asyncio.run(main())
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert meta.latency is not None and meta.usage is not None


DELTAS: list[tuple[dict[str, Any], str | None, Any, int]] = [
    ({"content": "hi"}, None, None, 0),
    ({"role": "assistant", "content": ""}, None, None, 2),
    ({}, "stop", None, 0),
    ({"reasoning_content": "why", "thinking_blocks": [{"type": "thinking", "thinking": "why"}]},
     None, None, 0),
    ({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                      "function": {"name": "f", "arguments": ""}}]}, None, None, 0),
    ({"content": "x"}, None, {"content": [{"token": "x", "logprob": -0.1}]}, 1),
]


@pytest.mark.parametrize(("delta", "finish", "logprobs", "index"), DELTAS)
@pytest.mark.parametrize("identity", [("chatcmpl-1", 1752720361, "m"), ("chatcmpl-1", 1.0, "m")])
def test_delta_chunk_is_the_chunk_the_validator_makes(
    delta: dict[str, Any], finish: str | None, logprobs: Any, index: int,
    identity: tuple[Any, Any, Any],
) -> None:
    from llmrelay.types import ModelResponseChunk, delta_chunk

    made = delta_chunk(*identity, delta, finish, logprobs, index)
    expected = ModelResponseChunk.model_validate(
        {"id": identity[0], "created": identity[1], "model": identity[2],
         "choices": [{"index": index, "delta": delta, "finish_reason": finish,
                      "logprobs": logprobs}]})
    assert made == expected and expected == made
    assert list(made.__dict__) == list(expected.__dict__)
    assert made.model_fields_set == expected.model_fields_set
    assert made.model_dump_json() == expected.model_dump_json()
    assert made.model_dump(exclude_unset=True) == expected.model_dump(exclude_unset=True)
    assert repr(made) == repr(expected)
    made.model_fields_set.add("usage")  # each chunk has its own fields-set
    assert "usage" not in delta_chunk(*identity, delta, finish, logprobs, index).model_fields_set


def test_delta_chunk_refuses_a_provider_value_of_the_wrong_type() -> None:
    from pydantic import ValidationError

    from llmrelay.types import delta_chunk

    with pytest.raises(ValidationError):
        delta_chunk("chatcmpl-1", 1, "m", {"content": 5})
    with pytest.raises(ValidationError):
        delta_chunk(None, 1, "m", {"content": "x"})  # type: ignore[arg-type]
