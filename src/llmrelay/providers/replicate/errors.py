"""Replicate failures -> the contract's exceptions.

HTTP errors are RFC 7807 problem details (``title``, ``detail``, ``status``, maybe
``invalid_fields``; https://replicate.com/docs/topics/predictions/http-api-errors). A model that
fails is not an HTTP error: the prediction ends ``failed`` with free text in ``error``.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...exceptions import (
    APIError,
    ContextWindowExceededError,
    InternalServerError,
    error_class_for_status,
)
from ..base import CallContext

# Replicate has no error codes for an over-long prompt; the model servers word it like these.
CONTEXT_PHRASES = (
    "maximum context length", "context length", "context window", "max_model_len",
    "prompt is too long", "input is too long", "too many tokens",
)


def problem_message(body: Any) -> str:
    """``title: detail`` from a problem-details body, else the body's text."""
    if isinstance(body, dict):
        title, detail = body.get("title"), body.get("detail")
        if isinstance(detail, str) and detail.strip():
            detail = detail.strip()
            return f"{title}: {detail}" if title and title not in detail else detail
        if title:
            return str(title)
        return repr(body)[:2000]
    text = body if isinstance(body, str) else repr(body)
    return text.strip()[:2000] or "(empty body)"


def _mentions_context(text: str) -> bool:
    lowered = text.lower()
    return any(p in lowered for p in CONTEXT_PHRASES)


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    """The status decides the class (422 validation failures are ``BadRequestError``); only an
    input error that says the prompt is too long is refined, from its wording."""
    message = problem_message(body)
    cls = error_class_for_status(status)
    if status in (400, 413, 422) and _mentions_context(message):
        cls = ContextWindowExceededError
    code = body.get("title") if isinstance(body, dict) else None
    return cls(message, code=code if isinstance(code, str) else None)


def prediction_error(text: str | None, prediction_id: str | None) -> APIError:
    """A ``failed`` prediction: Replicate's error text, as a server error unless it says the
    prompt did not fit the model."""
    message = (text or "").strip() or "The prediction failed without an error message."
    where = f"Replicate prediction {prediction_id} failed: " if prediction_id else "Replicate prediction failed: "
    if _mentions_context(message):
        return ContextWindowExceededError(where + message, code="prediction_failed")
    return InternalServerError(where + message, code="prediction_failed")


def canceled_error(prediction_id: str | None) -> APIError:
    """A prediction canceled elsewhere (dashboard, API) before it produced an answer."""
    which = f" {prediction_id}" if prediction_id else ""
    return APIError(f"Replicate prediction{which} was canceled", code="prediction_canceled")
