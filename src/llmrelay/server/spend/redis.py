"""The shared durable path: rows go to a Redis stream (``XADD``) before the answer ends, and
every replica's writer moves them to the database in batches through one consumer group.

A replica killed after ``XADD`` loses nothing: rows nobody read yet are read by any live
replica, and rows it had read but not written are claimed (``XAUTOCLAIM``) by another once
they sit unacknowledged for ``claim_idle`` seconds. A row leaves the stream (``XACK`` +
``XDEL``) only after its database transaction committed; the insert ignores request ids already
stored, so a row written twice (claimed while its first writer was slow) is stored once.
While Redis does not answer, rows go to the local write-ahead file (``LocalSpendSink``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

from ..redis_link import RedisDown
from ..storage.base import StoreUnavailable
from .local import LocalSpendSink
from .row import SpendRow

if TYPE_CHECKING:
    from pathlib import Path

    from ..redis_link import RedisLink
    from ..storage.base import Store

__all__ = ["RedisSpendSink"]

log = logging.getLogger("llmrelay.server")

GROUP = "writers"
BLOCK_MS = 500  # a reader waits this long for new rows before looking at the rest again
GATHER = 0.1  # seconds a writer lets rows gather between batches (one transaction per batch)
CLAIM_IDLE = 5.0  # seconds a row may sit read but unacknowledged before another replica takes it
CLAIM_EVERY = 2.0
FORGET_CONSUMERS_EVERY = 300.0  # dead replicas' empty consumer entries are removed this often


class RedisSpendSink:
    """``SpendSink`` on a Redis stream shared by the replicas, and the database."""

    def __init__(self, store: Store, link: RedisLink, stream: str, spool_dir: Path, *,
                 sync_each: bool = False, batch_size: int = 1000,
                 claim_idle: float = CLAIM_IDLE) -> None:
        import redis.asyncio as aioredis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.store = store
        self.link = link
        self.stream = stream
        self.local = LocalSpendSink(store, spool_dir, sync_each=sync_each)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._batch_size = batch_size
        self._claim_idle_ms = int(claim_idle * 1000)
        # Its own connection: a blocking read must not hold up the link's pipelines.
        self._reader: Any = aioredis.Redis.from_url(
            link.url, socket_timeout=BLOCK_MS / 1000 + 1.0, socket_connect_timeout=link.timeout,
            retry=Retry(NoBackoff(), 0), health_check_interval=0)
        self._last_id: bytes | None = None  # the last row this process added
        self._unconfirmed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._db_down_since: float | None = None

    async def start(self) -> None:
        await self.local.start()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def record(self, row: SpendRow) -> None:
        try:
            self._last_id = await self.link.command("XADD", self.stream, "*", "r",
                                                    to_json(row.to_record()))
            self._unconfirmed += 1
        except RedisDown:
            await self.local.record(row)
        except Exception as exc:  # any other refusal of Redis: the row must still be kept
            log.error("spend: XADD failed (%s); row %s goes to the write-ahead file",
                      type(exc).__name__, row.request_id)
            await self.local.record(row)

    def pending(self) -> int:
        return self.local.pending() + self._unconfirmed

    async def flush(self, timeout: float) -> bool:
        """Wait until every row this process added is out of the stream (in the database)."""
        deadline = time.monotonic() + timeout
        done = await self.local.flush(timeout)
        last = self._last_id
        while last is not None and self._unconfirmed:
            try:
                left = await self.link.command("XRANGE", self.stream, "-", last, "COUNT", 1)
            except RedisDown:
                return False
            except Exception:
                return False
            if not left:
                if self._last_id == last:
                    self._unconfirmed = 0
                break
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return done

    async def _run(self) -> None:
        next_claim = time.monotonic() + CLAIM_EVERY
        next_forget = time.monotonic() + FORGET_CONSUMERS_EVERY
        own_first = True  # rows this consumer read before (a database outage) come first
        delay = 0.25
        while not self._stopping:
            try:
                if own_first:
                    entries = await self._read("0", block=False)
                    own_first = bool(entries)
                else:
                    entries = await self._read(">", block=True)
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + CLAIM_EVERY
                    entries += await self._claim()
                if entries and not await self._write(entries):
                    own_first = True
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                delay = 0.25
                if entries and len(entries) < self._batch_size:
                    await asyncio.sleep(GATHER)  # fewer, bigger batches: far less work per row
                if time.monotonic() >= next_forget:
                    next_forget = time.monotonic() + FORGET_CONSUMERS_EVERY
                    await self._forget_consumers()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away or the stream lost: wait, then start over
                if not await self._ensure_group(exc):
                    await asyncio.sleep(0.5)
                own_first = True

    async def _read(self, start: str, *, block: bool) -> list[tuple[bytes, dict[bytes, bytes]]]:
        reply = await self._reader.xreadgroup(GROUP, self.consumer, {self.stream: start},
                                              count=self._batch_size,
                                              block=BLOCK_MS if block else None)
        return list(reply[0][1]) if reply else []

    async def _claim(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Rows another replica read and never acknowledged (it died, or its database write
        is stuck): this one writes them."""
        reply = await self._reader.xautoclaim(self.stream, GROUP, self.consumer,
                                              self._claim_idle_ms, "0-0", count=self._batch_size)
        claimed = list(reply[1])
        if claimed:
            log.info("spend: claimed %d row(s) another writer left unacknowledged", len(claimed))
        return claimed

    async def _write(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> bool:
        rows: dict[str, SpendRow] = {}
        ids = []
        for entry_id, fields in entries:
            ids.append(entry_id)
            raw = (fields or {}).get(b"r")
            if raw is None:
                continue
            try:
                row = SpendRow.from_record(json.loads(raw))
            except (TypeError, ValueError) as exc:
                log.error("spend: unreadable row in the stream (%s); dropped", exc)
                continue
            rows[row.request_id] = row
        batch = list(rows.values())
        try:
            for start in range(0, len(batch), self._batch_size):
                await self.store.write_spend(batch[start:start + self._batch_size])
        except StoreUnavailable as exc:
            if self._db_down_since is None:
                self._db_down_since = time.monotonic()
                log.warning("spend: database unavailable (%s); rows wait in the Redis stream", exc)
            return False
        if self._db_down_since is not None:
            log.warning("spend: database back after %.1f s; writing waiting rows",
                        time.monotonic() - self._db_down_since)
            self._db_down_since = None
        async with self._reader.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, GROUP, *ids)
            pipe.xdel(self.stream, *ids)
            await pipe.execute()
        return True

    async def _ensure_group(self, exc: BaseException) -> bool:
        """After ``NOGROUP`` (a new Redis, or the stream was lost): make the group again."""
        if "NOGROUP" not in str(exc):
            return False
        try:
            await self._reader.xgroup_create(self.stream, GROUP, "0", mkstream=True)
        except Exception as again:
            if "BUSYGROUP" not in str(again):
                return False
        return True

    async def _forget_consumers(self) -> None:
        """Consumers of replicas long gone, with nothing left pending, are removed."""
        for consumer in await self._reader.xinfo_consumers(self.stream, GROUP):
            name = consumer.get("name")
            if name and name != self.consumer.encode() and not consumer.get("pending") and \
                    consumer.get("idle", 0) > FORGET_CONSUMERS_EVERY * 1000:
                await self._reader.xgroup_delconsumer(self.stream, GROUP, name)

    async def close(self, timeout: float) -> None:
        flushed = await self.flush(timeout)
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if not flushed:
            log.warning("spend: rows of this process still in the Redis stream at shutdown; "
                        "a live replica (or the next start) writes them")
        await self.local.close(timeout)
        try:
            await self._reader.aclose()
        except Exception:  # closing a dead connection may fail; nothing to do
            pass
