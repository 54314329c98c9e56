"""Every recorded Mistral, Groq, DeepSeek and Ollama interaction replays through the
adapters' parsers (bodies, streams split at odd byte boundaries, errors).

The oracle reads the raw recording with its own small rules (text chunks vs thinking chunks,
``reasoning`` vs ``reasoning_content``), independent of the adapter code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import llmrelay
from llmrelay.exceptions import APIError, BadRequestError, NotFoundError
from llmrelay.registry import get_adapter
from llmrelay.streaming import SSEDecoder
from tests.conftest import load, recorded
from tests.providers.openai.replay import context

PROVIDERS = ("mistral", "groq", "deepseek", "ollama")
ERRORS = {
    ("groq", "error_400_tool_use_failed"): (BadRequestError, "tool_use_failed"),
    ("groq", "error_404_model_not_found"): (NotFoundError, "model_not_found"),
}
SPLITS = (1, 7, 29, 4096)
ALL = [(p, path) for p in PROVIDERS for path in recorded(p)]


def split_text(content: Any) -> tuple[str | None, str]:
    """(text, reasoning) of a raw message/delta ``content``: a string, or Mistral's chunks."""
    if not isinstance(content, list):
        return content, ""
    text = [c["text"] for c in content if c.get("type") == "text"]
    thinking = [t["text"] for c in content if c.get("type") == "thinking" for t in c["thinking"]]
    return ("".join(text) if text else None), "".join(thinking)


def raw_reasoning(part: dict[str, Any]) -> str:
    """Reasoning text however the provider named it."""
    _, thinking = split_text(part.get("content"))
    return thinking + (part.get("reasoning_content") or "") + (part.get("reasoning") or "")


def translate(provider: str, rec: dict[str, Any], size: int) -> tuple[list[Any], APIError | None]:
    translator = get_adapter(provider).stream_translator(context(provider, rec))
    decoder = SSEDecoder()
    data = rec["response"]["sse"].encode()
    chunks: list[Any] = []
    try:
        for start in range(0, len(data), size):
            for event in decoder.feed(data[start:start + size]):
                chunks += translator.feed(event)
        for event in decoder.flush():
            chunks += translator.feed(event)
        chunks += translator.finish()
    except APIError as exc:
        return chunks, exc
    return chunks, None


def raw_events(sse: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in sse.splitlines() if line.startswith("data: {")]


def check_body(provider: str, rec: dict[str, Any]) -> None:
    body = rec["response"]["body"]
    result = get_adapter(provider).parse_response(body, context(provider, rec))
    assert isinstance(result, llmrelay.ModelResponse)
    assert (result.id, result.model) == (body["id"], body["model"])
    for ours, theirs in zip(result.choices, body["choices"], strict=True):
        raw = theirs["message"]
        text, _ = split_text(raw.get("content"))
        assert ours.message.content == text
        assert (ours.message.get("reasoning_content") or "") == raw_reasoning(raw)
        assert ours.finish_reason == theirs["finish_reason"]
        calls = raw.get("tool_calls") or []
        assert len(ours.message.tool_calls or []) == len(calls)
        for mine, call in zip(ours.message.tool_calls or [], calls):
            assert (mine.id, mine.type, mine.function.name) == (
                call["id"], "function", call["function"]["name"])
            assert json.loads(mine.function.arguments) == json.loads(call["function"]["arguments"])
    usage = body["usage"]
    assert result.usage is not None
    dumped = result.usage.model_dump(exclude_none=True)
    assert {k: dumped.get(k) for k in usage} == usage  # every field kept (Groq timings, ...)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens,
            result.usage.total_tokens) == (usage["prompt_tokens"], usage["completion_tokens"],
                                           usage["total_tokens"])
    details = usage.get("completion_tokens_details") or {}
    if "reasoning_tokens" in details:
        assert result.usage.completion_tokens_details.reasoning_tokens == details["reasoning_tokens"]  # type: ignore[union-attr]
    # Provider extras survive (Groq x_groq) and the result is a valid OpenAI ChatCompletion.
    for key in ("x_groq", "usage_breakdown"):
        if key in body:
            assert result[key] == body[key]
    # Groq's ``service_tier: "on_demand"`` is kept as Groq said it, outside OpenAI's enum.
    ChatCompletion.model_validate({k: v for k, v in result.model_dump().items()
                                   if k != "service_tier"})


def check_stream(provider: str, rec: dict[str, Any], size: int) -> None:
    chunks, error = translate(provider, rec, size)
    assert error is None, error
    raw = raw_events(rec["response"]["sse"])
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk.model_dump())
    built = llmrelay.stream_chunk_builder(chunks)
    deltas = [c["choices"][0]["delta"] for c in raw if c.get("choices")]
    text = "".join(split_text(d.get("content"))[0] or "" for d in deltas)
    assert (built.choices[0].message.content or "") == text
    assert (built.choices[0].message.get("reasoning_content") or "") == "".join(
        raw_reasoning(d) for d in deltas)
    finishes = [c["choices"][0]["finish_reason"] for c in raw
                if c.get("choices") and c["choices"][0].get("finish_reason")]
    assert [c.choices[0].finish_reason for c in chunks
            if c.choices and c.choices[0].finish_reason] == finishes[:1]
    raw_usage = [c["usage"] for c in raw if c.get("usage")]
    asked = (rec["request"]["body"].get("stream_options") or {}).get("include_usage")
    usage_chunks = [c for c in chunks if c.usage is not None]
    if asked:
        assert usage_chunks == [chunks[-1]] and chunks[-1].choices == []
        assert chunks[-1].usage.model_dump(exclude_none=True) == raw_usage[-1]  # type: ignore[union-attr]
    else:
        assert usage_chunks == []


@pytest.mark.parametrize("size", SPLITS)
@pytest.mark.parametrize(("provider", "path"), [pytest.param(p, path, id=f"{p}/{path.stem}")
                                                for p, path in ALL])
def test_recorded(provider: str, path: Path, size: int) -> None:
    rec = load(path)
    response = rec["response"]
    if response["status"] >= 400:
        if size != SPLITS[0]:
            return
        cls, code = ERRORS[(provider, path.stem)]
        error = get_adapter(provider).parse_error(response["status"], response["body"],
                                                  response["headers"], context(provider, rec))
        assert type(error) is cls and error.code == code
        assert error.message == response["body"]["error"]["message"]
    elif "body" in response:
        if size == SPLITS[0]:
            check_body(provider, rec)
    elif path.stem == "stream_error_tool_use_failed":
        chunks, error = translate(provider, rec, size)
        # Every reasoning delta before the ``event: error`` arrives; then the 400 is raised.
        reasoning = [c for c in chunks if c.choices and c.choices[0].delta.get("reasoning_content")]
        assert len(reasoning) == len([e for e in raw_events(response["sse"])
                                      if e.get("choices") and e["choices"][0]["delta"].get("reasoning")])
        assert isinstance(error, BadRequestError) and error.status_code == 400
        assert error.code == "tool_use_failed" and "did not match schema" in error.message
    else:
        check_stream(provider, rec, size)


def test_every_recording_is_replayed() -> None:
    assert {p: len(recorded(p)) for p in PROVIDERS} == {
        "mistral": 4, "groq": 6, "deepseek": 3, "ollama": 2}


def test_mistral_thinking_chunks_become_reasoning_content() -> None:
    rec = load(next(p for p in recorded("mistral") if p.stem == "thinking_content_chunks"))
    result = get_adapter("mistral").parse_response(rec["response"]["body"], context("mistral", rec))
    message = result.choices[0].message  # type: ignore[union-attr]
    assert message.content.startswith("Crossing a river is quite different")
    assert message.reasoning_content.startswith("**Analogizing crossing a river**")
    assert "Crossing a river is quite different" not in message.reasoning_content


def test_groq_stream_usage_in_x_groq_is_the_usage_chunk() -> None:
    """Recorded streams end in an error; an ``x_groq.usage`` finish chunk stands in for the
    rest of a recorded stream (its first chunk, as recorded, then a finish with usage)."""
    rec = load(next(p for p in recorded("groq") if p.stem == "stream_error_tool_use_failed"))
    first = rec["response"]["sse"].split("\n\n")[0]
    finish = json.loads(first[6:])
    finish["choices"][0].update(delta={}, finish_reason="stop")
    finish["x_groq"] = {"id": "req_x", "usage": {"prompt_tokens": 5, "completion_tokens": 2,
                                                 "total_tokens": 7, "queue_time": 0.1}}
    rec = {**rec, "request": {**rec["request"], "body": {
        **rec["request"]["body"], "stream_options": {"include_usage": True}}},
        "response": {**rec["response"], "sse": first + "\n\ndata: " + json.dumps(finish)
                     + "\n\ndata: [DONE]\n\n"}}
    chunks, error = translate("groq", rec, 5)
    assert error is None
    assert [c.choices[0].finish_reason for c in chunks if c.choices] == [None, "stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 7
