"""What a cache backend is: get and set bytes by key with a time to live, sync and async.

Three implement it (in-process LRU, SQLite on disk, Redis); the ``Cache`` front above them does
the keys, the encoding and the failing open, and does not know which one it has.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Store"]


class Store(Protocol):
    """A backend. ``where`` names it in logs (never with credentials); values of at least
    ``compress_from`` bytes are compressed before they get here (``None``: never)."""

    where: str
    compress_from: int | None

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl: float | None) -> None: ...
    async def aget(self, key: str) -> bytes | None: ...
    async def aset(self, key: str, value: bytes, ttl: float | None) -> None: ...
    def clear(self, prefix: str) -> None: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...
