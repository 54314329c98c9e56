"""The shared backend: Redis through the ``redis`` client library (``pip install
llmrelay[redis]``), one pooled sync client and one async client per event loop.

A lookup is one ``GET``, a store one ``SET ... PX``; both give up after the cache's
``timeout`` and are never retried (the caller goes to the provider instead).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TYPE_CHECKING, Any, AsyncIterator
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisStore", "safe_url"]


def safe_url(url: str) -> str:
    """The URL without its password, for logs and reprs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:****@" if parts.username else ":****@"
    host = parts.hostname or ""
    netloc = user + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ImportError("A Redis cache needs the redis client: pip install 'llmrelay[redis]'") \
            from exc
    return redis


def _ms(ttl: float) -> int:
    return max(int(ttl * 1000), 1)


class RedisStore:
    """Keys as the ``Cache`` makes them (namespace-prefixed hashes); values as bytes."""

    compress_from: int | None = 512

    def __init__(self, url: str, timeout: float) -> None:
        redis_ = _import_redis()  # fail at construction, not at the first call
        self.url = url
        self.timeout = timeout
        self.where = f"redis ({safe_url(url)})"
        self._redis = redis_
        self._sync: redis.Redis | None = None
        self._lock = threading.Lock()
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary())

    def _options(self) -> dict[str, Any]:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: a cache that does not answer in ``timeout`` is skipped, not waited for.
        return {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout,
                "retry": Retry(NoBackoff(), 0), "max_connections": 64}

    def _client(self) -> "redis.Redis":
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    self._sync = self._redis.Redis.from_url(self.url, **self._options())
                client = self._sync
        return client

    async def _aclient(self) -> "redis.asyncio.Redis":
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is not None:
            client: redis.asyncio.Redis = entry[0]
            return client
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self.url, **self._options())
        keeper = _close_with_loop(client)
        await keeper.__anext__()
        self._async[loop] = (client, keeper)
        return client

    def get(self, key: str) -> bytes | None:
        value: Any = self._client().get(key)
        return value  # type: ignore[no-any-return]

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._client().set(key, value, px=None if ttl is None else _ms(ttl))

    async def aget(self, key: str) -> bytes | None:
        client = await self._aclient()
        value: Any = await client.get(key)
        return value  # type: ignore[no-any-return]

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        client = await self._aclient()
        await client.set(key, value, px=None if ttl is None else _ms(ttl))

    def clear(self, prefix: str) -> None:
        client = self._client()
        batch: list[bytes] = []
        for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)

    def close(self) -> None:
        client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close this event loop's client (and the sync one)."""
        entry = self._async.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()
        self.close()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


async def _close_with_loop(client: Any) -> AsyncIterator[None]:
    """Parked async generator: ``loop.shutdown_asyncgens()`` (run by ``asyncio.run``) closes
    it, and so the client's connections, before the loop goes away."""
    try:
        yield
    finally:
        await client.aclose()
