"""Azure OpenAI error bodies -> the contract's exceptions.

Azure's envelope differs from OpenAI's: ``code`` may be a string number (``"401"``,
``"429"``) or a word (``DeploymentNotFound``, ``content_filter``), ``type`` is often
missing, and a filtered prompt names the policy in ``innererror`` (real traffic) or
``inner_error`` (the REST spec). https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter
"""

from __future__ import annotations

from typing import Any, Mapping

from ...exceptions import APIError, ContentPolicyViolationError
from ..base import CallContext
from ..openai.errors import classify, error_fields

POLICY_CODES = frozenset({"ResponsibleAIPolicyViolation", "content_filter"})


def inner_code(body: Any) -> str | None:
    """``error.innererror.code`` (or ``inner_error.code``) when the body has one."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    inner = error.get("innererror") or error.get("inner_error")
    code = inner.get("code") if isinstance(inner, dict) else None
    return code if isinstance(code, str) else None


def parse_error(status: int, body: Any, headers: Mapping[str, str], ctx: CallContext) -> APIError:
    message, code = error_fields(body)
    cls = classify(status, message, code)
    if status == 400 and inner_code(body) in POLICY_CODES:
        cls = ContentPolicyViolationError
    return cls(message, code=code, status_code=status)
