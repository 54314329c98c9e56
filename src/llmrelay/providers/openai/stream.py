"""OpenAI-style SSE chunks -> ``ModelResponseChunk`` (shared by Azure and OpenRouter).

Normalises what the three send differently: Azure's identity-less prompt-filter chunk is
skipped, a ``finish_reason`` repeated on later chunks is sent once, usage attached to a chunk
with choices becomes the separate usage chunk OpenAI sends, and only when it was asked for.
An ``error`` member raises the matching exception from the iterator.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from ...exceptions import APIError
from ...streaming import ServerSentEvent
from ...types import ModelResponseChunk
from ..base import CallContext

ErrorParser = Callable[[int, Any, Mapping[str, str], CallContext], APIError]

# Mid-stream errors carry no HTTP status; these codes say which one the error stands for.
STREAM_ERROR_STATUS = {
    "rate_limit_exceeded": 429,
    "server_error": 500,
    "overloaded": 503,
    "context_length_exceeded": 400,
    "invalid_request_error": 400,
}


def stream_error_status(error: Any) -> int:
    if isinstance(error, dict):
        code = error.get("code")
        if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
            return int(code)
        for key in ("code", "type"):
            if error.get(key) in STREAM_ERROR_STATUS:
                return STREAM_ERROR_STATUS[error[key]]
    return 500


class ChunkTranslator:
    """Feeds data-only SSE events; ``[DONE]`` and comments produce nothing."""

    def __init__(self, ctx: CallContext, parse_error: ErrorParser) -> None:
        self._ctx = ctx
        self._parse_error = parse_error
        options = ctx.request.get("stream_options") or {}
        self._include_usage = bool(options.get("include_usage"))
        self._finished: set[int] = set()

    def feed(self, event: ServerSentEvent) -> list[ModelResponseChunk]:
        data = event.data
        if not data or data == "[DONE]":
            return []
        obj = json.loads(data)
        if obj.get("error"):
            raise self._parse_error(stream_error_status(obj["error"]), obj, {}, self._ctx)
        choices = obj.get("choices") or []
        if not obj.get("id") and not choices:
            return []
        choices = [c for c in (self._once(c) for c in choices) if c is not None]
        usage = obj.get("usage")
        chunks = []
        if choices or usage is None:
            chunks.append(ModelResponseChunk.model_validate({**obj, "choices": choices, "usage": None}))
        if usage and self._include_usage:
            chunks.append(ModelResponseChunk.model_validate({**obj, "choices": [], "usage": usage}))
        return chunks

    def _once(self, choice: dict[str, Any]) -> dict[str, Any] | None:
        """The choice with a repeated ``finish_reason`` removed; ``None`` if nothing is left."""
        index = choice.get("index", 0)
        if index not in self._finished:
            if choice.get("finish_reason"):
                self._finished.add(index)
            return choice
        delta = choice.get("delta") or {}
        if any(v for k, v in delta.items() if k != "role"):
            return {**choice, "finish_reason": None}
        return None

    def finish(self) -> list[ModelResponseChunk]:
        return []
