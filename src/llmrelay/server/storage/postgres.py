"""PostgreSQL through asyncpg, a pool per worker process.

Chosen by measurement (bench/db_drivers.py): asyncpg answers a key lookup in about half the
time psycopg 3 takes. Migrations run under a session advisory lock, so replicas starting
together apply them once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Sequence, TypeVar

from .base import SpendQuery, StoreUnavailable, apply_spend
from .rows import KEY_COLUMNS, change_values, key_from_row, key_values, spend_where
from .schema import MIGRATIONS, MIGRATIONS_TABLE

if TYPE_CHECKING:
    import asyncpg

    from ..keys import KeyRecord
    from ..spend.row import SpendRow

__all__ = ["PostgresStore"]

T = TypeVar("T")
MIGRATION_LOCK = 0x6C6C6D72656C6179  # "llmrelay": one advisory lock id for every replica
SPEND_TYPES = (("request_id", "text"), ("api_key", "text"), ("key_alias", "text"),
               ("model_group", "text"), ("deployment", "text"), ("provider", "text"),
               ("model", "text"), ("prompt_tokens", "int4"), ("completion_tokens", "int4"),
               ("total_tokens", "int4"), ("spend", "float8"), ("start_time", "timestamptz"),
               ("end_time", "timestamptz"), ("status", "text"), ("status_code", "int4"),
               ("cache_hit", "bool"))
SPEND_COLUMNS = tuple(name for name, _ in SPEND_TYPES)
_INSERT_SPEND = (
    f"INSERT INTO llmrelay_spend_logs ({', '.join(SPEND_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(SPEND_TYPES, 1))
    + ") ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
)
STATEMENT_TIMEOUT = 10.0
CONVERT_SLICE = 64


def _to_time(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)


def _from_time(value: Any) -> float | None:
    return None if value is None else float(value.timestamp())


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _safe(exc: BaseException) -> str:
    """An error message with any URL password removed."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:****@", f"{type(exc).__name__}: {exc}")


class PostgresStore:
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self._url = url
        self._size = max(1, pool_size)
        self._pool: asyncpg.Pool | None = None

    def __repr__(self) -> str:
        return "PostgresStore()"

    async def _call(self, coro: Awaitable[T], timeout: float = STATEMENT_TIMEOUT) -> T:
        import asyncpg

        try:
            return await asyncio.wait_for(coro, timeout)
        except asyncio.TimeoutError:
            raise StoreUnavailable("PostgreSQL: timed out") from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(f"PostgreSQL: {_safe(exc)}") from None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreUnavailable("PostgreSQL: not connected")
        return self._pool

    async def connect(self) -> None:
        import asyncpg

        self._pool = await self._call(asyncpg.create_pool(
            self._url, min_size=1, max_size=self._size, command_timeout=STATEMENT_TIMEOUT,
            max_inactive_connection_lifetime=60.0, timeout=5.0), timeout=10.0)

    async def migrate(self) -> list[int]:
        async def apply() -> list[int]:
            async with self.pool.acquire() as conn:
                await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                try:
                    async with conn.transaction():
                        await conn.execute(
                            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
                            "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
                        done = {r[0] for r in await conn.fetch(f"SELECT version FROM {MIGRATIONS_TABLE}")}
                        applied = []
                        for version, statements in MIGRATIONS["postgresql"]:
                            if version in done:
                                continue
                            for sql in statements:
                                await conn.execute(sql)
                            await conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES ($1, now())",
                                               version)
                            applied.append(version)
                        return applied
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

        return await self._call(apply(), timeout=60.0)

    async def ping(self, timeout: float) -> bool:
        try:
            await self._call(self.pool.fetchval("SELECT 1", timeout=timeout), timeout)
            return True
        except StoreUnavailable:
            return False

    async def get_key(self, token: str, timeout: float) -> KeyRecord | None:
        row = await self._call(self.pool.fetchrow(
            f"SELECT {', '.join(KEY_COLUMNS)} FROM llmrelay_keys WHERE token = $1", token,
            timeout=timeout), timeout)
        return None if row is None else key_from_row(row, _from_time)

    async def insert_key(self, record: KeyRecord) -> None:
        values = [*key_values(record, _to_time), _to_time(time.time())]
        marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        await self._call(self.pool.execute(
            f"INSERT INTO llmrelay_keys ({', '.join(KEY_COLUMNS)}, updated_at) VALUES ({marks})",
            *values))

    async def update_key(self, token: str, changes: dict[str, Any]) -> KeyRecord | None:
        values = {**change_values(changes, _to_time), "updated_at": _to_time(time.time())}
        sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, 2))
        row = await self._call(self.pool.fetchrow(
            f"UPDATE llmrelay_keys SET {sets} WHERE token = $1 RETURNING {', '.join(KEY_COLUMNS)}",
            token, *values.values()))
        return None if row is None else key_from_row(row, _from_time)

    async def delete_keys(self, tokens: Sequence[str]) -> list[str]:
        rows = await self._call(self.pool.fetch(
            "DELETE FROM llmrelay_keys WHERE token = ANY($1::text[]) RETURNING token", list(tokens)))
        gone = {r["token"] for r in rows}
        return [t for t in dict.fromkeys(tokens) if t in gone]

    async def write_spend(self, rows: Sequence[SpendRow]) -> int:
        async def write() -> int:
            columns: list[list[Any]] = [[] for _ in SPEND_COLUMNS]
            for n, row in enumerate(rows, 1):
                for i, name in enumerate(SPEND_COLUMNS):
                    value = getattr(row, name)
                    columns[i].append(_to_time(value) if name in ("start_time", "end_time") else value)
                if n % CONVERT_SLICE == 0:
                    await asyncio.sleep(0)  # a big batch must not hold the event loop
            async with self.pool.acquire() as conn, conn.transaction():
                inserted = {r["request_id"] for r in await conn.fetch(_INSERT_SPEND, *columns)}
                fresh: dict[str, list[SpendRow]] = defaultdict(list)
                for row in rows:
                    if row.request_id in inserted and row.api_key and row.spend:
                        fresh[row.api_key].append(row)
                if fresh:
                    # Rows locked in a fixed order: two writers never deadlock on the same keys.
                    records = await conn.fetch(
                        f"SELECT {', '.join(KEY_COLUMNS)} FROM llmrelay_keys WHERE token = ANY($1::text[]) "
                        "ORDER BY token FOR UPDATE", sorted(fresh))
                    updates = []
                    for found in records:
                        record = key_from_row(found, _from_time)
                        change = apply_spend(record, fresh[record.token])
                        if change is not None:
                            updates.append((change[0], _to_time(change[1]), record.token))
                    if updates:
                        await conn.executemany("UPDATE llmrelay_keys SET spend = $1, "
                                               "budget_reset_at = $2 WHERE token = $3", updates)
                return len(inserted)

        return await self._call(write())

    async def spend_logs(self, query: SpendQuery) -> tuple[list[dict[str, Any]], int]:
        where, args = spend_where(query, lambda n: f"${n}", _to_time)
        n = len(args)
        async with self.pool.acquire() as conn:
            total = await self._call(conn.fetchval(f"SELECT COUNT(*) FROM llmrelay_spend_logs{where}", *args))
            rows = await self._call(conn.fetch(
                f"SELECT {', '.join(SPEND_COLUMNS)} FROM llmrelay_spend_logs{where} "
                f"ORDER BY start_time DESC, request_id ASC LIMIT ${n + 1} OFFSET ${n + 2}",
                *args, query.page_size, (query.page - 1) * query.page_size))
        data = []
        for row in rows:
            item = dict(row)
            item["start_time"] = _iso(item["start_time"])
            item["end_time"] = _iso(item["end_time"])
            data.append(item)
        return data, int(total)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), 5.0)
            except (asyncio.TimeoutError, OSError):
                pool.terminate()
