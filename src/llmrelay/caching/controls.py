"""Per-call cache controls: ``cache={"no-cache": True, "no-store": True, "ttl": 60,
"namespace": "tenant-a"}``, checked before anything is sent."""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Protocol

from ..exceptions import BadRequestError

__all__ = ["Controls", "check_namespace", "check_ttl", "controls_for"]

KNOWN = ("no-cache", "no-store", "ttl", "namespace")


class Controls(NamedTuple):
    """``read``: look the answer up; ``write``: store it with ``ttl`` (seconds or ``None``)
    under ``namespace``."""

    read: bool
    write: bool
    ttl: float | None
    namespace: str



class HasDefaults(Protocol):
    """A ``Cache``, as far as the controls are concerned."""

    @property
    def defaults(self) -> Controls: ...
    @property
    def ttl(self) -> float | None: ...
    @property
    def namespace(self) -> str: ...


def controls_for(cache: HasDefaults, options: Any) -> Controls:
    """The controls of a call on ``cache``; ``BadRequestError`` for malformed ``options``."""
    if options is None:
        return cache.defaults
    if not isinstance(options, dict):
        raise BadRequestError(f"cache= must be a dict of {', '.join(KNOWN)}, got "
                              f"{type(options).__name__}", code="invalid_request")
    unknown = [k for k in options if k not in KNOWN]
    if unknown:
        raise BadRequestError(f"Unknown cache control {unknown[0]!r}; known: {', '.join(KNOWN)}",
                              code="invalid_request")
    try:
        ttl = check_ttl(options["ttl"], "cache ttl") if "ttl" in options else cache.ttl
        namespace = check_namespace(options.get("namespace"), "cache namespace")
    except ValueError as exc:
        raise BadRequestError(str(exc), code="invalid_request") from None
    return Controls(not options.get("no-cache"), not options.get("no-store"), ttl,
                    namespace or cache.namespace)


def check_ttl(ttl: Any, name: str) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) \
            or ttl <= 0:
        raise ValueError(f"{name} must be a positive number of seconds or None, got {ttl!r}")
    return float(ttl)


def check_namespace(namespace: Any, name: str) -> str | None:
    if namespace is None:
        return None
    if not isinstance(namespace, str) or not namespace:
        raise ValueError(f"{name} must be a non-empty string, got {namespace!r}")
    return namespace
