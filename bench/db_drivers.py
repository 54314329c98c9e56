"""Which async database driver the gateway uses, measured on its two hot queries.

Run by hand:  .venv/bin/python bench/db_drivers.py [--database-url postgresql://...]

The gateway touches the database for a key lookup (one row by primary key, when the short
cache misses) and for the spend writer (batches of rows inserted idempotently). Candidates:
SQLite through aiosqlite versus the standard sqlite3 module on one dedicated thread (one
thread hop per whole operation); PostgreSQL through asyncpg versus psycopg 3 (async).
Wall times swing with whatever else runs on the machine; the client-side CPU per operation is
the steadier number. Medians of interleaved rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

LOOKUPS = 3000
BATCHES = 40
BATCH = 100
CONCURRENT = 50

ROW = ("k" * 64, "alias", "chat", "chat/0", "openai", "gpt-4o-mini", 10, 5, 15, 0.0001,
       "2025-01-01T00:00:00Z", "2025-01-01T00:00:01Z", "success", 200, False)
COLUMNS = ("request_id, api_key, key_alias, model_group, deployment, provider, model, prompt_tokens, "
           "completion_tokens, total_tokens, spend, start_time, end_time, status, status_code, cache_hit")
TABLES = [
    "CREATE TABLE bench_keys (token TEXT PRIMARY KEY, key_alias TEXT, models TEXT, spend DOUBLE PRECISION)",
    "CREATE TABLE bench_spend (request_id TEXT PRIMARY KEY, api_key TEXT, key_alias TEXT, model_group TEXT, "
    "deployment TEXT, provider TEXT, model TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, "
    "total_tokens INTEGER, spend DOUBLE PRECISION, start_time TEXT, end_time TEXT, status TEXT, "
    "status_code INTEGER, cache_hit BOOLEAN)",
]


RESULTS: dict[tuple[str, str], list[tuple[float, float]]] = {}
SECTION = [""]


def section(name: str) -> None:
    SECTION[0] = name


async def timed(label: str, fn: Callable[[], Awaitable[Any]], count: int) -> None:
    """Wall time and this process's CPU time (every thread) per operation, in microseconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    await fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    RESULTS.setdefault((SECTION[0], label), []).append((wall / count * 1e6, cpu / count * 1e6))


async def bench_sqlite_aiosqlite(path: str) -> None:
    import aiosqlite

    async with aiosqlite.connect(path) as db:
        for sql in TABLES:
            await db.execute(sql.replace("bench_", "a_"))
        await db.execute("INSERT INTO a_keys VALUES ('h', 'x', '[]', 0)")
        await db.commit()

        async def lookups() -> None:
            for _ in range(LOOKUPS):
                async with db.execute("SELECT * FROM a_keys WHERE token = ?", ("h",)) as cur:
                    await cur.fetchone()

        async def concurrent() -> None:
            async def one() -> None:
                async with db.execute("SELECT * FROM a_keys WHERE token = ?", ("h",)) as cur:
                    await cur.fetchone()
            for _ in range(LOOKUPS // CONCURRENT):
                await asyncio.gather(*(one() for _ in range(CONCURRENT)))

        async def batches() -> None:
            for _ in range(BATCHES):
                rows = [(uuid.uuid4().hex, *ROW) for _ in range(BATCH)]
                await db.executemany(f"INSERT INTO a_spend ({COLUMNS}) VALUES ({','.join('?' * 16)}) "
                                     "ON CONFLICT (request_id) DO NOTHING", rows)
                await db.commit()

        section("SQLite, aiosqlite")
        await timed("key lookup, sequential", lookups, LOOKUPS)
        await timed(f"key lookup, {CONCURRENT} concurrent", concurrent, LOOKUPS)
        await timed(f"spend rows, batches of {BATCH} (per row)", batches, BATCHES * BATCH)


async def bench_sqlite_thread(path: str) -> None:
    pool = ThreadPoolExecutor(1)
    loop = asyncio.get_running_loop()
    conn: sqlite3.Connection = await loop.run_in_executor(
        pool, lambda: sqlite3.connect(path, check_same_thread=False, isolation_level=None))

    def setup() -> None:
        for sql in TABLES:
            conn.execute(sql.replace("bench_", "t_"))
        conn.execute("INSERT INTO t_keys VALUES ('h', 'x', '[]', 0)")

    await loop.run_in_executor(pool, setup)

    def lookup() -> Any:
        return conn.execute("SELECT * FROM t_keys WHERE token = ?", ("h",)).fetchone()

    async def lookups() -> None:
        for _ in range(LOOKUPS):
            await loop.run_in_executor(pool, lookup)

    async def concurrent() -> None:
        for _ in range(LOOKUPS // CONCURRENT):
            await asyncio.gather(*(loop.run_in_executor(pool, lookup) for _ in range(CONCURRENT)))

    def write(rows: list[Any]) -> None:
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO t_spend ({COLUMNS}) VALUES ({','.join('?' * 16)}) "
                         "ON CONFLICT (request_id) DO NOTHING", rows)
        conn.execute("COMMIT")

    async def batches() -> None:
        for _ in range(BATCHES):
            rows = [(uuid.uuid4().hex, *ROW) for _ in range(BATCH)]
            await loop.run_in_executor(pool, write, rows)

    section("SQLite, sqlite3 on one thread")
    await timed("key lookup, sequential", lookups, LOOKUPS)
    await timed(f"key lookup, {CONCURRENT} concurrent", concurrent, LOOKUPS)
    await timed(f"spend rows, batches of {BATCH} (per row)", batches, BATCHES * BATCH)
    pool.shutdown()


async def bench_asyncpg(url: str, schema: str) -> None:
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=4, max_size=4,
                                     server_settings={"search_path": schema})
    async with pool.acquire() as c:
        for sql in TABLES:
            await c.execute(sql.replace("bench_", "p_"))
        await c.execute("INSERT INTO p_keys VALUES ('h', 'x', '[]', 0)")

    async def one() -> None:
        async with pool.acquire() as c:
            await c.fetchrow("SELECT * FROM p_keys WHERE token = $1", "h")

    async def lookups() -> None:
        for _ in range(LOOKUPS):
            await one()

    async def concurrent() -> None:
        for _ in range(LOOKUPS // CONCURRENT):
            await asyncio.gather(*(one() for _ in range(CONCURRENT)))

    marks = ",".join(f"${i}" for i in range(1, 17))

    async def batches() -> None:
        for _ in range(BATCHES):
            rows = [(uuid.uuid4().hex, *ROW) for _ in range(BATCH)]
            async with pool.acquire() as c, c.transaction():
                await c.executemany(f"INSERT INTO p_spend ({COLUMNS}) VALUES ({marks}) "
                                    "ON CONFLICT (request_id) DO NOTHING", rows)

    section("PostgreSQL, asyncpg (pool of 4)")
    await timed("key lookup, sequential", lookups, LOOKUPS)
    await timed(f"key lookup, {CONCURRENT} concurrent", concurrent, LOOKUPS)
    await timed(f"spend rows, batches of {BATCH} (per row)", batches, BATCHES * BATCH)
    await pool.close()


async def bench_psycopg(url: str, schema: str) -> None:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=4, max_size=4, open=False,
                               kwargs={"options": f"-c search_path={schema}", "autocommit": True})
    await pool.open()
    async with pool.connection() as c:
        for sql in TABLES:
            await c.execute(sql.replace("bench_", "q_"))
        await c.execute("INSERT INTO q_keys VALUES ('h', 'x', '[]', 0)")

    async def one() -> None:
        async with pool.connection() as c:
            await (await c.execute("SELECT * FROM q_keys WHERE token = %s", ("h",))).fetchone()

    async def lookups() -> None:
        for _ in range(LOOKUPS):
            await one()

    async def concurrent() -> None:
        for _ in range(LOOKUPS // CONCURRENT):
            await asyncio.gather(*(one() for _ in range(CONCURRENT)))

    async def batches() -> None:
        for _ in range(BATCHES):
            rows = [(uuid.uuid4().hex, *ROW) for _ in range(BATCH)]
            async with pool.connection() as c, c.transaction(), c.cursor() as cur:
                await cur.executemany(f"INSERT INTO q_spend ({COLUMNS}) VALUES ({','.join(['%s'] * 16)}) "
                                      "ON CONFLICT (request_id) DO NOTHING", rows)

    section("PostgreSQL, psycopg 3 async (pool of 4)")
    await timed("key lookup, sequential", lookups, LOOKUPS)
    await timed(f"key lookup, {CONCURRENT} concurrent", concurrent, LOOKUPS)
    await timed(f"spend rows, batches of {BATCH} (per row)", batches, BATCHES * BATCH)
    await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get(
        "LLMRELAY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--rounds", type=int, default=3, help="medians of this many rounds")
    args = parser.parse_args()
    for _ in range(args.rounds):
        await one_round(args.database_url)
    current = ""
    for (name, label), values in RESULTS.items():
        if name != current:
            print(name)
            current = name
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"  {label:<44} {wall:8.1f} us/op wall  {cpu:8.1f} us/op CPU (client side)")


async def one_round(database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await bench_sqlite_aiosqlite(os.path.join(tmp, "a.db"))
        await bench_sqlite_thread(os.path.join(tmp, "t.db"))
    import asyncpg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        await bench_asyncpg(database_url, schema)
        await bench_psycopg(database_url, schema)
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
