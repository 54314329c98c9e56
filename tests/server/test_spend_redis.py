"""The Redis spend sink in process: rows through the stream into the database once each, rows a
dead writer read but never acknowledged claimed by a live one, and the local write-ahead file
while Redis is away."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import AsyncIterator

import pytest
import redis.asyncio as aioredis

from llmrelay.server.redis_link import RedisLink
from llmrelay.server.spend import redis as spend_redis
from llmrelay.server.spend.redis import GROUP, RedisSpendSink
from llmrelay.server.spend.row import SpendRow
from llmrelay.server.storage import SpendQuery, Store, open_store, parse_database_url

from ..services import REDIS_PREFIX, RedisServer


def _row(key: str = "k1") -> SpendRow:
    now = time.time()
    return SpendRow(f"req_{uuid.uuid4().hex}", key, None, "chat", "chat/0", "openai", "gpt-4o-mini",
                    3, 4, 7, 0.001, now, now + 0.01, "success", 200, False)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(parse_database_url(f"sqlite:///{tmp_path}/spend.db", tmp_path))
    await s.connect()
    await s.migrate()
    yield s
    await s.close()


async def _stored(store: Store) -> set[str]:
    rows, _ = await store.spend_logs(SpendQuery(page_size=1000))
    return {r["request_id"] for r in rows}


async def _until(store: Store, ids: set[str], timeout: float) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        stored = await _stored(store)
        if ids <= stored or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(0.05)


async def test_rows_reach_the_database_once_and_leave_the_stream(
        redis_url: str, store: Store, tmp_path: Path) -> None:
    stream = f"{REDIS_PREFIX}:spend:{uuid.uuid4().hex[:8]}"
    link = RedisLink(redis_url)
    sink = RedisSpendSink(store, link, stream, tmp_path / "spool")
    await sink.start()
    try:
        rows = [_row() for _ in range(50)]
        await asyncio.gather(*(sink.record(r) for r in rows))
        assert await sink.flush(5.0)
        assert await _stored(store) >= {r.request_id for r in rows}
        assert await link.command("XLEN", stream) == 0  # written rows leave the stream
        # The same row again (a writer that died after its commit, before its XACK): stored once.
        await sink.record(rows[0])
        assert await sink.flush(5.0)
        _, total = await store.spend_logs(SpendQuery())
        assert total == 50
    finally:
        await sink.close(5.0)
        await link.close()


async def test_rows_a_dead_writer_left_unacknowledged_are_claimed(
        redis_url: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spend_redis, "CLAIM_EVERY", 0.2)
    stream = f"{REDIS_PREFIX}:spend:{uuid.uuid4().hex[:8]}"
    raw = aioredis.Redis.from_url(redis_url)
    await raw.xgroup_create(stream, GROUP, "0", mkstream=True)
    rows = [_row() for _ in range(5)]
    for row in rows:
        await raw.xadd(stream, {"r": json.dumps(row.to_record())})
    taken = await raw.xreadgroup(GROUP, "dead-replica", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 5  # read by a replica that then died: pending, never acknowledged
    link = RedisLink(redis_url)
    sink = RedisSpendSink(store, link, stream, tmp_path / "spool", claim_idle=0.3)
    await sink.start()
    try:
        ids = {r.request_id for r in rows}
        assert ids <= await _until(store, ids, 5.0)
        assert (await raw.xpending(stream, GROUP))["pending"] == 0
    finally:
        await sink.close(5.0)
        await link.close()
        await raw.delete(stream)
        await raw.aclose()


async def test_redis_away_rows_go_to_the_write_ahead_file(store: Store, tmp_path: Path) -> None:
    server = RedisServer()
    link = RedisLink(server.url)
    sink = RedisSpendSink(store, link, f"{REDIS_PREFIX}:spend:x", tmp_path / "spool")
    await sink.start()
    try:
        before = _row()
        await sink.record(before)
        assert await sink.flush(5.0)  # (a row still in a killed Redis is as safe as its AOF)
        server.kill()
        started = time.monotonic()
        during = [_row() for _ in range(5)]
        for row in during:
            await sink.record(row)
        assert time.monotonic() - started < 1.0
        ids = {r.request_id for r in during}
        assert ids <= await _until(store, ids, 5.0)  # through the local file, Redis or not
        assert before.request_id in await _stored(store)
    finally:
        await sink.close(2.0)
        await link.close()
        server.stop()
