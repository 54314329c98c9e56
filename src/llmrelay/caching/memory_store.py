"""The in-process backend: a thread-safe LRU of ``size`` entries, each with its own expiry."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

__all__ = ["MemoryStore"]


class MemoryStore:
    """Least recently used entries go first once ``size`` is reached; expired ones on read.

    Values are kept as the compact JSON they are (not compressed): compressing would cost more
    per hit than the whole lookup, and ``size`` bounds the memory anyway.
    """

    compress_from: int | None = None

    def __init__(self, size: int = 1000) -> None:
        self.where = f"memory (size {size})"
        self.size = size
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires = entry
            if expires is not None and expires <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        expires = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            self._entries[key] = (value, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        self.set(key, value, ttl)

    def clear(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k.startswith(prefix)]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def close(self) -> None:
        """Nothing to release: the entries go with the ``Cache``."""

    async def aclose(self) -> None:
        self.close()
