"""OpenRouter error bodies -> the contract's exceptions.

``{"error": {"code": <HTTP status>, "message", "metadata": {"error_type", "provider_name",
"raw"}}, "user_id"}``: the status decides, ``metadata.error_type`` refines it, and the
upstream's ``raw`` text joins OpenRouter's often generic message ("Provider returned error").
https://openrouter.ai/docs/api-reference/errors
"""

from __future__ import annotations

from typing import Any, Mapping

from ...exceptions import (
    APIError,
    AuthenticationError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    Timeout,
)
from ..base import CallContext
from ..openai.errors import classify, error_fields

ERROR_TYPE_CLASSES: dict[str, type[APIError]] = {
    "context_length_exceeded": ContextWindowExceededError,
    "token_limit_exceeded": ContextWindowExceededError,
    "string_too_long": ContextWindowExceededError,
    "content_policy_violation": ContentPolicyViolationError,
    "authentication": AuthenticationError,
    "permission_denied": PermissionDeniedError,
    "not_found": NotFoundError,
    "rate_limit_exceeded": RateLimitError,
    "provider_overloaded": ServiceUnavailableError,
    "provider_unavailable": ServiceUnavailableError,
    "server": InternalServerError,
    "timeout": Timeout,
}


def metadata_of(body: Any) -> dict[str, Any]:
    error = body.get("error") if isinstance(body, dict) else None
    metadata = error.get("metadata") if isinstance(error, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def full_message(message: str, metadata: Mapping[str, Any]) -> str:
    """OpenRouter's message, plus which upstream failed and what it said."""
    raw = metadata.get("raw")
    if raw is None or raw == "":
        return message
    raw_text = raw if isinstance(raw, str) else repr(raw)
    name = metadata.get("provider_name")
    where = f" ({name})" if isinstance(name, str) and name else ""
    return f"{message}{where}: {raw_text[:2000]}"


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    message, code = error_fields(body)
    metadata = metadata_of(body)
    error_type = metadata.get("error_type")
    cls = classify(status, message, code)
    refined = ERROR_TYPE_CLASSES.get(error_type) if isinstance(error_type, str) else None
    # A refinement may only narrow what the status says (a 403 moderation block stays a 403).
    if refined is not None and issubclass(refined, cls):
        cls = refined
    return cls(
        full_message(message, metadata),
        code=error_type if isinstance(error_type, str) else code,
        status_code=status,
    )
