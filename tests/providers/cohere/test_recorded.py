"""Every recorded Cohere interaction replayed through the adapter's parsers.

Bodies go through ``parse_response`` (or ``parse_error`` for the error), raw SSE through the
SSE decoder and the stream translator; each must give a valid OpenAI-shaped result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.config import ProviderSettings
from llmrelay.providers.base import CallContext
from llmrelay.providers.cohere import ADAPTER
from llmrelay.streaming import SSEDecoder
from tests.conftest import RECORDED, chat_recordings, load

FILES = chat_recordings("cohere")

# What each recording must turn into: finish reason, usage (prompt, completion, cached),
# the start of the text, tool-call names, the start of the reasoning.
EXPECTED: dict[str, dict[str, Any]] = {
    "stream_text.json": {"finish": "stop", "usage": (70, 69, None), "text": "Hi there! You're Pickle Rick?"},
    "stream_tool_call.json": {"finish": "tool_calls", "usage": (906, 77, None), "tools": ["Person"],
                              "reasoning": "I will use the Person tool"},
    "system_prompt.json": {"finish": "stop", "usage": (542, 63, None), "text": "The capital of France is Paris."},
    "text_basic.json": {"finish": "stop", "usage": (70, 28, None), "text": "Hi there! You're Pickle Rick?"},
    "thinking_multi_turn.json": {"finish": "stop", "usage": (2190, 1257, None),
                                 "text": "Crossing a river safely", "reasoning": "Okay, the user is asking how to cross a river"},
    "thinking_tool_call.json": {"finish": "tool_calls", "usage": (1494, 330, 1008), "tools": ["get_the_weather"],
                                "reasoning": "Okay, the user is asking for the weather"},
    "tool_calls_parallel.json": {"finish": "tool_calls", "usage": (968, 83, None), "tools": ["get_time", "get_weather"],
                                 "reasoning": "I will search for the current time and weather in Tokyo."},
    "tool_results.json": {"finish": "stop", "usage": (1094, 102, None), "text": "The current time in Tokyo is 4:20 PM"},
    "usage_cached_tokens.json": {"finish": "stop", "usage": (2935, 4, 2928), "text": "Hello!"},
}


def test_every_recording_is_covered() -> None:
    names = {p.name for p in FILES}
    assert names == set(EXPECTED)


def context(data: dict[str, Any], include_usage: bool) -> CallContext:
    body = data["request"]["body"]
    request = {**body, "stream_options": {"include_usage": include_usage}}
    return CallContext("cohere", body["model"], request,
                       ProviderSettings(api_key="co-test", base_url="https://api.cohere.com"))


def replay(path: Path) -> tuple[llmrelay.ModelResponse, list[llmrelay.ModelResponseChunk]]:
    data = load(path)
    response = data["response"]
    if "sse" not in response:
        assert response["status"] == 200
        result = ADAPTER.parse_response(response["body"], context(data, False))
        assert isinstance(result, llmrelay.ModelResponse)
        return result, []
    translator = ADAPTER.stream_translator(context(data, True))
    decoder = SSEDecoder()
    chunks = []
    for event in decoder.feed(response["sse"].encode()) + decoder.flush():
        chunks += translator.feed(event)
    chunks += translator.finish()
    return llmrelay.stream_chunk_builder(chunks), chunks


@pytest.mark.parametrize("path", [p for p in FILES if p.name in EXPECTED], ids=lambda p: p.stem)
def test_recorded_success(path: Path) -> None:
    expected = EXPECTED[path.name]
    result, chunks = replay(path)
    choice = result.choices[0]
    assert choice.finish_reason == expected["finish"]
    assert result.model == load(path)["request"]["body"]["model"]
    usage = result.usage
    assert usage is not None
    prompt, completion, cached = expected["usage"]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        prompt, completion, prompt + completion)
    details = usage.prompt_tokens_details
    assert (details.cached_tokens if details else None) == cached
    billed = load(path)["response"].get("body", {}).get("usage", {}).get("billed_units")
    if billed:
        assert usage.billed_units == billed  # type: ignore[attr-defined]
    message = choice.message
    if "text" in expected:
        assert message.content is not None and message.content.startswith(expected["text"])
    else:
        assert message.content is None
    if "tools" in expected:
        calls = message.tool_calls or []
        assert [c.function.name for c in calls] == expected["tools"]
        for call in calls:
            assert call.type == "function" and call.id
            assert isinstance(json.loads(call.function.arguments), dict)
    else:
        assert message.tool_calls is None
    reasoning = getattr(message, "reasoning_content", None)
    if "reasoning" in expected:
        assert reasoning is not None and reasoning.startswith(expected["reasoning"])
    else:
        assert reasoning is None
    # The OpenAI shape round-trips through the public model.
    assert llmrelay.ModelResponse.model_validate(result.model_dump()).model_dump() == result.model_dump()
    if chunks:
        assert chunks[0].choices[0].delta.role == "assistant"
        assert [c for c in chunks if c.choices and c.choices[0].finish_reason][-1] is chunks[-2]
        assert chunks[-1].choices == [] and chunks[-1].usage == usage
        assert all(c.id == chunks[0].id for c in chunks)


def test_recorded_stream_tool_call_fragments() -> None:
    """The recorded argument fragments (pretty-printed JSON) join into the exact arguments."""
    result, chunks = replay(next(p for p in FILES if p.name == "stream_tool_call.json"))
    call = (result.choices[0].message.tool_calls or [])[0]
    assert call.id == "Person_2fnrphbsnr66"
    assert json.loads(call.function.arguments) == {"name": "Erick", "age": 27}
    fragments = [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(fragments) == 17  # tool-call-start + 16 tool-call-delta events


def test_recorded_citations_kept() -> None:
    result, _ = replay(next(p for p in FILES if p.name == "tool_results.json"))
    citations = result.choices[0].message.citations  # type: ignore[attr-defined]
    assert [c["text"] for c in citations] == ["4:20 PM", "sunny with a temperature of 20\u00b0C."]


def test_recorded_error_through_parse_error() -> None:
    data = load(RECORDED / "cohere" / "error_404_embed.json")
    response = data["response"]
    error = ADAPTER.parse_error(response["status"], response["body"], response["headers"],
                                context({"request": {"body": {"model": "nonexistent"}}}, False))
    assert type(error) is llmrelay.NotFoundError
    assert error.message == response["body"]["message"]
    assert error.request_id == response["body"]["id"]
