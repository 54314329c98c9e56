"""AWS Signature Version 4 for one HTTP request, with hashlib and hmac only.

The algorithm of https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
as botocore's ``SigV4Auth`` applies it to every service but S3 (the path is encoded twice).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Mapping
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Headers we set; a caller's copy of any of them (extra_headers) is replaced, never doubled.
OWN_HEADERS = frozenset({"host", "x-amz-date", "x-amz-security-token", "authorization"})


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    session_token: str | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """``headers`` plus ``host``, ``x-amz-date``, ``x-amz-security-token`` (temporary
    credentials) and ``authorization``.

    Signed: ``host``, ``content-type`` and every ``x-amz-*`` header; the rest (``accept``,
    ``user-agent``, what a proxy may rewrite) is not. ``now`` is a Unix time (tests fix it).
    """
    amz_date = _timestamp(now)
    # Everything but the body's hash and the signature is the same for a second of calls to
    # one URL with one set of headers: worked out once.
    block_key = (url, tuple(headers.items()), amz_date, session_token)
    block = _blocks.get(block_key)
    if block is None:
        if len(_blocks) >= 64:
            _blocks.clear()  # (not an eviction loop: calls on other threads share the dict)
        block = _blocks[block_key] = _header_block(url, headers, amz_date, session_token)
    out, signed_names, canonical_headers, canonical_uri, canonical_query = block
    canonical_request = "\n".join((
        method.upper(),
        canonical_uri,
        canonical_query,
        canonical_headers,
        signed_names,
        hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256,
    ))
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = (f"{ALGORITHM}\n{amz_date}\n{scope}\n"
                      + hashlib.sha256(canonical_request.encode()).hexdigest())
    mac = signing_mac(secret_key, day, region, service).copy()
    mac.update(string_to_sign.encode())
    signed = dict(out)
    signed["authorization"] = (f"{ALGORITHM} Credential={access_key}/{scope}, "
                               f"SignedHeaders={signed_names}, Signature={mac.hexdigest()}")
    return signed


_blocks: dict[tuple[object, ...], tuple[dict[str, str], str, str, str, str]] = {}


def _header_block(url: str, headers: Mapping[str, str], amz_date: str,
                  session_token: str | None) -> tuple[dict[str, str], str, str, str, str]:
    """(headers to send but the signature, signed header names, canonical headers, canonical
    URI, canonical query)."""
    host, canonical_uri, canonical_query = _url_parts(url)
    out = {k: v for k, v in headers.items() if k.lower() not in OWN_HEADERS}
    out["host"] = host
    out["x-amz-date"] = amz_date
    if session_token:
        out["x-amz-security-token"] = session_token
    signed = sorted((k.lower(), " ".join(v.split())) for k, v in out.items()
                    if k.lower() in ("host", "content-type") or k.lower().startswith("x-amz-"))
    return (out, ";".join(name for name, _ in signed),
            "".join(f"{name}:{value}\n" for name, value in signed), canonical_uri, canonical_query)


_macs: dict[tuple[str, str, str, str], "hmac.HMAC"] = {}


def signing_mac(secret_key: str, day: str, region: str, service: str) -> "hmac.HMAC":
    """An HMAC-SHA256 keyed with the day's signing key, to be copied for each signature (the
    key's hashing is done once, not per request)."""
    cache_key = (secret_key, day, region, service)
    mac = _macs.get(cache_key)
    if mac is None:
        mac = hmac.new(signing_key(secret_key, day, region, service), digestmod=hashlib.sha256)
        if len(_macs) >= 64:
            _macs.clear()
        _macs[cache_key] = mac
    return mac


_keys: dict[tuple[str, str, str, str], bytes] = {}


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over the day, region, service and ``aws4_request``; the same all
    day, so derived once per day and credentials."""
    cache_key = (secret_key, day, region, service)
    key = _keys.get(cache_key)
    if key is None:
        key = ("AWS4" + secret_key).encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.digest(key, part.encode(), "sha256")
        if len(_keys) >= 64:
            _keys.clear()
        _keys[cache_key] = key
    return key


_last_second: tuple[int, str] = (-1, "")


def _timestamp(now: float | None) -> str:
    """``YYYYMMDD'T'HHMMSS'Z'`` in UTC, formatted once per second (one tuple, swapped whole,
    so threads never see a second paired with another second's text)."""
    global _last_second
    second = int(time.time() if now is None else now)
    last = _last_second
    if last[0] == second:
        return last[1]
    text = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
    _last_second = (second, text)
    return text


_urls: dict[str, tuple[str, str, str]] = {}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _url_parts(url: str) -> tuple[str, str, str]:
    """(Host header, canonical URI, canonical query) of ``url``, remembered per URL."""
    found = _urls.get(url)
    if found is not None:
        return found
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    # The path as sent (already percent-encoded), dot segments and empty segments removed,
    # then encoded once more: every service but S3 signs the double-encoded form.
    canonical_uri = quote(_normalize_path(parts.path), safe="/~")
    pairs = sorted(pair.partition("=")[::2] for pair in parts.query.split("&") if pair)
    found = (host, canonical_uri, "&".join(f"{k}={v}" for k, v in pairs))
    if len(_urls) >= 1024:
        _urls.clear()
    _urls[url] = found
    return found


def _normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal, also dropping empty segments (as AWS expects)."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing
