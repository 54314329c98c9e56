"""llmrelay against the OpenAI emulator over real sockets, sync and async (the core's own tests
cover parameters and retries in depth; these cover the adapter's error and stream paths)."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def openai_kw(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


@pytest.mark.parametrize("mode", MODES)
def test_stream_tool_call_rebuilt(mode: str, emulator: Emulator) -> None:
    chunks = call(mode, **openai_kw(emulator, stream=True, tools=TOOLS,
                                    stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    built = llmrelay.stream_chunk_builder(chunks)
    tool = built.choices[0].message.tool_calls[0]
    assert (tool.function.name, tool.function.arguments) == ("get_weather", '{"city": "city-1"}')
    assert built.usage.total_tokens == chunks[-1].usage.total_tokens


@pytest.mark.parametrize(
    ("status", "cls", "attempts"),
    [
        (400, llmrelay.BadRequestError, 1),
        (401, llmrelay.AuthenticationError, 1),
        (403, llmrelay.PermissionDeniedError, 1),
        (404, llmrelay.NotFoundError, 1),
        (409, llmrelay.APIError, 2),
        (422, llmrelay.BadRequestError, 1),
        (429, llmrelay.RateLimitError, 2),
        (500, llmrelay.InternalServerError, 2),
        (503, llmrelay.ServiceUnavailableError, 2),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_error_statuses(mode: str, status: int, cls: type[Exception], attempts: int,
                        emulator: Emulator) -> None:
    emulator.fail(status, times=5, provider="openai", headers={"retry-after-ms": "1"})
    with pytest.raises(cls) as info:
        call(mode, **openai_kw(emulator, num_retries=1))
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert emulator.count("openai") == attempts


@pytest.mark.parametrize("mode", MODES)
def test_emulated_rejections(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="Incorrect API key provided"):
        call(mode, **openai_kw(emulator, api_key="sk-wrong-key"))
    with pytest.raises(llmrelay.NotFoundError) as info:
        call(mode, **openai_kw(emulator, model="openai/missing-model"))
    assert info.value.code == "model_not_found"


@pytest.mark.parametrize("mode", MODES)
def test_mid_stream_error(mode: str, emulator: Emulator) -> None:
    emulator.stream_error(provider="openai")
    with pytest.raises(llmrelay.InternalServerError, match="server had an error"):
        call(mode, **openai_kw(emulator, stream=True))


def test_a_request_the_emulator_does_not_model_is_a_500_that_says_so(emulator: Emulator) -> None:
    """The emulator answers what it cannot model with a 500 naming itself: never a dropped
    connection, never an answer a real provider would not give."""
    schema = {"name": "x", "schema": {"type": "object", "properties": ["not", "an", "object"]}}
    with pytest.raises(llmrelay.InternalServerError, match="emulator could not answer") as info:
        llmrelay.completion(**openai_kw(emulator, num_retries=0), messages=MESSAGES, response_format={
            "type": "json_schema", "json_schema": schema})
    assert info.value.status_code == 500

