"""Key lookups: the database, behind a short cache.

An entry is trusted for ``ttl`` seconds (so a key deleted or changed on another replica stops
working within it); this replica's own changes update the cache at once. While the database is
down, cached keys keep working, however old; a key never seen gets ``auth_unavailable``.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .storage.base import StoreUnavailable

if TYPE_CHECKING:
    from .keys import KeyRecord
    from .storage.base import Store

__all__ = ["KeyCache"]

DEFAULT_TTL = 2.0
LOOKUP_TIMEOUT = 0.5
DOWN_RECHECK = 1.0  # while the database is down, try it at most this often per key


class KeyCache:
    def __init__(self, store: Store, *, ttl: float = DEFAULT_TTL,
                 timeout: float = LOOKUP_TIMEOUT) -> None:
        self.store = store
        self.ttl = ttl
        self.timeout = timeout
        self._entries: dict[str, tuple[KeyRecord | None, float]] = {}
        self._inflight: dict[str, asyncio.Future[KeyRecord | None]] = {}
        self.down_since: float | None = None

    async def get(self, token: str) -> KeyRecord | None:
        """The key with hash ``token`` (``None``: no such key); ``StoreUnavailable`` when the
        database cannot say and this replica has never seen the key."""
        entry = self._entries.get(token)
        now = time.monotonic()
        if entry is not None and now - entry[1] < self.ttl:
            return entry[0]
        if entry is not None and self.down_since is not None and now - entry[1] < DOWN_RECHECK + self.ttl:
            return entry[0]
        pending = self._inflight.get(token)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._inflight[token] = pending
            try:
                record = await self.store.get_key(token, self.timeout)
            except StoreUnavailable as exc:
                self.down_since = self.down_since or now
                del self._inflight[token]
                if entry is not None:
                    # Serve the stale entry; try the database again after DOWN_RECHECK.
                    self._entries[token] = (entry[0], now - self.ttl)
                    pending.set_result(entry[0])
                    return entry[0]
                pending.set_exception(exc)
                pending.exception()  # retrieved: waiters re-raise it
                raise
            self.down_since = None
            del self._inflight[token]
            if record is None:
                self._entries.pop(token, None)
            else:
                self._entries[token] = (record, now)
            pending.set_result(record)
            return record
        return await asyncio.shield(pending)

    def put(self, record: KeyRecord) -> None:
        self._entries[record.token] = (record, time.monotonic())

    def drop(self, token: str) -> None:
        self._entries.pop(token, None)
