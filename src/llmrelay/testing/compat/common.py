"""What the family's emulated providers share: auth, usage, ids, bodies."""

from __future__ import annotations

from typing import Any

from ..generation import count_tokens
from ..server import Exchange
from .spec import Chunk, clean_chunk, clean_message, usage_on_finish, uuid_for, without


def bearer_ok(ex: Exchange) -> bool:
    return ex.headers.get("authorization") == f"Bearer {ex.api_key}"


def plain_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def drop_none_usage(chunk: Chunk) -> Chunk:
    return chunk if chunk.get("usage") is not None else without(chunk, "usage")


def missing(request: dict[str, Any]) -> str | None:
    model = str(request.get("model") or "")
    return model if model.rpartition("/")[2].startswith("missing-") else None


def add_thought(out: dict[str, Any], field: str, thought: str | None) -> dict[str, Any]:
    """Every choice's message with the reasoning text under ``field``."""
    if thought:
        for choice in out["choices"]:
            choice["message"][field] = thought
        tokens = count_tokens(thought)
        out["usage"]["completion_tokens"] += tokens
        out["usage"]["total_tokens"] += tokens
    return out


def clean_body(out: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = without(out, "service_tier", *keys)
    out["choices"] = [{**c, "message": clean_message(c["message"])} for c in out["choices"]]
    return out


def openai_envelope(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def usage_always_on_finish(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [drop_none_usage(clean_chunk(c)) for c in usage_on_finish(chunks)]
    return [{**c, "id": uuid_for(c["id"])} for c in out]


def id_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_body(out)
    out["id"] = uuid_for(out["id"])
    return out


def think_in_content(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    """Reasoning models that write their thinking into ``content`` (``<think>``...)."""
    out = id_body(out, request, thought)
    if thought:
        for choice in out["choices"]:
            if isinstance(choice["message"].get("content"), str):
                choice["message"]["content"] = f"<think>{thought}</think>\n{choice['message']['content']}"
    return out
