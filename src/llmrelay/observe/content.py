"""Message content in the GenAI semantic conventions' shape (``gen_ai.input.messages`` /
``gen_ai.output.messages``): role plus typed parts, from OpenAI chat messages and choices.

Recorded only with ``instrument_otel(capture_content=True)``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

__all__ = ["input_messages", "output_messages"]

# The conventions' finish reasons where OpenAI's differ.
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


def _as_dict(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(exclude_none=True) if dump is not None else value


def _arguments(text: Any) -> Any:
    """Tool arguments as an object when they are JSON (as the conventions expect), else as sent."""
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    return {"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
            "arguments": _arguments(function.get("arguments"))}


def _media(kind: str, url: str) -> dict[str, Any]:
    if url.startswith("data:") and "," in url:
        header, data = url[5:].split(",", 1)
        return {"type": "blob", "modality": kind, "mime_type": header.split(";")[0] or None,
                "content": data}
    return {"type": "uri", "modality": kind, "uri": url}


def _part(part: Any) -> dict[str, Any]:
    part = _as_dict(part)
    if not isinstance(part, Mapping):
        return {"type": "text", "content": str(part)}
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "content": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url", "") if isinstance(image, Mapping) else str(image or "")
        return _media("image", url)
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        return {"type": "blob", "modality": "audio",
                "mime_type": f"audio/{audio.get('format', 'wav')}", "content": audio.get("data", "")}
    return {**part, "type": str(kind or "unknown")}


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, list):
        return [_part(p) for p in content]
    return [{"type": "text", "content": str(content)}]


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """The chat history sent, in order, as ``gen_ai.input.messages`` describes it."""
    out: list[dict[str, Any]] = []
    for message in messages or []:
        message = _as_dict(message)
        if not isinstance(message, Mapping):
            continue
        role = message.get("role") or "user"
        content = message.get("content")
        if role in ("tool", "function"):
            parts: list[dict[str, Any]] = [{"type": "tool_call_response",
                                            "id": message.get("tool_call_id"),
                                            "response": content}]
            role = "tool"
        else:
            parts = _content_parts(content)
        if message.get("reasoning_content"):
            parts.insert(0, {"type": "reasoning", "content": message["reasoning_content"]})
        parts += [_tool_call(c) for c in message.get("tool_calls") or []]
        if message.get("function_call"):
            parts.append(_tool_call({"function": message["function_call"]}))
        entry: dict[str, Any] = {"role": role, "parts": parts}
        if message.get("name"):
            entry["name"] = message["name"]
        out.append(entry)
    return out


def output_messages(response: Any) -> list[dict[str, Any]]:
    """One entry per choice of ``response``, as ``gen_ai.output.messages`` describes it."""
    out: list[dict[str, Any]] = []
    for choice in getattr(response, "choices", None) or []:
        message = _as_dict(choice.message)
        parts = input_messages([{**message, "role": "assistant"}])[0]["parts"]
        finish = choice.finish_reason
        out.append({"role": "assistant", "parts": parts,
                    "finish_reason": _FINISH.get(finish, finish) if finish else ""})
    return out
