"""Anthropic error envelopes -> the contract's exceptions (https://docs.claude.com/en/api/errors).

Body: ``{"type": "error", "error": {"type", "message"}, "request_id"}``. The HTTP status
decides the class; ``error.type`` refines it (it is also all a mid-stream ``error`` event has).
"""

from __future__ import annotations

from typing import Any, Mapping

from ...exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    error_class_for_status,
)
from ..base import CallContext

# error.type -> the status Anthropic sends it with; mid-stream errors arrive under HTTP 200.
TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

TYPE_CLASSES: dict[str, type[APIError]] = {
    "invalid_request_error": BadRequestError,
    "request_too_large": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "api_error": InternalServerError,
    "timeout_error": InternalServerError,
    "overloaded_error": ServiceUnavailableError,
}

# The 400s for an oversized prompt: "prompt is too long: 205000 tokens > 200000 maximum" and
# "input length and `max_tokens` exceed context limit: ...".
CONTEXT_PHRASES = ("prompt is too long", "exceed context limit")


def error_fields(body: Any) -> tuple[str, str | None, str | None]:
    """``(message, error type, request id)``; a non-JSON body (a proxy's HTML) is the message."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        kind = error.get("type")
        request_id = body.get("request_id")
        return (str(error.get("message") or body), kind if isinstance(kind, str) else None,
                request_id if isinstance(request_id, str) else None)
    if isinstance(body, str):
        return body[:2000] or "(empty body)", None, None
    return repr(body)[:2000], None, None


def classify(status: int, message: str, kind: str | None) -> type[APIError]:
    cls = error_class_for_status(status)
    refined = TYPE_CLASSES.get(kind or "")
    if refined is not None and issubclass(refined, cls):
        cls = refined
    if issubclass(cls, BadRequestError) and kind in (None, "invalid_request_error"):
        if any(p in message.lower() for p in CONTEXT_PHRASES):
            return ContextWindowExceededError
    return cls


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    message, kind, request_id = error_fields(body)
    return classify(status, message, kind)(message, code=kind, request_id=request_id)


def stream_error(data: Any, ctx: CallContext) -> APIError:
    """The exception for an ``error`` event inside a 200 stream, with the status it stands for."""
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    status = TYPE_STATUS.get(kind or "", 500)
    exc = parse_error(status, data, {}, ctx)
    exc.status_code = status
    return exc
