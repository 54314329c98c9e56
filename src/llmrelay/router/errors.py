"""The Router's own error: nothing in the group or its fallbacks could take the request.

Kept apart from the Router so that ``except llmrelay.NoDeploymentAvailableError`` loads nothing else.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import RateLimitError

__all__ = ["NoDeploymentAvailableError"]


class NoDeploymentAvailableError(RateLimitError):
    """No deployment of the group (nor of its fallbacks) was eligible, and no request was sent.

    ``retry_after`` is the number of seconds until the first of them is eligible again.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, status_code=429, **kwargs)
