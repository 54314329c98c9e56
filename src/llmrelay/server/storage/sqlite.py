"""SQLite through the standard ``sqlite3`` module on one dedicated thread.

Chosen by measurement (bench/db_drivers.py): one thread hop per whole operation is 5x faster
than aiosqlite for a key lookup. WAL journal mode lets ``--workers N`` share the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from ..durations import iso
from .base import SpendQuery, StoreUnavailable, apply_spend
from .rows import KEY_COLUMNS, change_values, key_from_row, key_values, spend_where
from .schema import MIGRATIONS, MIGRATIONS_TABLE

if TYPE_CHECKING:
    from ..keys import KeyRecord
    from ..spend.row import SpendRow

__all__ = ["SQLiteStore"]

T = TypeVar("T")
CONVERT_SLICE = 64
SPEND_COLUMNS = ("request_id", "api_key", "key_alias", "model_group", "deployment", "provider",
                 "model", "prompt_tokens", "completion_tokens", "total_tokens", "spend",
                 "start_time", "end_time", "status", "status_code", "cache_hit")


def _from_time(value: Any) -> float | None:
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


class SQLiteStore:
    dialect = "sqlite"

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="llmrelay-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from exc

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable("SQLite: not connected")
        return self._conn

    async def connect(self) -> None:
        def open_() -> sqlite3.Connection:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path) if self.path else ":memory:",
                                   isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            if self.path is not None:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            return conn

        try:
            self._conn = await self._run(open_)
        except OSError as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from exc

    async def migrate(self) -> list[int]:
        def apply() -> list[int]:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")  # the write lock: one process migrates at a time
            try:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
                             "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                done = {r[0] for r in conn.execute(f"SELECT version FROM {MIGRATIONS_TABLE}")}
                applied = []
                for version, statements in MIGRATIONS["sqlite"]:
                    if version in done:
                        continue
                    for sql in statements:
                        conn.execute(sql)
                    conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES (?, ?)",
                                 (version, iso(time.time())))
                    applied.append(version)
                conn.execute("COMMIT")
                return applied
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        return await self._run(apply)

    async def ping(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._run(lambda: self.conn.execute("SELECT 1").fetchone()), timeout)
            return True
        except (StoreUnavailable, asyncio.TimeoutError):
            return False

    def _get(self, token: str) -> KeyRecord | None:
        row = self.conn.execute(f"SELECT {', '.join(KEY_COLUMNS)} FROM llmrelay_keys WHERE token = ?",
                                (token,)).fetchone()
        return None if row is None else key_from_row(row, _from_time)

    async def get_key(self, token: str, timeout: float) -> KeyRecord | None:
        return await self._run(self._get, token)

    async def insert_key(self, record: KeyRecord) -> None:
        def insert() -> None:
            values = [*key_values(record, iso), iso(time.time())]
            marks = ", ".join("?" * len(values))
            self.conn.execute(f"INSERT INTO llmrelay_keys ({', '.join(KEY_COLUMNS)}, updated_at) "
                              f"VALUES ({marks})", values)

        await self._run(insert)

    async def update_key(self, token: str, changes: dict[str, Any]) -> KeyRecord | None:
        def update() -> KeyRecord | None:
            values = {**change_values(changes, iso), "updated_at": iso(time.time())}
            sets = ", ".join(f"{column} = ?" for column in values)
            self.conn.execute(f"UPDATE llmrelay_keys SET {sets} WHERE token = ?",
                              [*values.values(), token])
            return self._get(token)

        return await self._run(update)

    async def delete_keys(self, tokens: Sequence[str]) -> list[str]:
        def delete() -> list[str]:
            deleted = []
            self.conn.execute("BEGIN IMMEDIATE")
            for token in tokens:
                if self.conn.execute("DELETE FROM llmrelay_keys WHERE token = ?", (token,)).rowcount:
                    deleted.append(token)
            self.conn.execute("COMMIT")
            return deleted

        return await self._run(delete)

    async def write_spend(self, rows: Sequence[SpendRow]) -> int:
        # Rows become tuples here, a slice at a time, so the thread below runs mostly SQLite's
        # C code: Python work there would take the GIL from the event loop for milliseconds.
        unique = list(dict((r.request_id, r) for r in rows).values())
        values: list[tuple[Any, ...]] = []
        for start in range(0, len(unique), CONVERT_SLICE):
            values += [(r.request_id, r.api_key, r.key_alias, r.model_group, r.deployment,
                        r.provider, r.model, r.prompt_tokens, r.completion_tokens, r.total_tokens,
                        r.spend, iso(r.start_time), iso(r.end_time), r.status, r.status_code,
                        r.cache_hit) for r in unique[start:start + CONVERT_SLICE]]
            if start + CONVERT_SLICE < len(unique):
                await asyncio.sleep(0)

        def write() -> list[str]:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                known = {r[0] for r in conn.execute(
                    f"SELECT request_id FROM llmrelay_spend_logs WHERE request_id IN "
                    f"({', '.join('?' * len(values))})", [v[0] for v in values])} if values else set()
                conn.executemany(
                    f"INSERT INTO llmrelay_spend_logs ({', '.join(SPEND_COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(SPEND_COLUMNS))})",
                    [v for v in values if v[0] not in known] if known else values)
                by_key: dict[str, list[SpendRow]] = defaultdict(list)
                for row in unique:
                    if row.api_key and row.api_key != "master" and row.spend \
                            and row.request_id not in known:
                        by_key[row.api_key].append(row)
                for token, key_rows in by_key.items():
                    record = self._get(token)
                    change = None if record is None else apply_spend(record, key_rows)
                    if change is not None:
                        conn.execute("UPDATE llmrelay_keys SET spend = ?, budget_reset_at = ? "
                                     "WHERE token = ?", (change[0], iso(change[1]), token))
                conn.execute("COMMIT")
                return list(known)
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        return len(unique) - len(await self._run(write))

    async def spend_logs(self, query: SpendQuery) -> tuple[list[dict[str, Any]], int]:
        def read() -> tuple[list[dict[str, Any]], int]:
            where, args = spend_where(query, lambda n: "?", iso)
            total = self.conn.execute(f"SELECT COUNT(*) FROM llmrelay_spend_logs{where}", args).fetchone()[0]
            cursor = self.conn.execute(
                f"SELECT {', '.join(SPEND_COLUMNS)} FROM llmrelay_spend_logs{where} "
                "ORDER BY start_time DESC, request_id ASC LIMIT ? OFFSET ?",
                [*args, query.page_size, (query.page - 1) * query.page_size])
            data = []
            for row in cursor:
                item = dict(row)
                item["cache_hit"] = bool(item["cache_hit"])
                data.append(item)
            return data, int(total)

        return await self._run(read)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._pool, conn.close)
        self._pool.shutdown(wait=False)
