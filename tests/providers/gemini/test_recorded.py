"""Every recorded Gemini chat interaction (tests/recorded/gemini) replayed through our parsers.

Responses go through ``parse_response``, raw SSE through Gemini's decoder (split at odd byte
boundaries) and the translator, then ``stream_chunk_builder``; each result is checked against
values computed independently from the native body. Recorded requests are rebuilt: the
conversation is rewritten in OpenAI form and must translate back to what was sent, thought
signatures included. The embedding recordings belong to the embeddings tests.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.config import ProviderSettings
from llmrelay.providers.base import CallContext
from llmrelay.providers.gemini import ADAPTER
from llmrelay.providers.gemini.stream import GeminiStreamDecoder
from llmrelay.streaming import SSEDecoder
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.conftest import chat_recordings, load

FILES = chat_recordings("gemini")
BY_NAME = {f.stem: load(f) for f in FILES}
SETTINGS = ProviderSettings(api_key="AIza-test", base_url="https://generativelanguage.googleapis.com")


def ctx_for(model: str, **request: Any) -> CallContext:
    return CallContext("gemini", model, {"model": model, "messages": [], **request}, SETTINGS)  # type: ignore[typeddict-item]


def model_of(rec: dict[str, Any]) -> str:
    return rec["request"]["path"].split("/models/")[1].split(":")[0]


def expected_finish(candidate: dict[str, Any]) -> str:
    has_call = any("functionCall" in p for p in (candidate.get("content") or {}).get("parts") or [])
    reason = candidate["finishReason"]
    if reason == "STOP":
        return "tool_calls" if has_call else "stop"
    return {"MAX_TOKENS": "length", "SAFETY": "content_filter"}[reason]


def expected_usage(meta: dict[str, Any]) -> tuple[int, int, int, int]:
    thoughts = meta.get("thoughtsTokenCount", 0)
    return (meta["promptTokenCount"], meta.get("candidatesTokenCount", 0) + thoughts,
            meta["totalTokenCount"], thoughts)


def sse_events(raw: str) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [json.loads(e.data) for e in decoder.feed(raw.encode()) + decoder.flush() if e.data]


def test_every_chat_file_is_covered() -> None:
    assert len(FILES) == 11
    kinds = {"body" if "body" in load(f)["response"] else "sse" for f in FILES}
    assert kinds == {"body", "sse"}


@pytest.mark.parametrize("path", [f for f in FILES if "body" in load(f)["response"]], ids=lambda p: p.stem)
def test_recorded_response(path: Path) -> None:
    rec = load(path)
    body = rec["response"]["body"]
    result = ADAPTER.parse_response(body, ctx_for(model_of(rec)))
    assert isinstance(result, ModelResponse)
    assert result.id == body["responseId"] and result.model == body["modelVersion"]
    assert len(result.choices) == len(body["candidates"])
    for choice, candidate in zip(result.choices, body["candidates"]):
        parts = (candidate.get("content") or {}).get("parts") or []
        texts = [p["text"] for p in parts if "text" in p and not p.get("thought")]
        thoughts = [p["text"] for p in parts if p.get("thought")]
        calls = [p["functionCall"] for p in parts if "functionCall" in p]
        message = choice.message
        assert message.content == ("".join(texts) if texts else None)
        assert getattr(message, "reasoning_content", None) == ("".join(thoughts) if thoughts else None)
        assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] \
            == [(c["name"], c["args"]) for c in calls]
        assert all(c.id.startswith("call_") for c in message.tool_calls or [])
        assert choice.finish_reason == expected_finish(candidate)
    usage = result.usage
    assert usage is not None and usage.completion_tokens_details is not None
    prompt, completion, total, thoughts = expected_usage(body["usageMetadata"])
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (prompt, completion, total)
    assert usage.completion_tokens_details.reasoning_tokens == thoughts
    assert result.model_dump()["object"] == "chat.completion"


def test_recorded_numbers() -> None:
    text = ADAPTER.parse_response(BY_NAME["text_system_prompt"]["response"]["body"], ctx_for("gemini-2.5-flash"))
    assert text.usage is not None and text.usage.completion_tokens_details is not None
    assert (text.usage.prompt_tokens, text.usage.completion_tokens, text.usage.total_tokens,
            text.usage.completion_tokens_details.reasoning_tokens) == (9, 43, 52, 34)
    blocked = ADAPTER.parse_response(BY_NAME["finish_safety_blocked"]["response"]["body"], ctx_for("gemini-1.5-flash"))
    assert blocked.choices[0].message.content is None and blocked.choices[0].finish_reason == "content_filter"
    thinking = ADAPTER.parse_response(BY_NAME["thinking_include_thoughts"]["response"]["body"],
                                      ctx_for("gemini-3-pro-preview"))
    assert thinking.choices[0].message.reasoning_content.startswith("**A Safe Street-Crossing Guide")  # type: ignore[attr-defined]
    assert thinking.choices[0].message.content.startswith("Crossing the street safely")
    structured = ADAPTER.parse_response(BY_NAME["structured_output"]["response"]["body"], ctx_for("gemini-2.0-flash"))
    assert json.loads(structured.choices[0].message.content or "") == {"city": "Mexico City", "country": "Mexico"}


def translate(raw: str, ctx: CallContext, step: int) -> list[ModelResponseChunk]:
    translator, decoder, data = ADAPTER.stream_translator(ctx), GeminiStreamDecoder(), raw.encode()
    chunks: list[ModelResponseChunk] = []
    for start in range(0, len(data), step):
        for event in decoder.feed(data[start:start + step]):
            chunks += translator.feed(event)
    for event in decoder.flush():
        chunks += translator.feed(event)
    return chunks + translator.finish()


@pytest.mark.parametrize("step", [1, 13, 31, 1 << 20])
@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("path", [f for f in FILES if "sse" in load(f)["response"]], ids=lambda p: p.stem)
def test_recorded_stream(path: Path, include_usage: bool, step: int) -> None:
    rec = load(path)
    raw = rec["response"]["sse"]
    chunks = translate(raw, ctx_for(model_of(rec), stream=True,
                                    stream_options={"include_usage": include_usage}), step)
    events = sse_events(raw)
    built = llmrelay.stream_chunk_builder(chunks)
    parts = [p for e in events for c in e["candidates"] for p in c["content"].get("parts", [])]
    calls = [p for p in parts if "functionCall" in p]
    message = built.choices[0].message
    assert built.id == events[0]["responseId"] and built.model == events[0]["modelVersion"]
    assert (message.content or "") == "".join(p.get("text", "") for p in parts if not p.get("thought"))
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] \
        == [(p["functionCall"]["name"], p["functionCall"]["args"]) for p in calls]
    for call, part in zip(message.tool_calls or [], calls):
        if "thoughtSignature" in part:
            assert call.id.endswith("__thought__" + part["thoughtSignature"])
    final = events[-1]["candidates"][0]
    assert built.choices[0].finish_reason == expected_finish({**final, "content": {"parts": parts}})
    assert chunks[0].choices[0].delta.role == "assistant"
    assert sum(1 for c in chunks if c.choices and c.choices[0].finish_reason) == 1
    usage_chunks = [c for c in chunks if not c.choices]
    if include_usage:
        assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1] and built.usage is not None
        prompt, completion, total, _ = expected_usage(events[-1]["usageMetadata"])
        assert (built.usage.prompt_tokens, built.usage.completion_tokens, built.usage.total_tokens) \
            == (prompt, completion, total)
    else:
        assert usage_chunks == [] and built.usage is None


def test_streamed_signature_round_trips_into_the_recorded_follow_up() -> None:
    """The tool call streamed by gemini-3-pro-preview, sent back as the OpenAI client would,
    becomes the recorded second request: same call, same signature bytes, the tool's answer."""
    first, second = BY_NAME["stream_tool_call_thought_signature"], BY_NAME["stream_tool_result_text"]
    chunks = translate(first["response"]["sse"], ctx_for("gemini-3-pro-preview", stream=True), 17)
    assistant = llmrelay.stream_chunk_builder(chunks).choices[0].message
    call = (assistant.tool_calls or [])[0]
    sent = second["request"]["body"]
    messages = [{"role": "user", "content": sent["contents"][0]["parts"][0]["text"]},
                assistant.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"return_value": "Mexico"})}]
    tools = [{"type": "function", "function": {"name": d["name"], "description": d["description"],
                                               "parameters": d["parameters_json_schema"]}}
             for d in sent["tools"][0]["functionDeclarations"]]
    body = ADAPTER.build_request({"model": "gemini-3-pro-preview", "messages": messages, "tools": tools},  # type: ignore[typeddict-item]
                                 SETTINGS).json
    ours, theirs = body["contents"], sent["contents"]
    assert [c["role"] for c in ours] == [c["role"] for c in theirs]
    our_call, their_call = ours[1]["parts"][0], theirs[1]["parts"][0]
    assert base64.b64decode(our_call["thoughtSignature"]) == base64.urlsafe_b64decode(their_call["thoughtSignature"])
    assert {k: v for k, v in our_call["functionCall"].items() if k != "id"} == \
        {k: v for k, v in their_call["functionCall"].items() if k != "id"}
    our_answer, their_answer = ours[2]["parts"][0]["functionResponse"], theirs[2]["parts"][0]["functionResponse"]
    assert our_answer["id"] == our_call["functionCall"]["id"]  # matched by id as well as by name
    assert {k: v for k, v in our_answer.items() if k != "id"} == {k: v for k, v in their_answer.items() if k != "id"}
    assert body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == \
        sent["tools"][0]["functionDeclarations"][0]["parameters_json_schema"]


# ---- requests: the recorded conversation, rewritten in OpenAI form, must translate back


def to_openai(body: dict[str, Any]) -> list[dict[str, Any]]:
    """An independent inverse of our translation, for recorded (valid) Gemini bodies."""
    out: list[dict[str, Any]] = []
    system = body.get("systemInstruction")
    if system:
        out.append({"role": "system", "content": "".join(p["text"] for p in system["parts"])})
    for content in body["contents"]:
        parts = content["parts"]
        if content["role"] == "user":
            for p in parts:
                if "functionResponse" in p:
                    fr = p["functionResponse"]
                    out.append({"role": "tool", "tool_call_id": fr["id"], "content": json.dumps(fr["response"])})
            texts = [{"type": "text", "text": p["text"]} for p in parts if "text" in p]
            if texts:
                out.append({"role": "user", "content": texts})
            continue
        calls = [{"id": p["functionCall"]["id"], "type": "function",
                  "function": {"name": p["functionCall"]["name"], "arguments": json.dumps(p["functionCall"]["args"])}}
                 for p in parts if "functionCall" in p]
        out.append({"role": "assistant", "content": "".join(p.get("text", "") for p in parts) or None,
                    **({"tool_calls": calls} if calls else {})})
    return out


def normal(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signatures left out (the recordings spell them url-safe), keys sorted."""
    return [{"role": c["role"], "parts": [{k: v for k, v in sorted(p.items()) if k != "thoughtSignature"}
                                          for p in c["parts"]]} for c in contents]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_recorded_request_rebuilt(path: Path) -> None:
    rec = load(path)
    body, model = rec["request"]["body"], model_of(rec)
    request: dict[str, Any] = {"model": model, "messages": to_openai(body),
                               "stream": rec["request"]["path"].endswith(":streamGenerateContent")}
    config = body.get("generationConfig") or {}
    if "maxOutputTokens" in config:
        request["max_tokens"] = config["maxOutputTokens"]
    if "temperature" in config:
        request["temperature"] = config["temperature"]
    thinking = {k.replace("_b", "B").replace("_t", "T"): v for k, v in (config.get("thinkingConfig") or {}).items()}
    if thinking.get("thinkingBudget") == 0:
        request["reasoning_effort"] = "none"
    if "responseJsonSchema" in config:
        request["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": config["responseJsonSchema"]}}
    if body.get("safetySettings"):
        request["safety_settings"] = body["safetySettings"]
    built = ADAPTER.build_request(request, SETTINGS)  # type: ignore[arg-type]
    ours = built.json
    assert built.url == f"https://generativelanguage.googleapis.com{rec['request']['path']}" + (
        "?alt=sse" if rec["request"]["query"].get("alt") == "sse" else "")
    assert normal(ours["contents"]) == normal(body["contents"])
    if body.get("systemInstruction"):
        assert ours["systemInstruction"]["parts"] == body["systemInstruction"]["parts"]
    our_config = ours.get("generationConfig") or {}
    for key in ("maxOutputTokens", "temperature", "responseMimeType", "responseJsonSchema"):
        assert our_config.get(key) == config.get(key)
    if thinking.get("thinkingBudget") == 0:
        assert our_config["thinkingConfig"] == {"thinkingBudget": 0}
    assert ours.get("safetySettings") == body.get("safetySettings")
