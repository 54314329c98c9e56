"""OpenAI-style SSE chunks -> ``ModelResponseChunk`` (shared by Azure and OpenRouter).

Normalises what the three send differently: Azure's identity-less prompt-filter chunk is
skipped (and identity-less annotation chunks take the stream's identity), a ``finish_reason``
repeated on later chunks is sent once, usage attached to a chunk with choices becomes the
separate usage chunk OpenAI sends, and only when it was asked for. An ``error`` member raises
the matching exception from the iterator.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from pydantic_core import from_json

from ...exceptions import APIError
from ...streaming import ServerSentEvent
from ...types import ModelResponseChunk
from ..base import CallContext

ErrorParser = Callable[[int, Any, Mapping[str, str], CallContext], APIError]

# Mid-stream errors carry no HTTP status; these codes (OpenAI ``code``/``type``, OpenRouter
# ``metadata.error_type``) say which status the error stands for.
STREAM_ERROR_STATUS = {
    "rate_limit_exceeded": 429,
    "rate_limited": 429,
    "internal_server_error": 500,
    "service_unavailable": 503,
    "server_error": 500,
    "server": 500,
    "overloaded": 503,
    "provider_overloaded": 503,
    "provider_unavailable": 503,
    "timeout": 408,
    "context_length_exceeded": 400,
    "token_limit_exceeded": 400,
    "invalid_request_error": 400,
    "invalid_request": 400,
    "content_filter": 400,
    "content_policy_violation": 400,
    "authentication": 401,
    "payment_required": 402,
    "permission_denied": 403,
    "not_found": 404,
}

IDENTITY = ("id", "created", "model", "object")

# pydantic-core's validator called directly: the hot path of every OpenAI-shaped stream.
_validate_chunk_json = ModelResponseChunk.__pydantic_validator__.validate_json


def stream_error_status(error: Any) -> int:
    """The HTTP status an in-stream ``error`` object stands for (500 when it does not say).

    Groq names it in ``status_code``; OpenRouter and vLLM put it in ``code``."""
    if isinstance(error, dict):
        status = error.get("status_code")
        if isinstance(status, int) and 400 <= status < 600:
            return status
        code = error.get("code")
        # Only a code in the HTTP error range is a status (Mistral's codes read "3000").
        if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
            if 400 <= int(code) < 600:
                return int(code)
        metadata = error.get("metadata")
        error_type = metadata.get("error_type") if isinstance(metadata, dict) else None
        for value in (code, error.get("type"), error_type):
            if isinstance(value, str) and value in STREAM_ERROR_STATUS:
                return STREAM_ERROR_STATUS[value]
    return 500


class ChunkTranslator:
    """Feeds data-only SSE events; ``[DONE]`` and comments produce nothing.

    Subclasses adapt a provider's chunk in ``prepare`` before the shared rules apply.
    ``hold_usage`` keeps the last usage seen and sends it once, as the last chunk, for
    providers that repeat it (Perplexity's running totals) or send it twice (Groq).
    """

    def __init__(self, ctx: CallContext, parse_error: ErrorParser, *,
                 hold_usage: bool = False) -> None:
        self._ctx = ctx
        self._parse_error = parse_error
        options = ctx.request.get("stream_options") or {}
        self._include_usage = bool(options.get("include_usage"))
        self._finished: set[int] = set()
        self._identity: dict[str, Any] | None = None
        self._hold_usage = hold_usage
        self._held: dict[str, Any] | None = None
        # Chunks already in the OpenAI shape skip the dict work, unless a subclass adapts them.
        self._direct = type(self).prepare is ChunkTranslator.prepare

    def feed(self, event: ServerSentEvent) -> list[ModelResponseChunk]:
        data = event.data
        if not data or data == "[DONE]":
            return []
        if self._direct:
            # The common chunk, parsed and validated in one step by pydantic-core; its checks
            # inlined (one per event: a method call costs about as much as they do).
            try:
                chunk: ModelResponseChunk | None = _validate_chunk_json(data)
            except ValueError:
                chunk = None  # not a valid chunk: the general path says what is wrong
            if chunk is not None:
                fields = chunk.__dict__
                extra = chunk.__pydantic_extra__
                if fields["id"] and fields["usage"] is None and not (extra and extra.get("error")):
                    if self._identity is not None:
                        for choice in fields["choices"]:
                            if choice.finish_reason is not None:
                                break
                        else:
                            return [chunk]  # no finish reason, identity known: nothing to do
                    if self._settle_direct(chunk):
                        return [chunk]
        obj = from_json(data)
        if not isinstance(obj, dict):
            raise APIError(f"{self._ctx.provider} sent a stream event that is not an object: "
                           f"{data[:200]!r}", response=data)
        if obj.get("error"):
            raise self._parse_error(stream_error_status(obj["error"]), obj, {}, self._ctx)
        obj = self.prepare(obj)
        choices = obj.get("choices") or []
        if not obj.get("id"):
            # Azure: the prompt-filter event (no choices) and content-filter annotations
            # arrive with empty id/model/object; annotations take the stream's identity.
            if not choices or self._identity is None:
                return []
            obj = {**obj, **self._identity}
        elif self._identity is None:
            self._identity = {k: obj[k] for k in IDENTITY if obj.get(k)}
        choices = [c for c in (self._once(c) for c in choices) if c is not None]
        usage = obj.get("usage")
        chunks = []
        if choices:
            chunks.append(ModelResponseChunk.model_validate({**obj, "choices": choices, "usage": None}))
        if usage and self._hold_usage:
            self._held = {**obj, "choices": [], "usage": usage}
        elif usage and self._include_usage:
            chunks.append(ModelResponseChunk.model_validate({**obj, "choices": [], "usage": usage}))
        return chunks

    def _settle_direct(self, chunk: ModelResponseChunk) -> bool:
        """Whether a validated chunk with an identity, no usage and no error goes out as it
        is: a finish reason is sent once per choice (``False``: a repeat, for the general
        path to strip); the first chunk's identity is kept."""
        finished = [c.index for c in chunk.choices if c.finish_reason is not None]
        if finished:
            if not self._finished.isdisjoint(finished):
                return False
            self._finished.update(finished)
        if self._identity is None:
            self._identity = {k: getattr(chunk, k) for k in IDENTITY if getattr(chunk, k)}
        return True

    def prepare(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A provider's chunk in the OpenAI shape; the identity here."""
        return obj

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
        if self._held is not None and self._include_usage:
            return [ModelResponseChunk.model_validate(self._held)]
        return []
