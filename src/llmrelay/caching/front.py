"""``llmrelay.Cache``: the backend chosen by URL, the key namespace and default TTL, and the rule
that the cache never breaks a call (a failing backend is logged once and skipped a moment).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from .controls import Controls, check_namespace, check_ttl
from .keys import request_key
from .memory_store import MemoryStore

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .store import Store

__all__ = ["Cache"]

log = logging.getLogger("llmrelay")

DEFAULT_NAMESPACE = "llmrelay"
DEFAULT_TIMEOUT = 0.25


class Cache:
    """The response cache: set ``llmrelay.cache = llmrelay.Cache(...)``.

    >>> llmrelay.cache = llmrelay.Cache()                                    # in-process LRU
    >>> llmrelay.cache = llmrelay.Cache("sqlite:///~/.cache/llmrelay.db", ttl=86400)
    >>> llmrelay.cache = llmrelay.Cache("redis://localhost:6379/0", ttl=600, namespace="app")

    ``ttl`` (seconds, ``None``: no expiry) and ``namespace`` (the key prefix) are defaults a call
    can override with ``cache={"ttl": ..., "namespace": ...}``. ``timeout`` bounds each backend
    operation (Redis socket, SQLite lock wait). ``size`` is the in-process LRU's entry count.
    Safe across threads and event loops.
    """

    # After a failure the backend is left alone this long (no call pays its timeout again
    # meanwhile); then the next call tries it again.
    retry_after = 1.0

    def __init__(self, url: str | None = None, *, ttl: float | None = None,
                 namespace: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 size: int = 1000) -> None:
        self._ttl = check_ttl(ttl, "ttl")
        self._namespace = check_namespace(namespace, "namespace") or DEFAULT_NAMESPACE
        self._refresh()
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
                or not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.timeout = float(timeout)
        self.store: Store = _open(url, self.timeout, size)
        self._failing = False
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float | None:
        """Seconds an entry lives unless a call says otherwise (``None``: until evicted)."""
        return self._ttl

    @ttl.setter
    def ttl(self, value: float | None) -> None:
        self._ttl = check_ttl(value, "ttl")
        self._refresh()

    @property
    def namespace(self) -> str:
        """The prefix of this cache's keys unless a call says otherwise."""
        return self._namespace

    @namespace.setter
    def namespace(self, value: str) -> None:
        self._namespace = check_namespace(value, "namespace") or DEFAULT_NAMESPACE
        self._refresh()

    def _refresh(self) -> None:
        # What a call without ``cache=`` gets, made once rather than per call.
        self.defaults = Controls(True, True, self._ttl, self._namespace)

    def key(self, payload: Mapping[str, Any], namespace: str | None = None) -> str:
        """The key of a canonical request (``namespace`` overrides the cache's)."""
        return request_key(namespace or self.namespace, payload)

    # ---- the backend, failing open -----------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The stored value, or ``None`` (missing, expired, or the backend failed)."""
        if self._down_until and not self._may_try():
            return None
        try:
            value = self.store.get(key)
        except Exception as exc:
            self.failed(exc)
            return None
        if self._failing:
            self._recovered()
        return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        if self._down_until and not self._may_try():
            return
        try:
            self.store.set(key, value, ttl)
        except Exception as exc:
            self.failed(exc)
            return
        if self._failing:
            self._recovered()

    async def aget(self, key: str) -> bytes | None:
        if self._down_until and not self._may_try():
            return None
        try:
            value = await self.store.aget(key)
        except Exception as exc:
            self.failed(exc)
            return None
        if self._failing:
            self._recovered()
        return value

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        if self._down_until and not self._may_try():
            return
        try:
            await self.store.aset(key, value, ttl)
        except Exception as exc:
            self.failed(exc)
            return
        if self._failing:
            self._recovered()

    def _may_try(self) -> bool:
        if time.monotonic() < self._down_until:
            return False
        self._down_until = 0.0
        return True

    def failed(self, exc: BaseException, *, skip: bool = True) -> None:
        """Log the first failure (until the backend recovers); ``skip``: leave the backend
        alone for ``retry_after`` seconds."""
        with self._lock:
            first = not self._failing
            self._failing = True
            if skip:
                self._down_until = time.monotonic() + self.retry_after
        if first:
            log.warning("llmrelay cache %s failed, calls go to the provider until it answers "
                        "again: %s: %s", self.store.where, type(exc).__name__, exc)

    def _recovered(self) -> None:
        with self._lock:
            was, self._failing = self._failing, False
        if was:
            log.info("llmrelay cache %s answers again", self.store.where)

    # ---- management ----------------------------------------------------------------------------

    def clear(self, namespace: str | None = None) -> None:
        """Remove every entry of ``namespace`` (default: this cache's)."""
        self.store.clear(f"{namespace or self.namespace}:")

    def close(self) -> None:
        """Release the backend's connections (the cache opens new ones if used again)."""
        self.store.close()

    async def aclose(self) -> None:
        await self.store.aclose()

    def __repr__(self) -> str:
        return (f"Cache({self.store.where}, ttl={self.ttl!r}, namespace={self.namespace!r}, "
                f"timeout={self.timeout!r})")


def _open(url: str | None, timeout: float, size: int) -> Store:
    if url is None or url in ("", "memory://"):
        return MemoryStore(size)
    if not isinstance(url, str):
        raise ValueError(f"Cache takes a URL string or None, got {type(url).__name__}")
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        from .sqlite_store import SQLiteStore, sqlite_path

        return SQLiteStore(sqlite_path(url), timeout)
    if scheme in ("redis", "rediss", "unix"):
        from .redis_store import RedisStore

        return RedisStore(url, timeout)
    from .redis_store import safe_url

    raise ValueError(f"Unknown cache URL {safe_url(url)!r}: use None (in-process), "
                     "sqlite:///path or redis://host:port/db")
