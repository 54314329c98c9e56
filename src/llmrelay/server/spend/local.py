"""The local durable path: rows go to this process's write-ahead file, then a batch writer
moves them to the database (idempotent by ``request_id``) and retires the file.

Rows another process left behind (it was killed, or the database was down when it stopped)
are recovered at start and every few seconds by whichever process is alive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..storage.base import StoreUnavailable
from .row import SpendRow
from .wal import Segment, WriteAheadLog, orphan_segments, read_segment

if TYPE_CHECKING:
    from ..storage.base import Store

__all__ = ["LocalSpendSink"]

log = logging.getLogger("llmrelay.server")


class LocalSpendSink:
    """``SpendSink`` on a local write-ahead file and the database."""

    def __init__(self, store: Store, directory: Path, *, sync_each: bool = False,
                 batch_size: int = 1000, interval: float = 0.2, recover_every: float = 5.0) -> None:
        self.store = store
        self.wal = WriteAheadLog(directory, sync_each=sync_each)
        self.directory = directory
        self._batch_size = batch_size
        self._interval = interval
        self._recover_every = recover_every
        self._pending: list[tuple[SpendRow, Segment | None]] = []
        self._in_write = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._down_since: float | None = None

    async def start(self) -> None:
        self.wal.open()
        await self._recover()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def record(self, row: SpendRow) -> None:
        segment: Segment | None
        try:
            segment = await self.wal.append(row.to_record())
        except OSError as exc:
            # The disk failed us: the row still goes to the database, just not durably.
            log.error("spend: write-ahead file failed (%s); row %s kept in memory only",
                      exc, row.request_id)
            segment = None
        self._pending.append((row, segment))
        self._idle.clear()
        self._wake.set()

    def pending(self) -> int:
        return len(self._pending) + self._in_write

    async def flush(self, timeout: float) -> bool:
        if not self.pending():
            return True
        self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def _run(self) -> None:
        next_recovery = time.monotonic() + self._recover_every
        delay = self._interval
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, self._interval))
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            if self._pending:
                written = await self._write_batch()
                delay = self._interval if written else min(max(delay * 2, 0.25), 2.0)
                if written and self._pending:
                    self._wake.set()  # more rows waiting: go again at once
            if not self._pending:
                self.wal.rotate_if_idle()
                self._idle.set()
            if time.monotonic() >= next_recovery:
                next_recovery = time.monotonic() + self._recover_every
                await self._recover()
            if self._stopping and not self._pending:
                return

    async def _write_batch(self) -> bool:
        batch = self._pending[: self._batch_size]
        self._pending = self._pending[self._batch_size:]
        self._in_write = len(batch)
        try:
            await self.store.write_spend([row for row, _ in batch])
        except StoreUnavailable as exc:
            self._pending = batch + self._pending
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("spend: database unavailable (%s); %d row(s) wait in the "
                            "write-ahead file", exc, len(self._pending))
            return False
        finally:
            self._in_write = 0
        if self._down_since is not None:
            log.warning("spend: database back after %.1f s; writing waiting rows",
                        time.monotonic() - self._down_since)
            self._down_since = None
        counts: dict[int, tuple[Segment, int]] = {}
        for _, segment in batch:
            if segment is not None:
                seen = counts.get(id(segment))
                counts[id(segment)] = (segment, (seen[1] if seen else 0) + 1)
        for segment, count in counts.values():
            self.wal.committed(segment, count)
        return True

    async def _recover(self) -> None:
        """Write the rows of segments no live process holds, then delete those segments."""
        loop = asyncio.get_running_loop()
        for path, fd in list(orphan_segments(self.directory)):
            try:
                records = await loop.run_in_executor(None, read_segment, fd)
                rows = [SpendRow.from_record(r) for r in records]
                for start in range(0, len(rows), self._batch_size):
                    await self.store.write_spend(rows[start:start + self._batch_size])
                path.unlink(missing_ok=True)
                if rows:
                    log.warning("spend: recovered %d row(s) from %s", len(rows), path.name)
            except StoreUnavailable:
                return  # try again later; the segment stays
            except (OSError, TypeError, ValueError) as exc:
                log.error("spend: cannot recover %s: %s", path.name, exc)
            finally:
                os.close(fd)

    async def close(self, timeout: float) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except asyncio.TimeoutError:
                self._task.cancel()
                log.warning("spend: %d row(s) not written before shutdown; they stay in %s "
                            "and are written at the next start", self.pending(), self.directory)
        await self.wal.close()
