"""Mistral's differences on the wire, both ways.

Requests: ``tool_choice: "required"`` is Mistral's ``"any"``; messages keep only the fields
of Mistral's message models (the API refuses others with 422), ``developer`` is ``system``;
tool-call ids must be 9 alphanumeric characters, so other ids (from another provider's
history) are mapped to such ids, the same way in the call and in its tool result.
Responses: ``content`` may be a list of chunks (Magistral): ``text`` chunks join into
``content``, ``thinking`` chunks into ``reasoning_content``.
Field lists: mistralai/client-python ``src/mistralai/client/models/*message.py``.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any

MESSAGE_FIELDS = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "prefix"}),
    "tool": frozenset({"role", "content", "tool_call_id", "name"}),
}
TOOL_CALL_ID = re.compile(r"[a-zA-Z0-9]{9}")
_ALPHABET = string.ascii_letters + string.digits


def mistral_tool_call_id(call_id: Any) -> Any:
    """``call_id`` if Mistral takes it, else a stable 9-character id derived from it."""
    if not isinstance(call_id, str) or TOOL_CALL_ID.fullmatch(call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def shape_message(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    role = "system" if message.get("role") == "developer" else message.get("role")
    fields = MESSAGE_FIELDS.get(str(role))
    if fields is None:
        return message
    out = {k: v for k, v in message.items() if k in fields}
    out["role"] = role
    if "tool_call_id" in out:
        out["tool_call_id"] = mistral_tool_call_id(out["tool_call_id"])
    if isinstance(out.get("tool_calls"), list):
        out["tool_calls"] = [
            {**call, "id": mistral_tool_call_id(call.get("id"))} if isinstance(call, dict) else call
            for call in out["tool_calls"]]
    return out


def shape_body(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    if out.get("tool_choice") == "required":
        out["tool_choice"] = "any"
    if isinstance(out.get("messages"), list):
        out["messages"] = [shape_message(m) for m in out["messages"]]
    return out


def shape_part(part: dict[str, Any]) -> dict[str, Any]:
    """A message or delta whose ``content`` is a list of chunks, as text plus reasoning."""
    content = part.get("content")
    if not isinstance(content, list):
        return part
    text: list[str] = []
    thinking: list[str] = []
    for chunk in content:
        if not isinstance(chunk, dict):
            continue
        if chunk.get("type") == "text":
            text.append(str(chunk.get("text") or ""))
        elif chunk.get("type") == "thinking":
            thinking += [str(t.get("text") or "") for t in chunk.get("thinking") or []
                         if isinstance(t, dict)]
    out = {**part, "content": "".join(text) if text else None}
    if thinking:
        out["reasoning_content"] = "".join(thinking)
    return out
