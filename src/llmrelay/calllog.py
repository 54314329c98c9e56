"""The ``logger_fn`` / ``verbose`` hooks: one dict before and one after each HTTP request.

Secrets are masked here, once: auth headers, and any occurrence of the key in URL or body.
Costs nothing when neither hook is set.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Mapping

from .masking import mask_headers, scrub


class CallLog:
    """Reports each HTTP request of one call to ``logger_fn`` and, with ``verbose``, stderr."""

    __slots__ = ("_logger_fn", "_model", "_provider", "_secrets", "_verbose", "active")

    def __init__(
        self,
        logger_fn: Callable[[dict[str, Any]], Any] | None,
        verbose: bool,
        secrets: tuple[str, ...],
        provider: str,
        model: str,
    ) -> None:
        self._logger_fn = logger_fn
        self._verbose = verbose
        self._secrets = tuple(s for s in secrets if s)
        self._provider = provider
        self._model = model
        # Read before and after every request: an attribute, not a property.
        self.active = logger_fn is not None or verbose

    def before(
        self, method: str, url: str, headers: Mapping[str, str], body: Any, attempt: int
    ) -> None:
        if not self.active:
            return
        self._emit(
            {
                "event": "pre_api_call",
                "provider": self._provider,
                "model": self._model,
                "attempt": attempt,
                "method": method,
                "url": scrub(url, self._secrets),
                "headers": mask_headers(headers, self._secrets),
                "body": scrub(body, self._secrets),
            }
        )

    def after(
        self,
        *,
        status: int | None,
        latency: float,
        attempt: int,
        response: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if not self.active:
            return
        self._emit(
            {
                "event": "post_api_call",
                "provider": self._provider,
                "model": self._model,
                "attempt": attempt,
                "status": status,
                "latency": latency,
                "response": scrub(response, self._secrets),
                "exception": None if exception is None else scrub(repr(exception), self._secrets),
            }
        )

    def _emit(self, record: dict[str, Any]) -> None:
        if self._logger_fn is not None:
            self._logger_fn(record)
        if self._verbose:
            print(f"llmrelay: {json.dumps(record, default=str)}", file=sys.stderr)


# The log of every call with neither hook: it reports nothing, so one serves them all.
QUIET_LOG = CallLog(None, False, (), "", "")
