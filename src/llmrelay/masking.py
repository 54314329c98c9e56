"""Secrets out of everything a user may see: keys masked in headers, URLs, bodies and reprs.

The bottom of the core: it imports nothing from llmrelay.
"""

from __future__ import annotations

from typing import Any, Mapping

SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization",
                            "x-goog-api-key", "x-amz-security-token"})


def mask_secret(secret: str | None) -> str:
    """``sk-abc...xyz`` -> ``sk-a****xyz``: enough to tell keys apart, never enough to use."""
    if not secret:
        return ""
    if len(secret) <= 8:
        return "****"
    return f"{secret[:4]}****{secret[-4:]}"


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """A copy of ``value`` with every secret string replaced by its mask."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, mask_secret(secret))
        return value
    if isinstance(value, Mapping):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secrets) for v in value]
    return value


def mask_headers(headers: Mapping[str, str], secrets: tuple[str, ...]) -> dict[str, str]:
    """Auth headers masked whole; the secrets masked wherever else they appear."""
    return {
        k: mask_secret(v) if k.lower() in SECRET_HEADERS else scrub(v, secrets)
        for k, v in headers.items()
    }
