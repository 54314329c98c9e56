"""Gemini error envelopes (``{"error": {"code", "message", "status", "details"}}``) -> the
contract's exceptions; https://ai.google.dev/gemini-api/docs/troubleshooting.
"""

from __future__ import annotations

import re
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

STATUS_CLASSES: dict[str, type[APIError]] = {
    "INVALID_ARGUMENT": BadRequestError,
    "FAILED_PRECONDITION": BadRequestError,
    "OUT_OF_RANGE": BadRequestError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "INTERNAL": InternalServerError,
    "UNAVAILABLE": ServiceUnavailableError,
    "DEADLINE_EXCEEDED": InternalServerError,
}
# google.rpc code name -> the HTTP status Google sends it with (for errors inside a 200 stream
# that carry no code).
STATUS_CODES = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ABORTED": 409,
    "ALREADY_EXISTS": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "INTERNAL": 500,
    "UNKNOWN": 500, "DATA_LOSS": 500, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
# A bad key is a 400 INVALID_ARGUMENT whose ErrorInfo reason says so: an authentication error.
KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})
# "The input token count (1212827) exceeds the maximum number of tokens allowed (1048576)."
CONTEXT_PHRASES = ("exceeds the maximum number of tokens", "input token count exceeds")
DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


def error_fields(body: Any) -> tuple[str, str | None, list[Any]]:
    """``(message, status name, details)``; a non-JSON body (a proxy's HTML) is the message."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]  # the JSON-array form of a failed stream
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        status = error.get("status")
        details = error.get("details")
        return (str(error.get("message") or body), status if isinstance(status, str) else None,
                details if isinstance(details, list) else [])
    if isinstance(body, str):
        return body[:2000] or "(empty body)", None, []
    return repr(body)[:2000], None, []


def detail(details: list[Any], kind: str) -> dict[str, Any]:
    """The first ``details`` entry of ``type.googleapis.com/google.rpc.<kind>``."""
    for item in details:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith(f".{kind}"):
            return item
    return {}


def retry_delay(details: list[Any]) -> float | None:
    """``RetryInfo.retryDelay``, a protobuf Duration such as ``"37s"`` or ``"0.25s"``."""
    match = DURATION.match(str(detail(details, "RetryInfo").get("retryDelay") or ""))
    return float(match.group(1)) if match else None


def classify(status: int, message: str, name: str | None, details: list[Any]) -> type[APIError]:
    cls = error_class_for_status(status)
    refined = STATUS_CLASSES.get(name or "")
    if refined is not None and issubclass(refined, cls):
        cls = refined
    reason = detail(details, "ErrorInfo").get("reason")
    if reason in KEY_REASONS or (status == 400 and message.startswith("API key not valid")):
        return AuthenticationError
    if issubclass(cls, BadRequestError) and any(p in message.lower() for p in CONTEXT_PHRASES):
        return ContextWindowExceededError
    return cls


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    message, name, details = error_fields(body)
    cls = classify(status, message, name, details)
    if issubclass(cls, RateLimitError):
        return cls(message, code=name, retry_after=retry_delay(details))
    return cls(message, code=name)


def stream_error(data: Any, ctx: CallContext) -> APIError:
    """The exception for an error object inside a 200 stream, with the status it stands for."""
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    status = code if isinstance(code, int) and code >= 400 else STATUS_CODES.get(str(error.get("status")), 500)
    exc = parse_error(status, data, {}, ctx)
    exc.status_code = status
    return exc
