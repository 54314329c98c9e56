"""Anthropic Messages emulator (``POST /v1/messages``).

Shapes follow shared/recorded/anthropic: ``message`` bodies with the full usage block, named-event
SSE with a ``ping`` after the first block starts, cumulative usage in ``message_delta``, and the
``{"type": "error", ...}`` envelope with ``request_id``. Header checks, validation messages and
the mid-stream ``error`` event are the real API's wording. Models that do not start with
``claude-`` (or that start with ``claude-missing``) answer 404 ``model: <name>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from fnmatch import fnmatchcase
from typing import Any, Iterator

from .generation import count_tokens, example_for, reply_text, truncate, words
from .server import Exchange, JSONReply, Reply, SSEReply, error_body, route, sse

CONTEXT_WINDOW = 200_000
ALIASES = {
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-3-opus-latest": "claude-3-opus-20240229",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
}
# Models that refuse temperature together with top_p (Opus 4.1, the 4.5 models and later).
ONE_SAMPLER = ("claude-opus-4-1*", "claude-*-4-5*", "claude-*-4-6*", "claude-*-4-7*")

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}
ERROR_MESSAGES = {500: "Internal server error", 529: "Overloaded", 401: "invalid x-api-key",
                  403: "Your API key does not have permission to use the specified resource.",
                  429: "Number of request tokens has exceeded your per-minute rate limit"}


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def request_id(*parts: Any) -> str:
    return "req_011C" + digest("request", *parts)[:20]


@error_body("anthropic")
def anthropic_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    rid = request_id(status, message)
    body = {"type": "error", "error": {"type": kind, "message": ERROR_MESSAGES.get(status, message)},
            "request_id": rid}
    headers = {"request-id": rid}
    if status == 429:
        headers["retry-after"] = "1"
    return body, headers


def refuse(status: int, message: str) -> JSONReply:
    """The error reply with exactly ``message`` (scripted faults get the generic wording)."""
    body, headers = anthropic_error(status, message)
    body["error"]["message"] = message
    return JSONReply(status, body, headers)


def invalid(message: str) -> JSONReply:
    return refuse(400, message)


def blocks_of(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def text_of(content: Any) -> str:
    parts = []
    for block in blocks_of(content):
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(text_of(block.get("content") or ""))
    return " ".join(parts)


def check_request(ex: Exchange) -> Reply | None:
    """Header and body checks in the order the API makes them, with its messages."""
    if not ex.headers.get("x-api-key") and not ex.headers.get("authorization"):
        return refuse(401, "x-api-key header is required")
    key = ex.headers.get("x-api-key") or ex.headers.get("authorization", "").removeprefix("Bearer ")
    if key != ex.api_key:
        return refuse(401, "invalid x-api-key")
    if not ex.headers.get("anthropic-version"):
        return invalid("anthropic-version: header is required")
    body = ex.body
    if not isinstance(body, dict):
        return invalid("There was an error parsing the body of your request: not a JSON object")
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            return invalid(f"{field}: Field required")
    model = str(body["model"])
    if not model.startswith("claude-") or model.startswith("claude-missing"):
        return refuse(404, f"model: {model}")
    return check_body(body, model)


def check_body(body: dict[str, Any], model: str) -> Reply | None:
    if not body["messages"]:
        return invalid("messages: at least one message is required")
    if "temperature" in body and "top_p" in body and any(fnmatchcase(model, p) for p in ONE_SAMPLER):
        return invalid("`temperature` and `top_p` cannot both be specified for this model. "
                       "Please use only one.")
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens") or 0
        if budget < 1024:
            return invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if body["max_tokens"] <= budget:
            return invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
        if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
            return invalid("Thinking may not be enabled when tool_choice forces tool use.")
    messages = body["messages"]
    for i, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        problem = check_blocks(messages, i)
        if problem:
            return invalid(problem)
    prompt_tokens = input_tokens(body)
    if prompt_tokens > CONTEXT_WINDOW:
        return invalid(f"prompt is too long: {prompt_tokens} tokens > {CONTEXT_WINDOW} maximum")
    return None


def check_blocks(messages: list[dict[str, Any]], i: int) -> str | None:
    """Block-level rules: non-empty text, signed thinking, tool_use/tool_result pairing."""
    message = messages[i]
    blocks = blocks_of(message.get("content"))
    for j, block in enumerate(blocks):
        if block.get("type") == "text" and not block.get("text"):
            return "messages: text content blocks must be non-empty"
        if block.get("type") == "thinking" and not block.get("signature"):
            return f"messages.{i}.content.{j}.thinking.signature: Field required"
    if message["role"] == "user":
        previous = blocks_of(messages[i - 1].get("content")) if i else []
        asked = {b.get("id") for b in previous if b.get("type") == "tool_use"}
        for j, block in enumerate(blocks):
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in asked:
                return (f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                        f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a "
                        "corresponding `tool_use` block in the previous message.")
    elif i + 1 < len(messages):
        following = blocks_of(messages[i + 1].get("content"))
        answered = {b.get("tool_use_id") for b in following if b.get("type") == "tool_result"}
        missing = [b.get("id") for b in blocks if b.get("type") == "tool_use" and b.get("id") not in answered]
        if missing:
            return (f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(map(str, missing))}. Each `tool_use` block must "
                    "have a corresponding `tool_result` block in the next message.")
    return None


def input_tokens(body: dict[str, Any]) -> int:
    system = body.get("system") or ""
    text = system if isinstance(system, str) else text_of(system)
    return count_tokens(text) + sum(count_tokens(text_of(m.get("content"))) for m in body["messages"]) + 3


def chosen_tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The tools the model calls and whether it says something first (only under ``auto``)."""
    tools = [t for t in body.get("tools") or [] if "input_schema" in t]
    last = blocks_of(body["messages"][-1].get("content"))
    if not tools or any(b.get("type") == "tool_result" for b in last):
        return [], False
    choice = body.get("tool_choice") or {"type": "auto"}
    if choice.get("type") == "none":
        return [], False
    if choice.get("type") == "tool":
        return [t for t in tools if t["name"] == choice.get("name")][:1] or tools[:1], False
    if choice.get("type") == "any":
        return tools[:1], False
    parallel = not choice.get("disable_parallel_tool_use")
    return tools[: 2 if parallel else 1], True


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The deterministic Message for a request (content blocks, stop reason, usage)."""
    messages = body["messages"]
    prompt = next((text_of(m.get("content")) for m in reversed(messages) if m["role"] == "user"), "")
    content: list[dict[str, Any]] = []
    thinking = body.get("thinking") or {}
    if thinking.get("type") in ("enabled", "adaptive"):
        thought = f"The user said: {' '.join(prompt.split()[:12])}. A short answer fits."
        signature = base64.b64encode(hashlib.sha256(thought.encode()).digest() * 4).decode()
        content.append({"type": "thinking", "thinking": thought, "signature": signature})
    tools, preamble = chosen_tools(body)
    stop_reason, stop_sequence = "end_turn", None
    if tools:
        if preamble:
            content.append({"type": "text", "text": f"I'll use {tools[0]['name']} for this."})
        for n, tool in enumerate(tools):
            content.append({"type": "tool_use", "id": "toolu_01" + digest(prompt, tool["name"], n)[:22],
                            "name": tool["name"], "input": example_for(tool["input_schema"])})
        stop_reason = "tool_use"
    else:
        schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
        text = json.dumps(example_for(schema)) if schema is not None else reply_text(prompt)
        text, cut = truncate(text, body["max_tokens"])
        for stop in body.get("stop_sequences") or []:
            if stop and stop in text:
                text, stop_reason, stop_sequence, cut = text[: text.index(stop)], "stop_sequence", stop, False
        if cut:
            stop_reason = "max_tokens"
        content.append({"type": "text", "text": text})
    output = sum(count_tokens(b.get("text") or b.get("thinking") or json.dumps(b.get("input")))
                 for b in content)
    model = str(body["model"])
    return {
        "id": "msg_01" + digest(messages, model)[:22],
        "type": "message",
        "role": "assistant",
        "model": ALIASES.get(model, model),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage(input_tokens(body), max(output, 1)),
    }


def usage(prompt: int, output: int) -> dict[str, Any]:
    return {"input_tokens": prompt, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output, "service_tier": "standard"}


def stream_events(message: dict[str, Any]) -> Iterator[str]:
    """The named events of a streamed answer, in the API's order."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "stop_details": None, "usage": {**message["usage"], "output_tokens": 1}}
    yield sse({"type": "message_start", "message": start}, "message_start")
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "tool_use":
            opened = {**block, "input": {}}
        elif kind == "thinking":
            opened = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            opened = {"type": "text", "text": ""}
        yield sse({"type": "content_block_start", "index": index, "content_block": opened},
                  "content_block_start")
        if index == 0:
            yield sse({"type": "ping"}, "ping")
        for delta in block_deltas(block):
            yield sse({"type": "content_block_delta", "index": index, "delta": delta},
                      "content_block_delta")
        yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
    final = {k: v for k, v in message["usage"].items() if k not in ("cache_creation", "service_tier")}
    yield sse({"type": "message_delta",
               "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"],
                         "stop_details": None},
               "usage": final}, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


def block_deltas(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if block["type"] == "text":
        for piece in words(block["text"]):
            yield {"type": "text_delta", "text": piece}
    elif block["type"] == "thinking":
        for piece in words(block["thinking"]):
            yield {"type": "thinking_delta", "thinking": piece}
        yield {"type": "signature_delta", "signature": block["signature"]}
    elif block["type"] == "tool_use":
        arguments = json.dumps(block["input"])
        yield {"type": "input_json_delta", "partial_json": ""}
        for start in range(0, len(arguments), 10):
            yield {"type": "input_json_delta", "partial_json": arguments[start:start + 10]}


def rate_limit_headers(rid: str) -> dict[str, str]:
    headers = {"request-id": rid}
    for kind, limit in (("requests", "4000"), ("tokens", "400000"),
                        ("input-tokens", "400000"), ("output-tokens", "80000")):
        headers[f"anthropic-ratelimit-{kind}-limit"] = limit
        headers[f"anthropic-ratelimit-{kind}-remaining"] = limit
        headers[f"anthropic-ratelimit-{kind}-reset"] = "2026-01-01T00:00:00Z"
    return headers


@route("anthropic", "POST", r"/v1/messages")
def messages(ex: Exchange) -> Reply:
    refused = check_request(ex)
    if refused is not None:
        return refused
    message = answer(ex.body)
    headers = rate_limit_headers(request_id(message["id"]))
    if not ex.body.get("stream"):
        return JSONReply(200, message, headers)
    events = list(stream_events(message))
    fault = ex.emulator.take_fault("anthropic", ex.path, ("stream_error",))
    if fault is not None:
        kind = ERROR_TYPES.get(fault.status, "api_error")
        text = ERROR_MESSAGES.get(fault.status, "Internal server error")
        events = [*events[:4], sse({"type": "error", "error": {"type": kind, "message": text}}, "error")]
    return SSEReply(events, headers)
