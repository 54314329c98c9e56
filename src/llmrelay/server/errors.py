"""The gateway's errors in the OpenAI envelope, with the statuses of GATEWAY.md's table.

``GatewayError`` is raised anywhere in a handler and becomes one JSON answer; ``from_upstream``
turns what the Router raised into the status the official ``openai`` SDK maps to the right class.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic_core import to_json

from ..masking import scrub

if TYPE_CHECKING:
    from ..exceptions import APIError

__all__ = ["GatewayError", "from_upstream"]

# The envelope ``type`` for a status the provider answered with (its own code is kept).
UPSTREAM_TYPES = {
    400: "invalid_request_error", 404: "not_found_error", 408: "timeout_error",
    409: "conflict_error", 413: "invalid_request_error", 422: "invalid_request_error",
    429: "rate_limit_error", 503: "service_unavailable",
}


class GatewayError(Exception):
    """One error answer: ``status``, and the envelope's ``type``, ``code``, ``message``, ``param``.

    ``row_status`` is what the spend row says: ``rejected`` for the gateway's own refusals,
    ``error`` for what went wrong upstream.
    """

    def __init__(self, status: int, type: str, code: str | None, message: str, *,
                 param: str | None = None, headers: dict[str, str] | None = None,
                 row_status: str = "rejected") -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.row_status = row_status

    def body(self) -> bytes:
        return to_json({"error": {"message": self.message, "type": self.type,
                                  "param": self.param, "code": self.code}})

    @classmethod
    def bad_request(cls, message: str, *, param: str | None = None,
                    code: str | None = "invalid_request") -> GatewayError:
        return cls(400, "invalid_request_error", code, message, param=param)

    @classmethod
    def invalid_key(cls, message: str = "Invalid API key: pass a valid key as 'Authorization: "
                    "Bearer sk-...'.") -> GatewayError:
        return cls(401, "authentication_error", "invalid_api_key", message)

    @classmethod
    def admin_only(cls, message: str = "Only the master key may use this endpoint.") -> GatewayError:
        return cls(403, "permission_error", "admin_only", message)

    @classmethod
    def unavailable(cls, code: str, message: str) -> GatewayError:
        return cls(503, "service_unavailable", code, message)

    @classmethod
    def not_found(cls, code: str, message: str, *, param: str | None = None) -> GatewayError:
        return cls(404, "not_found_error", code, message, param=param)

    @classmethod
    def rate_limited(cls, message: str, retry_after: float | None, *,
                     type: str = "rate_limit_error", code: str = "rate_limit_exceeded") -> GatewayError:
        headers = {} if retry_after is None else {"retry-after": str(retry_after_seconds(retry_after))}
        return cls(429, type, code, message, headers=headers)


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds, rounded up, at least 1 (``Retry-After`` takes no fractions)."""
    return max(1, math.ceil(seconds - 1e-9))


def from_upstream(exc: APIError, secrets: tuple[str, ...]) -> GatewayError:
    """What the Router raised -> the gateway's answer; secrets masked out of the message."""
    from ..exceptions import APIConnectionError, Timeout
    from ..router.errors import NoDeploymentAvailableError

    message = scrub(exc.message or str(exc), secrets)
    if isinstance(exc, NoDeploymentAvailableError):
        return GatewayError.rate_limited(message, getattr(exc, "retry_after", None) or 1.0)
    status = exc.status_code
    if isinstance(exc, Timeout):
        return GatewayError(504, "upstream_error", "timeout", message, row_status="error")
    if isinstance(exc, APIConnectionError) or status is None:
        return GatewayError(502, "upstream_error", "connection_error", message, row_status="error")
    if status in (401, 403):
        # The provider refused the deployment's own credentials: never a 401 to the client,
        # which would read it as its gateway key being bad.
        return GatewayError(502, "upstream_error", "provider_auth_error",
                            f"The provider refused the gateway's credentials: {message}",
                            row_status="error")
    code = exc.code if isinstance(exc.code, str) else None
    kind = UPSTREAM_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    headers: dict[str, str] = {}
    retry_after = getattr(exc, "retry_after", None)
    if status == 429 and isinstance(retry_after, (int, float)):
        headers["retry-after"] = str(retry_after_seconds(retry_after))
    param = getattr(exc, "param", None)
    return GatewayError(status, kind, code, message, headers=headers, row_status="error",
                        param=param if isinstance(param, str) else None)
