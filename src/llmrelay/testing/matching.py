"""When a live request is a recorded one: same method, same URL (secrets removed, query order
ignored) and equal parsed JSON bodies; headers never count. And, when none is, which recording
comes closest and what differs, for ``CassetteMissError``.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .secrets import is_secret_param

__all__ = ["differences", "match_key", "normal_url"]

MAX_SHOWN = 8


def normal_url(url: str) -> str:
    """Scheme and host in lower case, key-bearing parameters removed, the rest sorted."""
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not is_secret_param(k))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/",
                       urlencode(query), ""))


def match_key(method: str, url: str, body: Any) -> tuple[str, str, str]:
    """What two requests share exactly when they are the same request."""
    return (method.upper(), normal_url(url),
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def differences(live: Mapping[str, Any], recorded: Mapping[str, Any]) -> list[str]:
    """What tells ``live`` from ``recorded`` (both ``{"method", "url", "body"}``), one line each."""
    out: list[str] = []
    if live["method"].upper() != recorded["method"].upper():
        out.append(f"method: {live['method']} here, {recorded['method']} recorded")
    live_url, rec_url = urlsplit(normal_url(live["url"])), urlsplit(normal_url(recorded["url"]))
    if live_url[:3] != rec_url[:3]:
        out.append(f"URL: {urlunsplit((*live_url[:3], '', ''))} here, "
                   f"{urlunsplit((*rec_url[:3], '', ''))} recorded")
    if live_url.query != rec_url.query:
        out.append(f"URL query: {live_url.query or '(none)'!r} here, "
                   f"{rec_url.query or '(none)'!r} recorded")
    body = list(_diff(live.get("body"), recorded.get("body"), "$"))
    out.extend(f"body {line}" for line in body[:MAX_SHOWN])
    if len(body) > MAX_SHOWN:
        out.append(f"... and {len(body) - MAX_SHOWN} more differences in the body")
    return out


def distance(live: Mapping[str, Any], recorded: Mapping[str, Any]) -> int:
    """How far apart two requests are: the method and URL weigh most, then each body change."""
    score = 0
    if live["method"].upper() != recorded["method"].upper():
        score += 1000
    if urlsplit(normal_url(live["url"]))[:3] != urlsplit(normal_url(recorded["url"]))[:3]:
        score += 100
    elif normal_url(live["url"]) != normal_url(recorded["url"]):
        score += 10
    return score + sum(1 for _ in _diff(live.get("body"), recorded.get("body"), "$"))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _diff(here: Any, there: Any, path: str) -> Iterator[str]:
    if isinstance(here, dict) and isinstance(there, dict):
        for key in sorted(set(here) | set(there), key=str):
            where = f"{path}.{key}"
            if key not in there:
                yield f"{where}: {_show(here[key])} here, missing in the recording"
            elif key not in here:
                yield f"{where}: missing here, {_show(there[key])} recorded"
            else:
                yield from _diff(here[key], there[key], where)
        return
    if isinstance(here, list) and isinstance(there, list):
        for i, (a, b) in enumerate(zip(here, there)):
            yield from _diff(a, b, f"{path}[{i}]")
        if len(here) != len(there):
            yield f"{path}: {len(here)} items here, {len(there)} recorded"
        return
    if here != there or (type(here) is not type(there) and not _numbers(here, there)):
        yield f"{path}: {_show(here)} here, {_show(there)} recorded"


def _numbers(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) \
        and not isinstance(a, bool) and not isinstance(b, bool)
