"""A write-ahead file of spend rows, appended before a request's answer ends.

The append is a plain ``write`` from the event loop (about a microsecond): once it returns, the
row is in the kernel and survives a SIGKILL of this process. ``fdatasync`` runs on a thread,
grouped (every rows written within ``SYNC_EVERY`` share one), for a machine crash; with
``sync_each`` an append waits for its own fsync (measured: 0.1 ms on an idle disk, over 1 ms
on a busy one). The file is split in segments; a segment is deleted once every row in it is in
the database. Each process holds an exclusive lock on its segments, so another process can tell
a live writer's files from a dead one's.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pydantic_core import to_json

__all__ = ["Segment", "WriteAheadLog", "orphan_segments", "read_segment"]

log = logging.getLogger("llmrelay.server")

SEGMENT_ROWS = 5000
SYNC_EVERY = 0.02


@dataclass(eq=False)
class Segment:
    path: Path
    fd: int
    rows: int = 0  # appended
    done: int = 0  # in the database
    sealed: bool = False  # no more appends
    closed: bool = field(default=False)

    @property
    def finished(self) -> bool:
        return self.sealed and self.done >= self.rows


class WriteAheadLog:
    """Append-only segments in ``directory``, named ``<pid>-<random>.wal``."""

    def __init__(self, directory: Path, *, sync_each: bool = False) -> None:
        self.directory = directory
        self.sync_each = sync_each
        self._segment: Segment | None = None
        self._unsynced: list[Segment] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._dirty = asyncio.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="llmrelay-wal")
        self._task: asyncio.Task[None] | None = None

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment = self._new_segment()
        self._task = asyncio.get_running_loop().create_task(self._sync_loop())

    def _new_segment(self) -> Segment:
        # Locked under a name recovery does not look at, then renamed: another process never
        # sees an unlocked segment of a live one.
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        temporary = self.directory / f"{name}.new"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = self.directory / f"{name}.wal"
        os.rename(temporary, path)
        return Segment(path, fd)

    async def append(self, record: dict[str, Any]) -> Segment:
        """Append one record; it survives this process once this returns (and a machine crash
        too with ``sync_each``)."""
        segment = self._segment
        if segment is None:
            raise OSError("the write-ahead log is closed")
        data = to_json(record) + b"\n"
        written = os.write(segment.fd, data)
        if written != len(data):  # a short write on a regular file means the disk is full
            raise OSError(f"short write to {segment.path.name}")
        segment.rows += 1
        if not self._unsynced or self._unsynced[-1] is not segment:
            self._unsynced.append(segment)
        if segment.rows >= SEGMENT_ROWS:
            segment.sealed = True
            self._segment = self._new_segment()
        self._dirty.set()
        if self.sync_each:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        return segment

    async def _sync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if not self.sync_each:
                await asyncio.sleep(SYNC_EVERY)  # group what comes in meanwhile
            segments, self._unsynced = self._unsynced, []
            waiters, self._waiters = self._waiters, []
            try:
                await loop.run_in_executor(self._pool, _sync, [s.fd for s in segments if not s.closed])
            except OSError as exc:
                log.error("spend: fsync of the write-ahead file failed: %s", exc)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def committed(self, segment: Segment, count: int) -> None:
        """``count`` rows of ``segment`` are in the database: delete it once all are."""
        segment.done += count
        if segment.finished:
            self._remove(segment)

    def _remove(self, segment: Segment) -> None:
        if segment.closed:
            return
        segment.closed = True
        try:
            segment.path.unlink()
        except FileNotFoundError:
            pass
        try:
            os.close(segment.fd)
        except OSError:
            pass

    def rotate_if_idle(self) -> None:
        """Once every row of the current segment is in the database, start a fresh one so the
        old one can go (keeps the disk small)."""
        segment = self._segment
        if segment is not None and segment.rows and segment.done >= segment.rows:
            self._segment = self._new_segment()
            segment.sealed = True
            self._remove(segment)

    async def close(self) -> None:
        """Sync, stop appending; an empty segment is removed, others stay for the next start."""
        if self._task is not None:
            self._task.cancel()
        segments, self._unsynced = self._unsynced, []
        await asyncio.get_running_loop().run_in_executor(
            self._pool, _sync, [s.fd for s in segments if not s.closed])
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._pool.shutdown(wait=True)
        segment, self._segment = self._segment, None
        if segment is not None:
            if segment.done >= segment.rows:
                self._remove(segment)
            else:
                segment.closed = True
                os.close(segment.fd)


def _sync(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.fdatasync(fd)
        except OSError as exc:
            if exc.errno != 9:  # EBADF: the segment was retired meanwhile
                raise


def orphan_segments(directory: Path) -> Iterator[tuple[Path, int]]:
    """Segments no live process holds: yields ``(path, fd)`` with the lock taken by us."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.wal")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live process is writing it
            continue
        yield path, fd


def read_segment(fd: int) -> list[dict[str, Any]]:
    """Every complete record in a segment; a torn last line (never acknowledged) is skipped."""
    with os.fdopen(os.dup(fd), "rb") as f:
        data = f.read()
    records = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records
