"""Anthropic Message -> OpenAI ``chat.completion`` (https://docs.claude.com/en/api/messages).

Thinking is exposed as ``message.reasoning_content``; the blocks themselves, signatures
included, ride along as ``message.thinking_blocks`` so a caller can send the assistant message
back unchanged (the API requires them when thinking is combined with tools).
"""

from __future__ import annotations

import json
from typing import Any

from ...exceptions import APIError
from ...types import ModelResponse, response_of
from ..base import CallContext
from .errors import stream_error
from .request import JSON_TOOL, json_mode

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: Any, *, legacy: bool, json_tool: bool) -> str | None:
    if stop_reason is None:
        return None
    reason = FINISH_REASONS.get(stop_reason, "stop")
    if reason == "tool_calls" and json_tool:
        return "stop"
    if reason == "tool_calls" and legacy:
        return "function_call"
    return reason


def is_legacy(ctx: CallContext) -> bool:
    """The request used ``functions``: tool calls come back as ``function_call``."""
    return bool(ctx.request.get("functions")) and not ctx.request.get("tools")


def uses_json_tool(ctx: CallContext) -> bool:
    return json_mode(ctx.request) == "tool"


def usage_fields(usage: Any) -> dict[str, Any]:
    """Anthropic usage -> OpenAI usage fields. Anthropic counts cached input apart; OpenAI's
    ``prompt_tokens`` includes it (a plain dict: validated once, with the response)."""
    usage = usage if isinstance(usage, dict) else {}
    fresh = int(usage.get("input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    read = int(usage.get("cache_read_input_tokens") or 0)
    output = int(usage.get("output_tokens") or 0)
    fields: dict[str, Any] = {
        "prompt_tokens": fresh + written + read,
        "completion_tokens": output,
        "total_tokens": fresh + written + read + output,
        "prompt_tokens_details": {"cached_tokens": read},
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
    }
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        fields["completion_tokens_details"] = {"reasoning_tokens": details["thinking_tokens"]}
    return fields


def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
    if isinstance(body, dict) and body.get("type") == "error":
        raise stream_error(body, ctx)  # an error envelope under a 2xx status
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise APIError("anthropic returned a body that is not a Message", response=body)
    legacy, json_tool = is_legacy(ctx), uses_json_tool(ctx)
    texts: list[str] = []
    thinking: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    answered_json = False
    for block in body["content"]:
        kind = block.get("type")
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use" and json_tool and block.get("name") == JSON_TOOL:
            texts.append(json.dumps(block.get("input") or {}))
            answered_json = True
        elif kind == "tool_use":
            calls.append({"id": block["id"], "type": "function",
                          "function": {"name": block["name"],
                                       "arguments": json.dumps(block.get("input") or {})}})
        elif kind == "thinking":
            thinking.append(block.get("thinking") or "")
            thinking_blocks.append({"type": "thinking", "thinking": block.get("thinking") or "",
                                    "signature": block.get("signature") or ""})
        elif kind == "redacted_thinking":
            thinking_blocks.append({"type": "redacted_thinking", "data": block.get("data") or ""})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls and legacy:
        message["function_call"] = calls[0]["function"]
    elif calls:
        message["tool_calls"] = calls
    if thinking_blocks:
        message["reasoning_content"] = "".join(thinking)
        message["thinking_blocks"] = thinking_blocks
    finish = finish_reason(body.get("stop_reason"), legacy=legacy,
                           json_tool=answered_json and not calls)
    return response_of({
        "id": body["id"],
        "model": body.get("model") or ctx.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish or "stop"}],
        "usage": usage_fields(body.get("usage")),
    })
