"""Cohere v2 chat responses -> ``ModelResponse`` (shapes: https://docs.cohere.com/reference/chat).

Text parts are joined into ``content``; ``thinking`` parts and the ``tool_plan`` become
``reasoning_content``; tool calls already have OpenAI's shape. Usage counts ``usage.tokens``
(what the model processed); ``billed_units`` rides along as an extra.
"""

from __future__ import annotations

import json
from typing import Any

from ...exceptions import APIError
from ...types import ModelResponse, Usage, response_of
from ..base import CallContext
from .errors import generation_error
from .request import uses_functions

FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}
FAILED = ("ERROR", "TIMEOUT")


def finish_reason(raw: Any, *, legacy: bool, detail: Any = None, response: Any = None) -> str:
    """OpenAI's finish reason; a failed or timed-out generation raises instead."""
    if raw in FAILED:
        raise generation_error(raw, detail, response)
    reason = FINISH_REASONS.get(raw, "stop")
    return "function_call" if legacy and reason == "tool_calls" else reason


def usage_of(usage: Any) -> Usage | None:
    """``usage.tokens`` counts, ``cached_tokens`` as cached prompt tokens, billed units kept."""
    if not isinstance(usage, dict):
        return None
    billed = usage.get("billed_units")
    tokens = usage.get("tokens") or billed or {}
    cached = usage.get("cached_tokens")
    return Usage.of(
        int(tokens.get("input_tokens") or 0),
        int(tokens.get("output_tokens") or 0),
        cached_tokens=None if cached is None else int(cached),
        **({"billed_units": billed} if billed else {}),
    )


def openai_logprobs(items: Any) -> dict[str, Any] | None:
    """Cohere's per-chunk logprobs as OpenAI ``logprobs.content`` entries.

    Cohere scores text chunks that may span several tokens; a chunk's logprob is the sum of
    its tokens' logprobs (the log-probability of the whole chunk).
    """
    if not items:
        return None
    entries = []
    for item in items if isinstance(items, list) else [items]:
        text = item.get("text") or ""
        entries.append({"token": text, "logprob": float(sum(item.get("logprobs") or [])),
                        "bytes": list(text.encode()), "top_logprobs": []})
    return {"content": entries}


def arguments_text(arguments: Any) -> str:
    """Tool arguments as the JSON string OpenAI promises, whatever Cohere sent."""
    if arguments is None:
        return "{}"
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def reasoning_of(content: list[Any], tool_plan: Any) -> str | None:
    pieces = [p.get("thinking") or "" for p in content if p.get("type") == "thinking"]
    if tool_plan:
        pieces.append(tool_plan)
    return "\n\n".join(p for p in pieces if p) or None


def assistant_message(message: dict[str, Any], *, legacy: bool) -> dict[str, Any]:
    content = message.get("content") or []
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    texts = [p.get("text") or "" for p in content if p.get("type") == "text"]
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    reasoning = reasoning_of(content, message.get("tool_plan"))
    if reasoning:
        out["reasoning_content"] = reasoning
    calls = [
        {"id": call["id"], "type": "function",
         "function": {"name": call["function"]["name"],
                      "arguments": arguments_text(call["function"].get("arguments"))}}
        for call in message.get("tool_calls") or []
    ]
    if calls and legacy:
        out["function_call"] = calls[0]["function"]
    elif calls:
        out["tool_calls"] = calls
    if message.get("citations"):
        out["citations"] = message["citations"]
    return out


def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
    """A ``/v2/chat`` answer -> ``chat.completion``."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        detail = body.get("message") if isinstance(body, dict) else None
        raise APIError("cohere returned a response without a message object"
                       + (f": {detail}" if isinstance(detail, str) else ""), response=body)
    legacy = uses_functions(ctx.request)
    message = assistant_message(body["message"], legacy=legacy)
    finish = finish_reason(body.get("finish_reason"), legacy=legacy, response=body)
    if finish == "stop" and (message.get("tool_calls") or message.get("function_call")):
        finish = "function_call" if legacy else "tool_calls"
    return response_of({
        "id": body.get("id") or "",
        "model": ctx.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish,
                     "logprobs": openai_logprobs(body.get("logprobs"))}],
        "usage": usage_of(body.get("usage")),
    })
