"""The official ``anthropic`` SDK pointed at our emulator: ``messages.create`` and
``messages.stream`` (sync and async) must parse everything the emulator produces, and the SDK
must raise its own exception class for each scripted error.

This proves the emulator speaks Anthropic's wire format, so the round-trip tests against it mean
something. The SDK is test-only; llmrelay never imports it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

anthropic = pytest.importorskip("anthropic")
from anthropic.types import (  # noqa: E402
    Message,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)

from llmrelay.testing import Emulator  # noqa: E402

MODEL = "claude-haiku-4-5"
HI = [{"role": "user", "content": "Hi there"}]
WEATHER = {"name": "get_weather", "description": "Current weather",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CLOCK = {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
THINKING = {"type": "enabled", "budget_tokens": 1024}
# (kwargs) -> what the answer holds; every shape the emulator can produce.
SHAPES: dict[str, dict[str, Any]] = {
    "text": {},
    "system_and_stop": {"system": "Be brief.", "stop_sequences": ["emulator"]},
    "max_tokens": {"max_tokens": 3},
    "tools_parallel": {"tools": [WEATHER, CLOCK]},
    "tool_forced": {"tools": [WEATHER, CLOCK], "tool_choice": {"type": "tool", "name": "get_time"}},
    "thinking_and_tools": {"tools": [WEATHER], "thinking": THINKING, "max_tokens": 2048},
    "structured_output": {"output_config": {"format": {"type": "json_schema", "schema": {
        "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
        "additionalProperties": False}}}},
}


def client(emulator: Emulator, **kwargs: Any) -> Any:
    return anthropic.Anthropic(api_key=emulator.api_key, base_url=emulator.base_url("anthropic"),
                               max_retries=kwargs.pop("max_retries", 0), **kwargs)


def aclient(emulator: Emulator, **kwargs: Any) -> Any:
    return anthropic.AsyncAnthropic(api_key=emulator.api_key, base_url=emulator.base_url("anthropic"),
                                    max_retries=kwargs.pop("max_retries", 0), **kwargs)


def params(shape: str) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 512, "messages": HI, **SHAPES[shape]}


EXPECTED = {
    "text": (["text"], "end_turn"),
    "system_and_stop": (["text"], "stop_sequence"),
    "max_tokens": (["text"], "max_tokens"),
    "tools_parallel": (["text", "tool_use", "tool_use"], "tool_use"),
    "tool_forced": (["tool_use"], "tool_use"),
    "thinking_and_tools": (["thinking", "text", "tool_use"], "tool_use"),
    "structured_output": (["text"], "end_turn"),
}
BLOCK_TYPES = {"text": TextBlock, "tool_use": ToolUseBlock, "thinking": ThinkingBlock}


def check_shape(shape: str, message: Message) -> None:
    """The SDK parsed every block into its own typed model, with the expected stop reason."""
    kinds, stop_reason = EXPECTED[shape]
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-haiku-4-5-20251001"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0
    assert [b.type for b in message.content] == kinds
    assert all(isinstance(b, BLOCK_TYPES[b.type]) for b in message.content)
    assert message.stop_reason == stop_reason
    if shape == "system_and_stop":
        assert message.stop_sequence == "emulator"
    if shape == "structured_output":
        assert json.loads(message.content[0].text) == {"n": 1}
    for block in message.content:
        if isinstance(block, ToolUseBlock):
            assert block.id.startswith("toolu_") and isinstance(block.input, dict)
        if isinstance(block, ThinkingBlock):
            assert block.thinking and block.signature


@pytest.mark.parametrize("shape", list(SHAPES))
def test_create_sync(emulator: Emulator, shape: str) -> None:
    message = client(emulator).messages.create(**params(shape))
    assert isinstance(message, Message)
    check_shape(shape, message)


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_create_async(emulator: Emulator, shape: str) -> None:
    message = await aclient(emulator).messages.create(**params(shape))
    check_shape(shape, message)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_stream_sync_matches_create(emulator: Emulator, shape: str) -> None:
    sdk = client(emulator)
    with sdk.messages.stream(**params(shape)) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    check_shape(shape, final)
    created = sdk.messages.create(**params(shape))
    assert final.model_dump(exclude={"usage"}) == created.model_dump(exclude={"usage"})


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_stream_async_matches_create(emulator: Emulator, shape: str) -> None:
    sdk = aclient(emulator)
    async with sdk.messages.stream(**params(shape)) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    check_shape(shape, final)
    assert text == "".join(b.text for b in final.content if isinstance(b, TextBlock))
    created = await sdk.messages.create(**params(shape))
    assert final.model_dump(exclude={"usage"}) == created.model_dump(exclude={"usage"})


def test_raw_stream_create(emulator: Emulator) -> None:
    events = list(client(emulator).messages.create(**params("tools_parallel"), stream=True))
    names = [e.type for e in events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-2:] == ["message_delta", "message_stop"]
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert {"text_delta", "input_json_delta"} == set(deltas)


def test_multi_turn_thinking_with_tools_accepted(emulator: Emulator) -> None:
    sdk = client(emulator)
    first = sdk.messages.create(**params("thinking_and_tools"))
    tool = next(b for b in first.content if isinstance(b, ToolUseBlock))
    second = sdk.messages.create(**{**params("thinking_and_tools"), "messages": [
        *HI, first.to_param(),
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "18C"}]}]})
    assert second.stop_reason == "end_turn"


ERRORS = [
    (400, "BadRequestError", "invalid_request_error"),
    (401, "AuthenticationError", "authentication_error"),
    (403, "PermissionDeniedError", "permission_error"),
    (404, "NotFoundError", "not_found_error"),
    (413, "ContentTooLargeError", "request_too_large"),
    (429, "RateLimitError", "rate_limit_error"),
    (500, "InternalServerError", "api_error"),
    (529, "OverloadedError", "overloaded_error"),
]


@pytest.mark.parametrize(("status", "cls", "kind"), ERRORS)
def test_scripted_errors_sync(emulator: Emulator, status: int, cls: str, kind: str) -> None:
    emulator.fail(status)
    with pytest.raises(getattr(anthropic, cls)) as info:
        client(emulator).messages.create(**params("text"))
    assert info.value.status_code == status
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == kind
    assert info.value.request_id == info.value.body["request_id"]


@pytest.mark.parametrize(("status", "cls", "kind"), ERRORS)
async def test_scripted_errors_async(emulator: Emulator, status: int, cls: str, kind: str) -> None:
    emulator.fail(status)
    with pytest.raises(getattr(anthropic, cls)):
        await aclient(emulator).messages.create(**params("text"))


def test_emulator_refusals_are_sdk_errors(emulator: Emulator) -> None:
    with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
        anthropic.Anthropic(api_key="sk-wrong", base_url=emulator.base_url("anthropic"),
                            max_retries=0).messages.create(**params("text"))
    with pytest.raises(anthropic.NotFoundError, match="model: claude-missing"):
        client(emulator).messages.create(**{**params("text"), "model": "claude-missing"})
    with pytest.raises(anthropic.BadRequestError, match="unexpected `tool_use_id`"):
        client(emulator).messages.create(**{**params("text"), "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_X", "content": "1"}]}]})


def test_sdk_retries_overloaded(emulator: Emulator) -> None:
    emulator.fail(529, times=2, headers={"retry-after-ms": "10"})
    message = client(emulator, max_retries=2).messages.create(**params("text"))
    assert message.stop_reason == "end_turn"
    assert emulator.count("anthropic") == 3


def test_mid_stream_error_sync(emulator: Emulator) -> None:
    emulator.stream_error(status=529)
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as info:
        with client(emulator).messages.stream(**params("text")) as stream:
            for event in stream:
                seen.append(event.type)
    assert seen[0] == "message_start"
    assert info.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


async def test_mid_stream_error_async(emulator: Emulator) -> None:
    emulator.stream_error(status=500)
    with pytest.raises(anthropic.APIStatusError) as info:
        async with aclient(emulator).messages.stream(**params("text")) as stream:
            async for _ in stream:
                pass
    assert info.value.body["error"]["type"] == "api_error"
