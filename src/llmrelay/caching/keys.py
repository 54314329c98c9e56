"""Cache keys: a short SHA-256 of the canonical request, prefixed by the namespace.

Canonical means key order does not matter and nothing that leaves the answer unchanged
(streaming, credentials, timeouts, retries, logging, callbacks) takes part. The key never holds
the request itself.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

__all__ = ["KEY_HEX", "NOT_IN_KEY", "request_key"]

# 128 bits of the SHA-256: collisions are out of reach, and the key stays short (Redis keys and
# SQLite primary keys are compared and stored on every lookup).
KEY_HEX = 32

# Arguments that change how a call is made, never what it answers (API.md "Caching").
NOT_IN_KEY = frozenset({
    "stream", "stream_options", "api_key", "azure_ad_token", "aws_access_key_id",
    "aws_secret_access_key", "aws_session_token", "timeout", "force_timeout", "num_retries",
    "logger_fn", "verbose", "callbacks", "cache", "model", "messages", "input",
})

# Header names whose values are credentials; an ``extra_headers`` entry by one of these names
# says who asks, not what is asked.
_CREDENTIAL_WORDS = ("authorization", "key", "token", "secret", "cookie", "signature")


def _plain(value: Any) -> Any:
    """What ``json`` cannot encode by itself: pydantic objects (a previous answer's message
    sent back), tuples and sets; anything else makes the request uncacheable."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(exclude_none=True)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not part of a cache key: {type(value).__name__}")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            check_circular=False, default=_plain)


def request_key(namespace: str, payload: Mapping[str, Any]) -> str:
    """``"<namespace>:<32 hex>"`` for a canonical request ``payload``.

    Raises ``TypeError`` / ``ValueError`` when the payload cannot be written canonically (then
    the call is not cached).
    """
    text = _ENCODER.encode(payload)
    return f"{namespace}:{hashlib.sha256(text.encode()).hexdigest()[:KEY_HEX]}"


def answer_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that shape the answer: set ones (``None`` is unset), minus ``NOT_IN_KEY``."""
    return {k: v for k, v in params.items() if v is not None and k not in NOT_IN_KEY}


def plain_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``extra_headers`` without credentials, names in lower case."""
    return {k.lower(): v for k, v in headers.items()
            if not any(word in k.lower() for word in _CREDENTIAL_WORDS)}
