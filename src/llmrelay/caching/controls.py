"""Per-call cache controls: ``cache={"no-cache": True, "no-store": True, "ttl": 60,
"namespace": "tenant-a"}``, checked before anything is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..exceptions import BadRequestError
from .front import check_namespace, check_ttl

if TYPE_CHECKING:
    from .front import Cache

__all__ = ["Controls", "controls_for"]

KNOWN = ("no-cache", "no-store", "ttl", "namespace")


class Controls(NamedTuple):
    """``read``: look the answer up; ``write``: store it with ``ttl`` (seconds or ``None``)
    under ``namespace``."""

    read: bool
    write: bool
    ttl: float | None
    namespace: str



def controls_for(cache: "Cache", options: Any) -> Controls:
    """The controls of a call on ``cache``; ``BadRequestError`` for malformed ``options``."""
    if options is None:
        return Controls(True, True, cache.ttl, cache.namespace)
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
