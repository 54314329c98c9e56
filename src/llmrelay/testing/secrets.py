"""What a cassette must never write down: credential headers, key-bearing query parameters, and
the key values wherever else they appear (URLs, bodies, streamed bytes)."""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "is_secret_header", "is_secret_response_header", "scrub", "scrub_chunks",
           "secrets_of", "strip_url"]

REDACTED = "REDACTED"

_SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key",
    "x-amz-security-token", "cookie", "set-cookie",
})
# Header names with these words carry credentials whatever the provider calls them
# (``x-portkey-api-key``, ``cf-aig-authorization``, ...); AWS signs with every ``x-amz-*``.
_SECRET_WORDS = ("auth", "key", "token", "secret", "signature", "credential", "password")
_SECRET_PARAMS = frozenset({
    "key", "api_key", "api-key", "apikey", "access_token", "token", "auth", "sig", "signature",
    "x-amz-signature", "x-amz-credential", "x-amz-security-token",
})
# Shorter values are not scrubbed elsewhere: they would match ordinary text, and are no key.
MIN_SECRET = 6
_SCHEMES = ("bearer ", "basic ", "token ", "key ")


def is_secret_header(name: str) -> bool:
    """A request header that carries (or signs with) a credential."""
    lower = name.lower()
    return lower in _SECRET_HEADERS or lower.startswith("x-amz-") \
        or any(word in lower for word in _SECRET_WORDS)


def is_secret_response_header(name: str) -> bool:
    """A response header never kept (answers name tokens in rate-limit headers: those stay)."""
    return name.lower() in _SECRET_HEADERS


def is_secret_param(name: str) -> bool:
    return name.lower() in _SECRET_PARAMS


def secrets_of(url: str, headers: Mapping[str, str]) -> tuple[str, ...]:
    """The credential values a request carries, longest first (so a key inside a longer
    token is not half-replaced)."""
    found: set[str] = set()
    for name, value in headers.items():
        if not is_secret_header(name) or not value:
            continue
        found.add(value)
        lower = value.lower()
        for scheme in _SCHEMES:
            if lower.startswith(scheme):
                found.add(value[len(scheme):].strip())
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if is_secret_param(name) and value:
            found.add(value)
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True))


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (JSON) with every secret replaced by ``REDACTED``."""
    if not secrets:
        return value
    if isinstance(value, str):
        return _text(value, secrets)
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


def strip_url(url: str, secrets: tuple[str, ...], *, drop: bool) -> str:
    """``url`` with key-bearing query parameters redacted (``drop``: removed, for matching) and
    secrets scrubbed from the rest."""
    parts = urlsplit(url)
    query = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_param(name):
            if not drop:
                query.append((name, REDACTED))
        else:
            query.append((name, _text(value, secrets)))
    netloc = parts.netloc
    if "@" in netloc:  # user:password@host
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, _text(parts.path, secrets), urlencode(query),
                       parts.fragment))


def _text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub_chunks(chunks: list[bytes], secrets: tuple[str, ...]) -> list[bytes]:
    """Stream chunks with every secret replaced, also one split across two chunks; chunk
    boundaries stay where they were (a secret's replacement goes where it started)."""
    joined = b"".join(chunks)
    spans: list[tuple[int, int]] = []
    for secret in (s.encode() for s in secrets):
        start = joined.find(secret)
        while start != -1:
            spans.append((start, start + len(secret)))
            start = joined.find(secret, start + len(secret))
    if not spans:
        return chunks
    spans = _merged(spans)
    out: list[bytes] = []
    offset = 0
    for chunk in chunks:
        end = offset + len(chunk)
        piece = bytearray()
        position = offset
        for s_start, s_end in spans:
            if s_end <= position or s_start >= end:
                continue
            piece += joined[position:max(s_start, position)]
            if s_start >= offset:
                piece += REDACTED.encode()
            position = min(s_end, end)
        piece += joined[position:end]
        out.append(bytes(piece))
        offset = end
    return out


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans (a key inside the header value that holds it) as one."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
