"""The stores (SQLite, PostgreSQL) and the local spend sink, in process: migrations under a
lock, idempotent batch writes, and recovery of rows a dead process left in its write-ahead file."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest

from llmrelay.server.keys import KeyRecord
from llmrelay.server.spend.local import LocalSpendSink
from llmrelay.server.spend.row import SpendRow
from llmrelay.server.storage import SpendQuery, Store, open_store, parse_database_url


def _row(key: str | None = "k1", spend: float | None = 0.5, start: float | None = None) -> SpendRow:
    now = time.time() if start is None else start
    return SpendRow(f"req_{uuid.uuid4().hex}", key, "alias", "chat", "chat/0", "openai",
                    "gpt-4o-mini-2024-07-18", 3, 4, 7, spend, now, now + 0.01, "success", 200, False)


@pytest.fixture
async def store(make_database: Callable[[], str], tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(parse_database_url(make_database(), tmp_path))
    await s.connect()
    await s.migrate()
    yield s
    await s.close()


async def test_migrations_once_under_concurrency(make_database: Callable[[], str], tmp_path: Path) -> None:
    url = parse_database_url(make_database(), tmp_path)
    stores = [open_store(url) for _ in range(3)]
    for s in stores:
        await s.connect()
    applied = await asyncio.gather(*(s.migrate() for s in stores))
    assert sorted(map(len, applied)) == [0, 0, 1]
    assert await stores[0].migrate() == []
    for s in stores:
        await s.close()


async def test_keys_roundtrip(store: Store) -> None:
    record = KeyRecord(token="t" * 64, created_at=time.time(), key_alias="a", models=("chat",),
                       metadata={"x": [1]}, max_budget=2.0, budget_duration="1d",
                       budget_reset_at=time.time() + 86400, rpm_limit=3, expires=time.time() + 60)
    await store.insert_key(record)
    got = await store.get_key(record.token, 5)
    assert got is not None
    assert got.models == ("chat",) and got.metadata == {"x": [1]} and got.rpm_limit == 3
    assert got.expires == pytest.approx(record.expires, abs=1e-5)
    updated = await store.update_key(record.token, {"rpm_limit": None, "models": ()})
    assert updated is not None and updated.rpm_limit is None and updated.models == ()
    assert await store.delete_keys([record.token, "missing"]) == [record.token]
    assert await store.get_key(record.token, 5) is None


async def test_write_spend_is_idempotent_and_feeds_key_spend(store: Store) -> None:
    await store.insert_key(KeyRecord(token="k1", created_at=time.time()))
    rows = [_row() for _ in range(5)] + [_row(key="master"), _row(spend=None)]
    assert await store.write_spend(rows) == 7
    assert await store.write_spend(rows) == 0
    key = await store.get_key("k1", 5)
    assert key is not None and key.spend == pytest.approx(2.5)
    data, total = await store.spend_logs(SpendQuery(api_key="k1", page_size=3))
    assert total == 6 and len(data) == 3
    assert [d["start_time"] for d in data] == sorted((d["start_time"] for d in data), reverse=True)


async def test_sink_writes_and_retires_its_file(store: Store, tmp_path: Path) -> None:
    sink = LocalSpendSink(store, tmp_path / "spool")
    await sink.start()
    rows = [_row(key=None) for _ in range(20)]
    await asyncio.gather(*(sink.record(r) for r in rows))
    assert await sink.flush(5)
    assert sink.pending() == 0
    _, total = await store.spend_logs(SpendQuery(page_size=100))
    assert total == 20
    await sink.close(5)
    assert list((tmp_path / "spool").glob("*.wal")) == []


async def test_recovers_rows_left_by_a_dead_process(store: Store, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    left = [_row(key=None) for _ in range(4)]
    lines = [json.dumps(r.to_record()) for r in left]
    # Written by a process that died mid-line: the torn last line was never acknowledged.
    (spool / "12345-dead.wal").write_text("\n".join(lines) + '\n{"request_id": "torn')
    await store.write_spend(left[:2])  # some had reached the database before it died
    sink = LocalSpendSink(store, spool)
    await sink.start()
    data, total = await store.spend_logs(SpendQuery(page_size=100))
    assert total == 4
    assert sorted(d["request_id"] for d in data) == sorted(r.request_id for r in left)
    assert not (spool / "12345-dead.wal").exists()
    await sink.close(5)


async def test_live_segments_are_not_taken(store: Store, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    first = LocalSpendSink(store, spool)
    await first.start()
    row = _row(key=None)
    first._stopping = True  # keep the row in the file: the writer is not running
    assert first._task is not None
    first._task.cancel()
    await first.record(row)
    second = LocalSpendSink(store, spool)
    await second.start()
    _, total = await store.spend_logs(SpendQuery())
    assert total == 0, "a segment held by a live process is left to it"
    await first.wal.close()  # the first process stops: its lock goes with it
    await second._recover()
    _, total = await store.spend_logs(SpendQuery())
    assert total == 1
    await second.close(5)
    assert os.listdir(spool) == []
