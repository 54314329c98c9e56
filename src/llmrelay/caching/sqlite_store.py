"""The on-disk backend: one SQLite file in WAL mode, shared by every thread and process that
opens it. Each thread (of each process) has its own connection, as SQLite wants.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["SQLiteStore", "sqlite_path"]

TABLE = "llmrelay_cache"
# Expired rows are read as misses at once; they are deleted every this many writes.
PRUNE_EVERY = 512


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite:///~/cache.db``."""
    rest = url[len("sqlite://"):]
    if not rest.startswith("/") or len(rest) < 2:
        raise ValueError(f"A SQLite cache URL is sqlite:///path (got {url!r})")
    path = rest[1:]
    if path == ":memory:":
        raise ValueError("sqlite:///:memory: is not shared between threads; use llmrelay.Cache() "
                         "for an in-process cache")
    return Path(os.path.expanduser(path))


class SQLiteStore:
    """Rows ``(key, value, expires_at)``; ``expires_at`` is wall-clock time, which processes
    share. ``timeout`` is how long a lock by another writer is waited for."""

    compress_from: int | None = 512

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.where = f"sqlite ({path})"
        self._local = threading.local()
        self._writes = 0

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn
        # First use in this thread, or a connection inherited across fork() (never reused).
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL: a commit does not wait for fsync; a power loss may
            # drop the last answers cached, never corrupt the file.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, "
                         "value BLOB NOT NULL, expires_at REAL) WITHOUT ROWID")
        except BaseException:
            conn.close()
            raise
        local.conn, local.pid = conn, os.getpid()
        return conn

    def get(self, key: str) -> bytes | None:
        row = self._connection().execute(
            f"SELECT value, expires_at FROM {TABLE} WHERE key = ?", (key,)).fetchone()
        if row is None or (row[1] is not None and row[1] <= time.time()):
            return None
        value: bytes = row[0]
        return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        conn = self._connection()
        now = time.time()
        conn.execute(f"INSERT OR REPLACE INTO {TABLE} (key, value, expires_at) VALUES (?, ?, ?)",
                     (key, value, None if ttl is None else now + ttl))
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            conn.execute(f"DELETE FROM {TABLE} WHERE expires_at <= ?", (now,))

    # SQLite answers from the local disk in microseconds: a thread hop would cost more than
    # the query. A lock held by another writer is waited for at most ``timeout``.
    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        self.set(key, value, ttl)

    def clear(self, prefix: str) -> None:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        self._connection().execute(f"DELETE FROM {TABLE} WHERE key LIKE ? ESCAPE '\\'",
                                   (escaped + "%",))

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()

    async def aclose(self) -> None:
        self.close()
