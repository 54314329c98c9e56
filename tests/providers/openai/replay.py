"""Replays a recorded OpenAI-family interaction through the adapter's parsers and checks the
result against what the raw recording says (an oracle independent of the code under test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import llmrelay
from llmrelay.config import ProviderSettings
from llmrelay.exceptions import APIError
from llmrelay.providers.base import CallContext
from llmrelay.registry import get_adapter
from llmrelay.streaming import SSEDecoder
from llmrelay.types import ModelResponse
from tests.conftest import load


def context(provider: str, recording: dict[str, Any]) -> CallContext:
    body = recording["request"]["body"] or {}
    settings = ProviderSettings(api_key="k", base_url="http://recorded")
    return CallContext(provider, str(body.get("model", "")), body, settings)


def raw_chunks(sse: str) -> list[dict[str, Any]]:
    """The JSON objects of every ``data:`` line (one per event in these recordings)."""
    return [json.loads(line[6:]) for line in sse.splitlines()
            if line.startswith("data: {")]


def translate(provider: str, recording: dict[str, Any]) -> tuple[list[Any], APIError | None]:
    ctx = context(provider, recording)
    translator = get_adapter(provider).stream_translator(ctx)
    decoder = SSEDecoder()
    chunks: list[Any] = []
    data = recording["response"]["sse"].encode()
    try:
        for start in range(0, len(data), 29):
            for event in decoder.feed(data[start:start + 29]):
                chunks += translator.feed(event)
        for event in decoder.flush():
            chunks += translator.feed(event)
        chunks += translator.finish()
    except APIError as exc:
        return chunks, exc
    return chunks, None


def check_body(provider: str, recording: dict[str, Any]) -> ModelResponse:
    body = recording["response"]["body"]
    result = get_adapter(provider).parse_response(body, context(provider, recording))
    assert isinstance(result, ModelResponse)
    assert result.id == body["id"] and result.model == body["model"]
    assert result.object == "chat.completion"
    assert len(result.choices) == len(body["choices"])
    for ours, theirs in zip(result.choices, body["choices"]):
        assert ours.finish_reason == theirs["finish_reason"]
        assert ours.message.content == theirs["message"].get("content")
        for ours_call, their_call in zip(ours.message.tool_calls or [],
                                         theirs["message"].get("tool_calls") or []):
            assert ours_call.id == their_call["id"]
            assert ours_call.function.name == their_call["function"]["name"]
            assert json.loads(ours_call.function.arguments) == json.loads(
                their_call["function"]["arguments"])
        assert len(ours.message.tool_calls or []) == len(theirs["message"].get("tool_calls") or [])
    usage = body["usage"]
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens,
            result.usage.total_tokens) == (usage["prompt_tokens"], usage["completion_tokens"],
                                           usage["total_tokens"])
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        assert result.usage.prompt_tokens_details.cached_tokens == cached  # type: ignore[union-attr]
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning is not None:
        assert result.usage.completion_tokens_details.reasoning_tokens == reasoning  # type: ignore[union-attr]
    # The typed result round-trips to the OpenAI SDK's own model.
    ChatCompletion.model_validate(result.model_dump())
    return result


def check_stream(provider: str, recording: dict[str, Any]) -> ModelResponse:
    chunks, error = translate(provider, recording)
    assert error is None, error
    raw = [c for c in raw_chunks(recording["response"]["sse"]) if c.get("id")]
    options = recording["request"]["body"].get("stream_options") or {}
    for chunk in chunks:
        assert chunk.id and chunk.object == "chat.completion.chunk" and chunk.model
        ChatCompletionChunk.model_validate(chunk.model_dump())
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishes) == 1, finishes
    usage_chunks = [c for c in chunks if c.usage is not None]
    raw_usage = [c["usage"] for c in raw if c.get("usage")]
    if options.get("include_usage") and raw_usage:
        assert len(usage_chunks) == 1 and usage_chunks[-1] is chunks[-1]
        assert chunks[-1].choices == []
        assert chunks[-1].usage.total_tokens == raw_usage[-1]["total_tokens"]  # type: ignore[union-attr]
    else:
        assert usage_chunks == []
    built = llmrelay.stream_chunk_builder(chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in raw if c["choices"])
    assert (built.choices[0].message.content or "") == text
    assert built.choices[0].finish_reason == finishes[0]
    arguments: dict[int, str] = {}
    for c in raw:
        for call in (c["choices"][0]["delta"].get("tool_calls") or []) if c["choices"] else []:
            arguments[call["index"]] = arguments.get(call["index"], "") + (
                call.get("function", {}).get("arguments") or "")
    built_calls = built.choices[0].message.tool_calls or []
    assert [c.function.arguments for c in built_calls] == [arguments[i] for i in sorted(arguments)]
    return built


def check(provider: str, path: Path, errors: dict[str, type[APIError]]) -> None:
    """Every recording: errors to their class, bodies and streams to OpenAI shapes."""
    recording = load(path)
    response = recording["response"]
    if response["status"] >= 400:
        ctx = context(provider, recording)
        error = get_adapter(provider).parse_error(response["status"], response["body"],
                                                  response["headers"], ctx)
        assert type(error) is errors[path.stem], repr(error)
        message = response["body"]["error"]["message"]
        assert message in error.message
        return
    if "body" in response:
        check_body(provider, recording)
    else:
        check_stream(provider, recording)


def ids(paths: list[Path]) -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in paths]


