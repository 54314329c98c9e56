"""Every recorded Anthropic interaction (tests/recorded/anthropic) replayed through our parsers.

Responses go through ``parse_response``, raw SSE through the stream translator and then
``stream_chunk_builder``, error bodies through ``parse_error``; each result is checked against
values computed independently from the native body. Recorded requests are also rebuilt: the
conversation is rewritten in OpenAI form and must translate back to what was sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.config import ProviderSettings
from llmrelay.providers.anthropic import ADAPTER
from llmrelay.providers.base import CallContext
from llmrelay.streaming import SSEDecoder
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.conftest import load, recorded

FILES = recorded("anthropic")
FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}


def ctx_for(model: str, **request: Any) -> CallContext:
    settings = ProviderSettings(api_key="sk-ant-test", base_url="https://api.anthropic.com")
    return CallContext("anthropic", model, {"model": model, "messages": [], **request}, settings)  # type: ignore[typeddict-item]


def native_usage(usage: dict[str, Any]) -> tuple[int, int, int]:
    prompt = (usage.get("input_tokens", 0) + usage.get("cache_creation_input_tokens", 0)
              + usage.get("cache_read_input_tokens", 0))
    return prompt, usage["output_tokens"], usage.get("cache_read_input_tokens", 0)


def sse_events(raw: str) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    events = decoder.feed(raw.encode()) + decoder.flush()
    return [json.loads(e.data) for e in events if e.data]


def test_every_file_is_covered() -> None:
    assert len(FILES) == 13
    kinds = {"body" if "body" in load(f)["response"] else "sse" for f in FILES}
    assert kinds == {"body", "sse"}


@pytest.mark.parametrize("path", [f for f in FILES if load(f)["response"]["status"] == 200
                                  and "body" in load(f)["response"]], ids=lambda p: p.stem)
def test_recorded_response(path: Path) -> None:
    rec = load(path)
    body = rec["response"]["body"]
    result = ADAPTER.parse_response(body, ctx_for(rec["request"]["body"]["model"]))
    assert isinstance(result, ModelResponse)
    blocks = body["content"]
    texts = [b["text"] for b in blocks if b["type"] == "text"]
    uses = [b for b in blocks if b["type"] == "tool_use"]
    thinking = [b for b in blocks if b["type"] in ("thinking", "redacted_thinking")]
    message = result.choices[0].message
    assert result.id == body["id"] and result.model == body["model"]
    assert message.content == "".join(texts)
    assert result.choices[0].finish_reason == FINISH[body["stop_reason"]]
    if uses:
        assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] \
            == [(u["id"], u["name"], u["input"]) for u in uses]
    else:
        assert message.tool_calls is None
    if thinking:
        assert message.thinking_blocks == [{k: v for k, v in b.items()} for b in thinking]  # type: ignore[attr-defined]
        assert message.reasoning_content == "".join(b.get("thinking", "") for b in thinking)  # type: ignore[attr-defined]
    prompt, completion, cached = native_usage(body["usage"])
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) \
        == (prompt, completion, prompt + completion)
    assert result.usage.prompt_tokens_details is not None
    assert result.usage.prompt_tokens_details.cached_tokens == cached
    assert result.model_dump()["object"] == "chat.completion"


def test_cache_read_usage_in_numbers() -> None:
    body = load(next(f for f in FILES if f.stem == "usage_cache_read"))["response"]["body"]
    usage = ADAPTER.parse_response(body, ctx_for("claude-sonnet-4-5")).usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens, usage.completion_tokens) == (1532, 1111, 33)


@pytest.mark.parametrize("path", [f for f in FILES if load(f)["response"]["status"] >= 400], ids=lambda p: p.stem)
def test_recorded_error(path: Path) -> None:
    rec = load(path)
    response = rec["response"]
    error = ADAPTER.parse_error(response["status"], response["body"], response["headers"],
                                ctx_for(rec["request"]["body"]["model"]))
    expected = {400: llmrelay.BadRequestError, 404: llmrelay.NotFoundError}[response["status"]]
    assert type(error) is expected
    assert error.message == response["body"]["error"]["message"]
    assert error.code == response["body"]["error"]["type"]
    assert error.request_id == response["body"]["request_id"]


@pytest.mark.parametrize("path", [f for f in FILES if "sse" in load(f)["response"]], ids=lambda p: p.stem)
@pytest.mark.parametrize("include_usage", [False, True])
def test_recorded_stream(path: Path, include_usage: bool) -> None:
    rec = load(path)
    raw = rec["response"]["sse"]
    request = rec["request"]["body"]
    ctx = ctx_for(request["model"], stream=True, stream_options={"include_usage": include_usage},
                  **({"tools": [{"type": "function", "function": {"name": t["name"]}} for t in request["tools"]]}
                     if request.get("tools") else {}))
    translator = ADAPTER.stream_translator(ctx)
    decoder = SSEDecoder()
    chunks: list[ModelResponseChunk] = []
    data = raw.encode()
    for start in range(0, len(data), 31):
        for event in decoder.feed(data[start:start + 31]):
            chunks += translator.feed(event)
    for event in decoder.flush():
        chunks += translator.feed(event)
    chunks += translator.finish()
    events = sse_events(raw)
    start_message = events[0]["message"]
    final = [e for e in events if e["type"] == "message_delta"][-1]
    built = llmrelay.stream_chunk_builder(chunks)
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    thinking = "".join(e["delta"].get("thinking", "") for e in events if e["type"] == "content_block_delta")
    tools = [e["content_block"] for e in events
             if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"]
    message = built.choices[0].message
    assert built.id == start_message["id"] and built.model == start_message["model"]
    assert (message.content or "") == text
    assert (getattr(message, "reasoning_content", None) or "") == thinking
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] \
        == [(t["id"], t["name"], {}) for t in tools]
    assert built.choices[0].finish_reason == FINISH[final["delta"]["stop_reason"]]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert sum(1 for c in chunks if c.choices and c.choices[0].finish_reason) == 1
    usage_chunks = [c for c in chunks if not c.choices]
    if include_usage:
        assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1]
        usage = {**start_message["usage"], **final["usage"]}
        prompt, completion, cached = native_usage(usage)
        assert built.usage is not None
        assert (built.usage.prompt_tokens, built.usage.completion_tokens) == (prompt, completion)
        assert built.usage.prompt_tokens_details is not None
        assert built.usage.prompt_tokens_details.cached_tokens == cached
    else:
        assert usage_chunks == [] and built.usage is None


def test_recorded_thinking_stream_keeps_the_signature() -> None:
    rec = load(next(f for f in FILES if f.stem == "stream_thinking"))
    events = sse_events(rec["response"]["sse"])
    signature = next(e["delta"]["signature"] for e in events
                     if e["type"] == "content_block_delta" and e["delta"]["type"] == "signature_delta")
    decoder = SSEDecoder()
    translator = ADAPTER.stream_translator(ctx_for("claude-haiku-4-5", stream=True))
    chunks = [c for e in decoder.feed(rec["response"]["sse"].encode()) + decoder.flush()
              for c in translator.feed(e)]
    blocks = [b for c in chunks if c.choices for b in getattr(c.choices[0].delta, "thinking_blocks", None) or []]
    assert len(blocks) == 1 and blocks[0]["signature"] == signature


# ---- requests: the recorded conversation, rewritten in OpenAI form, must translate back


def to_openai(body: dict[str, Any]) -> list[dict[str, Any]]:
    """An independent inverse of our translation, for recorded (valid) Anthropic bodies."""
    out: list[dict[str, Any]] = []
    if body.get("system"):
        out.append({"role": "system", "content": body["system"]})
    for turn in body["messages"]:
        blocks = [{"type": "text", "text": turn["content"]}] if isinstance(turn["content"], str) else turn["content"]
        if turn["role"] == "user":
            for b in blocks:
                if b["type"] == "tool_result":
                    out.append({"role": "tool", "tool_call_id": b["tool_use_id"], "content": b["content"]})
            texts = [{"type": "text", "text": b["text"]} for b in blocks if b["type"] == "text"]
            if texts:
                out.append({"role": "user", "content": texts})
            continue
        message: dict[str, Any] = {"role": "assistant",
                                   "content": "".join(b["text"] for b in blocks if b["type"] == "text") or None}
        calls = [{"id": b["id"], "type": "function",
                  "function": {"name": b["name"], "arguments": json.dumps(b["input"])}}
                 for b in blocks if b["type"] == "tool_use"]
        if calls:
            message["tool_calls"] = calls
        thinking = [b for b in blocks if b["type"] in ("thinking", "redacted_thinking")]
        if thinking:
            message["thinking_blocks"] = thinking
        out.append(message)
    return out


def normal(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Strings as text blocks, keys sorted, ``is_error: false`` (the default) left out."""
    result = []
    for turn in turns:
        blocks = [{"type": "text", "text": turn["content"]}] if isinstance(turn["content"], str) else turn["content"]
        result.append({"role": turn["role"], "content": [
            {k: v for k, v in sorted(b.items()) if not (k == "is_error" and v is False)} for b in blocks]})
    return result


@pytest.mark.parametrize("path", [f for f in FILES if len(load(f)["request"]["body"]["messages"]) > 1
                                  or load(f)["request"]["body"].get("system")], ids=lambda p: p.stem)
def test_recorded_request_rebuilt(path: Path) -> None:
    body = load(path)["request"]["body"]
    request: dict[str, Any] = {"model": body["model"], "messages": to_openai(body)}
    if body.get("tools"):
        request["tools"] = [{"type": "function", "function": {
            "name": t["name"], "description": t.get("description"), "parameters": t["input_schema"]}}
            for t in body["tools"]]
    settings = ProviderSettings(api_key="sk-ant-test", base_url="https://api.anthropic.com")
    built = ADAPTER.build_request(request, settings).json  # type: ignore[arg-type]
    assert normal(built["messages"]) == normal(body["messages"])
    assert built.get("system") == body.get("system")
    for ours, theirs in zip(built.get("tools", []), body.get("tools", [])):
        assert ours["input_schema"] == theirs["input_schema"] and ours["name"] == theirs["name"]
        assert ours.get("description", "") == theirs.get("description", "")
