"""Every recorded Bedrock chat interaction (tests/recorded/bedrock) replayed through our code.

Converse bodies go through ``parse_response``; ConverseStream bodies (``body_base64``, the exact
bytes) through the real event-stream decoder at odd chunk boundaries, compared with the
recording's ``eventstream_decoded``, then through the translator and ``stream_chunk_builder``;
error bodies through ``parse_error``. Each result is checked against values computed from the
native body. Each recorded request is rewritten in OpenAI form and must translate back to what
was sent (the recorder's empty ``inferenceConfig``/``system`` and toolResult ``status`` aside:
we leave those out). The ``embed_*`` recordings belong to the embeddings tests.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.call import prepare
from llmrelay.eventstream import EventStreamDecoder
from llmrelay.providers.bedrock import ADAPTER
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.conftest import chat_recordings, load

FILES = chat_recordings("bedrock")
FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
MIME = {"txt": "text/plain", "pdf": "application/pdf", "csv": "text/csv"}


def model_of(rec: dict[str, Any]) -> str:
    from urllib.parse import unquote

    return unquote(rec["request"]["path"].split("/")[2])


def parts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Converse user blocks -> OpenAI content parts (a cachePoint marks the part before it)."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if "text" in block:
            out.append({"type": "text", "text": block["text"]})
        elif "document" in block:
            doc = block["document"]
            out.append({"type": "file", "file": {
                "file_data": f"data:{MIME[doc['format']]};base64,{doc['source']['bytes']}",
                "filename": f"{doc['name']}.{doc['format']}"}})
        elif "cachePoint" in block:
            out[-1]["cache_control"] = {"type": "ephemeral"}
        else:
            raise AssertionError(f"no OpenAI form for {block}")
    return out


def openai_call(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A recorded Converse body rewritten as the OpenAI call that means the same."""
    messages: list[dict[str, Any]] = []
    for block in body.get("system") or []:
        if "cachePoint" in block:
            messages[-1]["cache_control"] = {"type": "ephemeral"}
        else:
            messages.append({"role": "system", "content": block["text"]})
    for message in body["messages"]:
        blocks = message["content"]
        if message["role"] == "assistant":
            calls = [{"id": b["toolUse"]["toolUseId"], "type": "function", "function": {
                "name": b["toolUse"]["name"], "arguments": json.dumps(b["toolUse"]["input"])}}
                for b in blocks if "toolUse" in b]
            text = "".join(b.get("text", "") for b in blocks)
            messages.append({"role": "assistant", "content": text or None, "tool_calls": calls})
            continue
        for b in blocks:
            if "toolResult" in b:
                result = b["toolResult"]
                messages.append({"role": "tool", "tool_call_id": result["toolUseId"],
                                 "content": "".join(c["text"] for c in result["content"])})
        rest = [b for b in blocks if "toolResult" not in b]
        if rest:
            messages.append({"role": "user", "content": parts(rest)})
    params: dict[str, Any] = {}
    config = body.get("inferenceConfig") or {}
    for ours, theirs in (("max_tokens", "maxTokens"), ("temperature", "temperature"),
                         ("top_p", "topP"), ("stop", "stopSequences")):
        if theirs in config:
            params[ours] = config[theirs]
    tools = body.get("toolConfig")
    if tools:
        params["tools"] = []
        for tool in tools["tools"]:
            if "cachePoint" in tool:
                params["tools"][-1]["cache_control"] = {"type": "ephemeral"}
                continue
            spec = tool["toolSpec"]
            fn = {"name": spec["name"], "parameters": spec["inputSchema"]["json"]}
            if "description" in spec:
                fn["description"] = spec["description"]
            params["tools"].append({"type": "function", "function": fn})
        choice = tools.get("toolChoice")
        if choice is not None:
            params["tool_choice"] = {"auto": "auto", "any": "required"}[next(iter(choice))]
    params.update(body.get("additionalModelRequestFields") or {})
    return messages, params


def sent_form(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body as llmrelay sends it: no empty fields, no toolResult status."""
    out = {k: v for k, v in body.items() if v not in ({}, [])}
    for message in out["messages"]:
        for block in message["content"]:
            if "toolResult" in block:
                block["toolResult"].pop("status", None)
    return out


def test_every_file_is_covered() -> None:
    assert len(FILES) == 11
    kinds = {"stream" if "body_base64" in load(f)["response"] else load(f)["response"]["status"]
             for f in FILES}
    assert kinds == {"stream", 200, 400}


@pytest.mark.parametrize("path", [f for f in FILES if load(f)["response"]["status"] == 200],
                         ids=lambda p: p.stem)
def test_recorded_request_is_what_we_send(path: Path) -> None:
    rec = load(path)
    body = rec["request"]["body"]
    messages, params = openai_call(body)
    call = prepare(f"bedrock/{model_of(rec)}", messages,
                   {**params, "stream": "converse-stream" in rec["request"]["path"]},
                   api_key="bedrock-key", api_base="https://bedrock-runtime.us-east-1.amazonaws.com",
                   options={}, timeout=None, force_timeout=None, azure=False, logger_fn=None,
                   verbose=False, num_retries=None, drop_params=False, extra_headers=None,
                   extra_body=None)
    assert call.request.json == sent_form(body)
    assert call.request.url.endswith(rec["request"]["path"])


@pytest.mark.parametrize("path", [f for f in FILES if "body" in load(f)["response"]
                                  and load(f)["response"]["status"] == 200], ids=lambda p: p.stem)
def test_recorded_response(path: Path) -> None:
    rec = load(path)
    body = rec["response"]["body"]
    call = prepare(f"bedrock/{model_of(rec)}", [{"role": "user", "content": "x"}], {},
                   api_key="k", api_base="http://x", options={}, timeout=None,
                   force_timeout=None, azure=False, logger_fn=None, verbose=False,
                   num_retries=None, drop_params=False, extra_headers=None, extra_body=None)
    result = ADAPTER.parse_response(body, call.ctx)
    assert isinstance(result, ModelResponse)
    blocks = body["output"]["message"]["content"]
    message = result.choices[0].message
    assert result.model == model_of(rec) and result.id.startswith("chatcmpl-")
    assert message.content == ("".join(b["text"] for b in blocks if "text" in b) or None)
    assert result.choices[0].finish_reason == FINISH[body["stopReason"]]
    uses = [b["toolUse"] for b in blocks if "toolUse" in b]
    assert [(c.id, c.function.name, json.loads(c.function.arguments))
            for c in message.tool_calls or []] == [(u["toolUseId"], u["name"], u["input"]) for u in uses]
    reasoning = [b["reasoningContent"]["reasoningText"] for b in blocks if "reasoningContent" in b]
    if reasoning:
        assert message.reasoning_content == "".join(r["text"] for r in reasoning)  # type: ignore[attr-defined]
        assert [b["signature"] for b in message.thinking_blocks] == [r["signature"] for r in reasoning]  # type: ignore[attr-defined]
    usage = body["usage"]
    read, written = usage.get("cacheReadInputTokens", 0), usage.get("cacheWriteInputTokens", 0)
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) \
        == (usage["inputTokens"] + read + written, usage["outputTokens"], usage["totalTokens"])
    assert result.usage.prompt_tokens_details is not None
    assert result.usage.prompt_tokens_details.cached_tokens == read
    assert result.usage.cache_creation_input_tokens == written  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", [f for f in FILES if "body_base64" in load(f)["response"]],
                         ids=lambda p: p.stem)
@pytest.mark.parametrize("step", [1, 5, 17, 4096])
def test_recorded_stream(path: Path, step: int) -> None:
    rec = load(path)
    data = base64.b64decode(rec["response"]["body_base64"])
    call = prepare(f"bedrock/{model_of(rec)}", [{"role": "user", "content": "x"}],
                   {"stream": True, "stream_options": {"include_usage": True}}, api_key="k",
                   api_base="http://x", options={}, timeout=None, force_timeout=None, azure=False,
                   logger_fn=None, verbose=False, num_retries=None, drop_params=False,
                   extra_headers=None, extra_body=None)
    decoder = call.adapter.stream_decoder()
    assert isinstance(decoder, EventStreamDecoder)
    translator = call.adapter.stream_translator(call.ctx)
    decoded: list[dict[str, Any]] = []
    chunks: list[ModelResponseChunk] = []
    for start in range(0, len(data), step):
        for message in decoder.feed(data[start:start + step]):
            decoded.append({"headers": dict(message.headers), "payload": json.loads(message.payload)})
            chunks += translator.feed(message)
    assert decoder.flush() == [] and translator.finish() == []
    events = rec["response"]["eventstream_decoded"]
    assert decoded == events
    built = llmrelay.stream_chunk_builder(chunks)
    payloads = [(e["headers"][":event-type"], e["payload"]) for e in events]
    deltas = [p["delta"] for kind, p in payloads if kind == "contentBlockDelta"]
    message = built.choices[0].message
    assert message.content == "".join(d["text"] for d in deltas if "text" in d)
    starts = [p["start"]["toolUse"] for kind, p in payloads if kind == "contentBlockStart"]
    inputs = "".join(d["toolUse"]["input"] for d in deltas if "toolUse" in d)
    assert [(c.id, c.function.name) for c in message.tool_calls or []] == \
        [(s["toolUseId"], s["name"]) for s in starts]
    if starts:
        assert json.loads(message.tool_calls[0].function.arguments) == json.loads(inputs)
    thinking = "".join(d["reasoningContent"].get("text", "") for d in deltas if "reasoningContent" in d)
    assert getattr(message, "reasoning_content", None) == (thinking or None)
    stop = next(p["stopReason"] for kind, p in payloads if kind == "messageStop")
    assert built.choices[0].finish_reason == FINISH[stop]
    usage = next(p["usage"] for kind, p in payloads if kind == "metadata")
    assert built.usage is not None
    assert (built.usage.prompt_tokens, built.usage.completion_tokens, built.usage.total_tokens) == \
        (usage["inputTokens"], usage["outputTokens"], usage["totalTokens"])


def test_recorded_error() -> None:
    (path,) = [f for f in FILES if load(f)["response"]["status"] >= 400]
    rec = load(path)["response"]
    call = prepare("bedrock/us.does-not-exist-model-v1:0", [{"role": "user", "content": "x"}], {},
                   api_key="k", api_base="http://x", options={}, timeout=None,
                   force_timeout=None, azure=False, logger_fn=None, verbose=False,
                   num_retries=None, drop_params=False, extra_headers=None, extra_body=None)
    error = ADAPTER.parse_error(rec["status"], rec["body"], rec["headers"], call.ctx)
    assert type(error) is llmrelay.BadRequestError
    assert error.message == "The provided model identifier is invalid."
