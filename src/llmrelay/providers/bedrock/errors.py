"""Bedrock errors -> the contract's exceptions.

An HTTP error names its type in ``x-amzn-ErrorType: <Name>[:<namespace>]`` (or a ``__type`` /
``code`` field) and says why in ``message`` / ``Message``; a stream names it in an exception
message's ``:exception-type`` header (``throttlingException``). Botocore reads them this way
(``parsers.py``). The type decides the class: AWS types are precise, unlike statuses (403
covers a missing model grant and a bad signature alike).
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
    Timeout,
    error_class_for_status,
)
from ..base import CallContext

# Type -> (class, the status it comes with). Statuses from botocore's service model
# (bedrock-runtime 2023-09-30); the signing errors come from AWS's front end.
ERROR_TYPES: dict[str, tuple[type[APIError], int]] = {
    "ValidationException": (BadRequestError, 400),
    "ConflictException": (BadRequestError, 400),
    # A quota (tokens per day, ...) rather than a rate: retrying soon does not help, and it
    # comes as a 400, which is not retried.
    "ServiceQuotaExceededException": (RateLimitError, 400),
    "AccessDeniedException": (PermissionDeniedError, 403),
    "UnrecognizedClientException": (AuthenticationError, 403),
    "InvalidSignatureException": (AuthenticationError, 403),
    "IncompleteSignatureException": (AuthenticationError, 403),
    "SignatureDoesNotMatchException": (AuthenticationError, 403),
    "MissingAuthenticationTokenException": (AuthenticationError, 403),
    "ExpiredTokenException": (AuthenticationError, 403),
    "InvalidClientTokenId": (AuthenticationError, 403),
    "ResourceNotFoundException": (NotFoundError, 404),
    "ModelTimeoutException": (Timeout, 408),
    "ModelErrorException": (InternalServerError, 424),
    "ModelStreamErrorException": (InternalServerError, 424),
    "ThrottlingException": (RateLimitError, 429),
    "ModelNotReadyException": (RateLimitError, 429),  # retried: the model is being loaded
    "InternalServerException": (InternalServerError, 500),
    "ServiceUnavailableException": (ServiceUnavailableError, 503),
}

# ValidationException messages for a prompt over the context window, from the models behind
# Bedrock (PROVIDERS.md §9.6).
CONTEXT_PHRASES = (
    "input is too long",
    "exceed context limit",
    "prompt is too long",
    "too many total text bytes",
    "maximum context length",
    "too many input tokens",
)


def error_type(headers: Mapping[str, str], body: Any) -> str | None:
    """``ThrottlingException`` from ``ThrottlingException:http://internal.amazon.com/...``
    or ``com.amazon.coral.service#ThrottlingException``."""
    raw = headers.get("x-amzn-errortype")
    if not raw and isinstance(body, dict):
        raw = body.get("__type") or body.get("code") or body.get("Code")
    if not isinstance(raw, str) or not raw:
        return None
    name = raw.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name[:1].upper() + name[1:] if name else None


def error_message(body: Any) -> str:
    if isinstance(body, dict):
        message = body.get("message") or body.get("Message")
        if isinstance(message, str) and message:
            original = body.get("originalMessage")
            if isinstance(original, str) and original and original not in message:
                message = f"{message} ({body.get('originalStatusCode') or 'model'}: {original})"
            return message
        return repr(body)[:2000]
    if isinstance(body, str):
        return body[:2000] or "(empty body)"
    return repr(body)[:2000]


def classify(status: int, message: str, kind: str | None) -> type[APIError]:
    cls = ERROR_TYPES[kind][0] if kind in ERROR_TYPES else error_class_for_status(status)
    if cls is BadRequestError and any(p in message.lower() for p in CONTEXT_PHRASES):
        return ContextWindowExceededError
    return cls


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    kind = error_type(headers, body)
    message = error_message(body)
    return classify(status, message, kind)(
        message, code=kind, request_id=headers.get("x-amzn-requestid"))


def stream_exception(kind: str, body: Any, ctx: CallContext) -> APIError:
    """The exception for an ``exception`` message inside a 200 stream (``:exception-type``
    ``throttlingException``), with the status its type stands for."""
    name = kind[:1].upper() + kind[1:]
    status = ERROR_TYPES[name][1] if name in ERROR_TYPES else 500
    error = parse_error(status, body, {"x-amzn-errortype": name}, ctx)
    error.status_code = status
    return error
