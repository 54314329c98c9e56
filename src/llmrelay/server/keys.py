"""Virtual keys: generated once, stored only as a SHA-256 hash, checked in constant time.

``KeyRecord`` is one row of ``llmrelay_keys``; ``KeySettings`` validates what ``/key/generate``
and ``/key/update`` accept. Budget periods are anchored at the key's creation.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from typing import Any, Mapping

from .durations import iso, parse_duration
from .errors import GatewayError

__all__ = ["KeyRecord", "generate_key", "hash_key", "parse_settings", "same_secret"]

KEY_PREFIX = "sk-"
_HEX = frozenset("0123456789abcdef")


def generate_key() -> str:
    """A new virtual key: ``sk-`` and 32 random bytes, URL-safe base64 (shown once)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form: lowercase hex SHA-256 of the whole key string."""
    return hashlib.sha256(key.encode()).hexdigest()


def as_hash(key_or_hash: str) -> str:
    """``/key/info`` and the filters take a key or its hash: a 64-hex string is the hash."""
    if len(key_or_hash) == 64 and set(key_or_hash) <= _HEX:
        return key_or_hash
    return hash_key(key_or_hash)


def same_secret(a: str, b: str) -> bool:
    """Constant-time equality of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class KeyRecord:
    """One virtual key as stored (times in epoch seconds). ``spend`` is the spend of the period
    that ends at ``budget_reset_at`` (of all time without a ``budget_duration``)."""

    token: str
    created_at: float
    key_alias: str | None = None
    models: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    max_budget: float | None = None
    budget_duration: str | None = None
    budget_reset_at: float | None = None
    spend: float = 0.0
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None
    expires: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires is not None and now >= self.expires

    def allows(self, group: str) -> bool:
        return not self.models or group in self.models

    def period(self, now: float) -> tuple[float, float] | None:
        """The budget period holding ``now``: ``(start, reset_at)``; ``None`` without a duration."""
        if self.budget_duration is None:
            return None
        length = parse_duration(self.budget_duration)
        count = max(0, math.floor((now - self.created_at) / length))
        start = self.created_at + count * length
        return start, start + length

    def period_spend(self, now: float) -> float:
        """What the database says this period has spent (0 once the stored period is over)."""
        period = self.period(now)
        if period is None:
            return self.spend
        if self.budget_reset_at is not None and abs(self.budget_reset_at - period[1]) < 1e-3:
            return self.spend
        return 0.0

    def settings(self) -> dict[str, Any]:
        return {"key_alias": self.key_alias, "models": list(self.models),
                "max_budget": self.max_budget, "budget_duration": self.budget_duration,
                "rpm_limit": self.rpm_limit, "tpm_limit": self.tpm_limit,
                "max_parallel_requests": self.max_parallel_requests,
                "metadata": dict(self.metadata)}

    def info(self, now: float, spend: float | None = None) -> dict[str, Any]:
        """The ``/key/info`` answer; ``spend`` overrides the stored one when fresher."""
        period = self.period(now)
        return {"key": self.token, "info": {
            **self.settings(),
            "spend": self.period_spend(now) if spend is None else spend,
            "budget_reset_at": iso(period[1]) if period else None,
            "expires": iso(self.expires), "created_at": iso(self.created_at)}}


SETTINGS = ("key_alias", "models", "metadata", "max_budget", "budget_duration", "rpm_limit",
            "tpm_limit", "max_parallel_requests", "duration")


def parse_settings(body: Mapping[str, Any], *, now: float, allowed: tuple[str, ...] = SETTINGS,
                   ) -> dict[str, Any]:
    """Validated key settings from a request body: ``KeyRecord`` field -> value.

    ``duration`` becomes ``expires``. Unknown fields and wrong types are a 400 naming the field.
    """
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise GatewayError.bad_request(f"Unknown field(s): {', '.join(unknown)}. Accepted: "
                                       f"{', '.join(allowed)}.", param=unknown[0])
    out: dict[str, Any] = {}
    for name, value in body.items():
        out.update(_setting(name, value, now))
    return out


def _setting(name: str, value: Any, now: float) -> dict[str, Any]:
    def fail(expected: str) -> GatewayError:
        return GatewayError.bad_request(f"'{name}' must be {expected}, got {value!r}.", param=name)

    if name in ("key_alias", "budget_duration", "duration"):
        if value is not None and not isinstance(value, str):
            raise fail("a string or null")
        if name == "key_alias":
            return {name: value}
        if value is not None:
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                raise GatewayError.bad_request(f"'{name}': {exc}", param=name) from None
        if name == "budget_duration":
            return {name: value}
        return {"expires": None if value is None else now + seconds}
    if name == "models":
        if value is None:
            return {name: ()}
        if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
            raise fail("a list of model group names")
        return {name: tuple(value)}
    if name == "metadata":
        if value is None:
            return {name: {}}
        if not isinstance(value, dict):
            raise fail("an object")
        return {name: value}
    if name == "max_budget":
        if value is None:
            return {name: None}
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            raise fail("a number of USD, 0 or more")
        return {name: float(value)}
    if value is None:
        return {name: None}
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail("a whole number, 0 or more")
    return {name: value}
