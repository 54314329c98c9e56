"""OpenAI error envelopes -> the contract's exceptions (Azure and OpenRouter refine this)."""

from __future__ import annotations

from typing import Any, Mapping

from ...exceptions import (
    APIError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    UnsupportedParamsError,
    error_class_for_status,
)
from ..base import CallContext

CODE_CLASSES: dict[str, type[APIError]] = {
    "context_length_exceeded": ContextWindowExceededError,
    "string_above_max_length": ContextWindowExceededError,
    "content_filter": ContentPolicyViolationError,
    "content_policy_violation": ContentPolicyViolationError,
    "unsupported_parameter": UnsupportedParamsError,
    "unsupported_value": UnsupportedParamsError,
}

CONTEXT_PHRASES = ("maximum context length", "context window", "context_length_exceeded")


def error_fields(body: Any) -> tuple[str, str | None]:
    """``(message, code)`` from ``{"error": {"message", "code", "type"}}``, or from plain text."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = error.get("code") or error.get("type")
        return str(error.get("message") or body), None if code is None else str(code)
    if isinstance(body, dict) and "message" in body:
        return str(body["message"]), None
    return (body if isinstance(body, str) else repr(body))[:2000] or "(empty body)", None


def classify(status: int, message: str, code: str | None) -> type[APIError]:
    """The status decides; a 400's ``code`` (then, last, its wording) refines it."""
    cls = error_class_for_status(status)
    if status == 400:
        if code in CODE_CLASSES:
            return CODE_CLASSES[code]
        if any(p in message.lower() for p in CONTEXT_PHRASES):
            return ContextWindowExceededError
    return cls


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    message, code = error_fields(body)
    return classify(status, message, code)(message, code=code, status_code=status)
