"""What a caller that wraps ``completion()`` (the Router) tells the core about the calls it makes.

The core reads ``SCOPE`` once per call: the deployment and pricing alias go to ``resp.meta``, and
the wrapper may take over what it must do once per routed call (callbacks, the cache).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

__all__ = ["SCOPE", "CallScope", "scoped"]


@dataclass(frozen=True)
class CallScope:
    """``report=False``: the core runs no user callbacks (the wrapper reports once itself);
    ``cache=False``: the core neither reads nor writes the cache (the wrapper keys it)."""

    deployment: str | None = None
    base_model: str | None = None
    group: str | None = None
    report: bool = True
    cache: bool = True


SCOPE: ContextVar[CallScope | None] = ContextVar("llmrelay_call_scope", default=None)


@contextmanager
def scoped(scope: CallScope) -> Iterator[CallScope]:
    """Run the block's calls under ``scope``.

    >>> with scoped(CallScope(deployment="eu", report=False)):
    ...     resp = llmrelay.completion(model="azure/gpt-4o-eu", messages=msgs)
    >>> resp.meta.deployment
    'eu'
    """
    token = SCOPE.set(scope)
    try:
        yield scope
    finally:
        SCOPE.reset(token)
