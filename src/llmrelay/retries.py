"""When to retry a failed request and how long to wait first.

Retried: connection errors and 408/409/429/5xx (Anthropic's 529 included), unless the provider
says ``x-should-retry: false``. Waits grow exponentially with jitter; a provider's
``retry-after-ms`` / ``retry-after`` wins when it is sane, then a wait the provider gave in its
error body (Gemini's ``RetryInfo``, read by its adapter into ``RateLimitError.retry_after``).
"""

from __future__ import annotations

import email.utils
import random
import time
from typing import Mapping

from .exceptions import APIConnectionError, APIError

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({408, 409, 429})


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the provider asked us to wait: ``retry-after-ms``, then ``retry-after``
    (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


def is_retryable(error: APIError) -> bool:
    should = error.headers.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    if isinstance(error, APIConnectionError) and error.status_code is None:
        return True
    status = error.status_code
    return status is not None and (status in RETRY_STATUSES or status >= 500)


def backoff_delay(attempt: int, error: APIError) -> float:
    """Wait before retry number ``attempt + 1``."""
    asked = retry_after(error.headers)
    if asked is None:
        asked = getattr(error, "retry_after", None)
    if asked is not None and asked <= MAX_RETRY_AFTER:
        return asked
    delay = min(INITIAL_DELAY * 2.0**attempt, MAX_DELAY)
    return delay * (1 - 0.25 * random.random())
