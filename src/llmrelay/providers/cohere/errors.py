"""Cohere error bodies and failed generations -> the contract's exceptions.

Cohere answers errors as ``{"id": ..., "message": ...}`` (401s only ``{"message": ...}``) with
no type or code field (https://docs.cohere.com/reference/errors), so the status decides and
the message's documented ``too many tokens:`` prefix marks context-length errors.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...exceptions import (
    APIError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    InternalServerError,
    PermissionDeniedError,
    Timeout,
    error_class_for_status,
)
from ..base import CallContext

STATUS_CLASSES: dict[int, type[APIError]] = {
    # Payment required / billing limit reached: not the request's fault, and not retryable.
    402: PermissionDeniedError,
    # "Invalid token": the request or the answer contained a blocked token.
    498: ContentPolicyViolationError,
    # "Request cancelled" on Cohere's side; the docs say to try again.
    499: InternalServerError,
}

# "too many tokens: max tokens must be <= ..." shares the prefix but is a bad max_tokens value.
CONTEXT_PREFIX = "too many tokens:"
NOT_CONTEXT = "max tokens must be"


def error_fields(body: Any) -> tuple[str, str | None, str | None]:
    """``(message, id, error_type)`` from a Cohere body, or from a non-JSON body's text."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        error_type = body.get("error_type")
        return body["message"], body.get("id"), None if error_type is None else str(error_type)
    text = body if isinstance(body, str) else repr(body)
    return text[:2000] or "(empty body)", None, None


def is_context_error(message: str, error_type: str | None) -> bool:
    lowered = message.lower()
    if NOT_CONTEXT in lowered:
        return False
    return error_type == "TOO_MANY_TOKENS" or lowered.startswith(CONTEXT_PREFIX)


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    message, error_id, error_type = error_fields(body)
    cls = STATUS_CLASSES.get(status) or error_class_for_status(status)
    if status == 400 and is_context_error(message, error_type):
        cls = ContextWindowExceededError
    return cls(message, request_id=error_id, code=error_type)


def generation_error(finish_reason: str, detail: Any, response: Any = None) -> APIError:
    """A 200 answer (or a stream's ``message-end``) whose generation failed or ran out of time."""
    message = f"cohere ended the generation with finish_reason {finish_reason}"
    if detail:
        message += f": {detail}"
    if finish_reason == "TIMEOUT":
        return Timeout(message, response=response)
    return InternalServerError(message, response=response)
