"""The exception tree of the public contract: every failure a call can raise.

Shaped like openai-python's, so code written against it reads the same here.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "Timeout",
    "UnknownModelError",
    "UnsupportedParamsError",
    "error_class_for_status",
]


class APIError(Exception):
    """Root of every llmrelay error.

    Carries the HTTP ``status_code`` (``None`` when no response arrived), the ``provider`` and
    ``model`` of the call, the provider's own ``message`` and the raw ``response`` body.
    """

    status_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        provider: str | None = None,
        model: str | None = None,
        response: Any = None,
        request_id: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.provider = provider
        self.model = model
        self.response = response
        self.request_id = request_id
        self.code = code
        self.headers = headers or {}

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        status = f"{self.status_code} " if self.status_code is not None else ""
        return f"{status}{self.message}" + (f" [{where}]" if where else "")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, provider={self.provider!r}, "
            f"model={self.model!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[APIError], message: str, state: dict[str, Any]) -> APIError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class BadRequestError(APIError):
    status_code = 400


class ContextWindowExceededError(BadRequestError):
    """The prompt (plus the requested output) does not fit the model's context window."""


class ContentPolicyViolationError(BadRequestError):
    """The provider's content filter refused the request."""


class UnsupportedParamsError(BadRequestError):
    """A parameter the provider or model cannot take; ``drop_params=True`` drops it instead."""

    def __init__(self, message: str, *, param: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.param = param


class AuthenticationError(APIError):
    status_code = 401


class PermissionDeniedError(APIError):
    status_code = 403


class NotFoundError(APIError):
    status_code = 404


class RateLimitError(APIError):
    """429. ``retry_after`` holds the seconds the provider asked to wait, when it said."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIError):
    status_code = 500


class ServiceUnavailableError(InternalServerError):
    status_code = 503


class APIConnectionError(APIError):
    """No usable HTTP response: refused, reset, dropped mid-body, DNS, TLS."""

    def __init__(self, message: str = "Connection error.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class Timeout(APIConnectionError):
    """A per-request ``timeout`` or the call's ``force_timeout`` ran out."""

    def __init__(self, message: str = "Request timed out.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class UnknownModelError(LookupError):
    """No price is known for a model: ``completion_cost`` raises it rather than guess.

    Not an ``APIError``: nothing was sent. ``model`` names the model that has no price.
    """

    def __init__(self, model: str, message: str | None = None) -> None:
        self.model = model
        self.message = message or (
            f"No price or model info is known for model {model!r}. Register one with "
            f"llmrelay.register_model({model!r}, base_model=...) or "
            f"register_model({model!r}, input_cost_per_token=..., output_cost_per_token=...), "
            "or list it in the file named by LLMRELAY_MODEL_PRICES."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: Timeout,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
    503: ServiceUnavailableError,
    529: ServiceUnavailableError,
}


def error_class_for_status(status: int) -> type[APIError]:
    """The contract's class for an HTTP status: the table, then 5xx, then the 4xx fallback."""
    if status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    if status >= 500:
        return InternalServerError
    if 400 <= status < 500:
        return BadRequestError
    return APIError
