"""Converse response -> OpenAI ``chat.completion``.

The body has no id and no model: the id is minted (``chatcmpl-...``; the request id is in
``x-amzn-RequestId``) and the model is the one asked for. Reasoning is exposed as
``message.reasoning_content``, and the blocks, signatures included, as ``message.thinking_blocks``
in Anthropic's shape, so an assistant message sent back replays them unchanged.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ...exceptions import APIError
from ...types import ModelResponse, response_of
from ..base import CallContext
from .request import JSON_TOOL, json_tool_wanted

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    # The model produced no valid answer or tool call: there is nothing to call.
    "malformed_model_output": "stop",
    "malformed_tool_use": "stop",
}


def mint_id() -> str:
    return "chatcmpl-" + os.urandom(12).hex()


def finish_reason(stop_reason: Any, *, legacy: bool, json_tool: bool) -> str:
    reason = FINISH_REASONS.get(stop_reason, "stop")
    if reason == "tool_calls" and json_tool:
        return "stop"
    if reason == "tool_calls" and legacy:
        return "function_call"
    return reason


def is_legacy(ctx: CallContext) -> bool:
    """The request used ``functions``: tool calls come back as ``function_call``."""
    return bool(ctx.request.get("functions")) and not ctx.request.get("tools")


def usage_fields(usage: Any) -> dict[str, Any]:
    """Converse ``TokenUsage`` -> OpenAI usage fields. ``inputTokens`` leaves out cached input;
    OpenAI's ``prompt_tokens`` includes it. Cache reads and writes also keep Anthropic's names,
    which price cache writes apart."""
    usage = usage if isinstance(usage, dict) else {}
    fresh = int(usage.get("inputTokens") or 0)
    read = int(usage.get("cacheReadInputTokens") or 0)
    written = int(usage.get("cacheWriteInputTokens") or 0)
    output = int(usage.get("outputTokens") or 0)
    prompt = fresh + read + written
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": int(usage.get("totalTokens") or prompt + output),
        "prompt_tokens_details": {"cached_tokens": read},
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
    }


def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
    message = ((body.get("output") or {}).get("message") if isinstance(body, dict) else None)
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise APIError("bedrock returned a body that is not a Converse response", response=body)
    legacy, json_tool = is_legacy(ctx), json_tool_wanted(ctx.request)
    texts: list[str] = []
    reasoning: list[str] = []
    blocks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    answered_json = False
    for block in message["content"]:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = json.dumps(use.get("input") or {})
            if json_tool and use.get("name") == JSON_TOOL:
                texts.append(arguments)
                answered_json = True
            else:
                calls.append({"id": use["toolUseId"], "type": "function",
                              "function": {"name": use["name"], "arguments": arguments}})
        elif "reasoningContent" in block:
            content = block["reasoningContent"]
            if "reasoningText" in content:
                text = content["reasoningText"].get("text") or ""
                reasoning.append(text)
                blocks.append({"type": "thinking", "thinking": text,
                               "signature": content["reasoningText"].get("signature") or ""})
            elif "redactedContent" in content:
                blocks.append({"type": "redacted_thinking", "data": content["redactedContent"]})
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls and legacy:
        out["function_call"] = calls[0]["function"]
    elif calls:
        out["tool_calls"] = calls
    if blocks:
        out["reasoning_content"] = "".join(reasoning)
        out["thinking_blocks"] = blocks
    finish = finish_reason(body.get("stopReason"), legacy=legacy,
                           json_tool=answered_json and not calls)
    response: dict[str, Any] = {
        "id": mint_id(),
        "model": ctx.model,
        "choices": [{"index": 0, "message": out, "finish_reason": finish}],
        "usage": usage_fields(body.get("usage")),
    }
    if body.get("additionalModelResponseFields") is not None:
        response["additional_model_response_fields"] = body["additionalModelResponseFields"]
    return response_of(response)
