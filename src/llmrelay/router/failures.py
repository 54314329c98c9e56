"""What a failed attempt means for the routed call and for the deployment that failed.

- request errors (400, 413, 422, ``UnsupportedParamsError``): raised at once, no cooldown;
  context-window and content-policy ones may go to their own fallback lists;
- the deployment's own errors (429, 401, 403, 404): cooldown at once, retried elsewhere;
- other retryable failures (408, 409, 5xx, 529, connection errors, timeouts): retried, and
  counted: more than ``allowed_fails`` within 60 s cool the deployment down;
- anything else is raised as it is.
"""

from __future__ import annotations

from typing import Final

from .. import retries
from ..exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

__all__ = ["COOL", "COUNT", "FINAL", "NONE", "Verdict", "cooldown_seconds", "judge"]

NONE: Final = 0  # no failure to record
COUNT: Final = 1  # a retryable failure: counts toward allowed_fails
COOL: Final = 2  # the deployment's own error: cooldown at once

FINAL: Final = 0  # raise it now
RETRY: Final = 1  # retry (another deployment first) and then fall back
FALLBACK_ONLY: Final = 2  # no retry in the group; its own fallback list

DEPLOYMENT_ERRORS = (RateLimitError, AuthenticationError, PermissionDeniedError, NotFoundError)


class Verdict:
    """``failure``: NONE / COUNT / COOL for the deployment; ``action``: FINAL / RETRY /
    FALLBACK_ONLY for the call; ``fallbacks``: which list a group failing with it follows."""

    __slots__ = ("action", "failure", "fallbacks")

    def __init__(self, failure: int, action: int, fallbacks: str) -> None:
        self.failure = failure
        self.action = action
        self.fallbacks = fallbacks


_REQUEST = Verdict(NONE, FINAL, "")
_CONTEXT = Verdict(NONE, FALLBACK_ONLY, "context_window_fallbacks")
_POLICY = Verdict(NONE, FALLBACK_ONLY, "content_policy_fallbacks")
_DEPLOYMENT = Verdict(COOL, RETRY, "fallbacks")
_RETRYABLE = Verdict(COUNT, RETRY, "fallbacks")


def judge(error: APIError) -> Verdict:
    if isinstance(error, BadRequestError):
        if isinstance(error, ContextWindowExceededError):
            return _CONTEXT
        if isinstance(error, ContentPolicyViolationError):
            return _POLICY
        return _REQUEST
    if isinstance(error, DEPLOYMENT_ERRORS):
        return _DEPLOYMENT
    if retries.is_retryable(error):
        return _RETRYABLE
    return _REQUEST


def retry_after(error: APIError) -> float | None:
    """The wait the provider asked for, from the error or its headers."""
    asked = getattr(error, "retry_after", None)
    if asked is None and error.headers:
        asked = retries.retry_after(error.headers)
    return asked


def cooldown_seconds(error: APIError, cooldown_time: float) -> float:
    """``cooldown_time``, or the provider's ``Retry-After`` when that is longer."""
    asked = retry_after(error)
    return cooldown_time if asked is None else max(cooldown_time, asked)
