"""A stored answer streamed again: the chunks that streaming it gives, choice by choice.

Each choice opens with the role (and its reasoning), then its content, refusal, tool calls or
function call, then a chunk with the finish reason; a usage chunk ends the stream when the
caller asked for it. ``stream_chunk_builder`` of these chunks is the stored answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..types import ModelResponse, ModelResponseChunk

__all__ = ["replay_chunks"]

_MESSAGE_FIELDS = ("role", "content", "refusal", "tool_calls", "function_call")
_TOP_FIELDS = ("id", "object", "created", "model", "choices", "usage")


def replay_chunks(response: "ModelResponse", include_usage: bool) -> "list[ModelResponseChunk]":
    from ..types import ModelResponseChunk

    body = response.model_dump()
    top = {k: v for k, v in body.items() if k not in _TOP_FIELDS and v is not None}
    head = {"id": body["id"], "created": body["created"], "model": body["model"], **top}
    deltas: list[tuple[int, dict[str, Any], str | None, Any]] = []
    for choice in body["choices"]:
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        extras = {k: v for k, v in message.items() if k not in _MESSAGE_FIELDS and v is not None}
        deltas.append((index, {"role": "assistant", **extras}, None, None))
        if message.get("content") is not None:
            deltas.append((index, {"content": message["content"]}, None, choice.get("logprobs")))
        if message.get("refusal") is not None:
            deltas.append((index, {"refusal": message["refusal"]}, None, None))
        for position, call in enumerate(message.get("tool_calls") or []):
            deltas.append((index, {"tool_calls": [{**call, "index": position}]}, None, None))
        if message.get("function_call") is not None:
            deltas.append((index, {"function_call": message["function_call"]}, None, None))
        deltas.append((index, {}, choice.get("finish_reason"), None))
    validate = ModelResponseChunk.__pydantic_validator__.validate_python
    chunks: list[ModelResponseChunk] = [
        validate({**head, "choices": [{"index": index, "delta": delta,
                                       "finish_reason": finish, "logprobs": logprobs}]})
        for index, delta, finish, logprobs in deltas
    ]
    if include_usage and body.get("usage") is not None:
        chunks.append(validate({**head, "choices": [], "usage": body["usage"]}))
    return chunks
