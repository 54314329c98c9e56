"""A write-ahead file of spend rows: appended and fsynced before a request's answer ends.

Appends are group-committed: rows recorded while one fsync runs share the next, so the cost
per request stays one short wait whatever the rate. The file is split in segments; a segment
is deleted once every row in it is in the database. Each process holds an exclusive lock on
its own segments, so another process can tell a live writer's files from a dead one's.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

__all__ = ["Segment", "WriteAheadLog", "orphan_segments", "read_segment"]

SEGMENT_ROWS = 5000


@dataclass
class Segment:
    path: Path
    fd: int
    rows: int = 0  # appended
    done: int = 0  # in the database
    sealed: bool = False  # no more appends

    @property
    def finished(self) -> bool:
        return self.sealed and self.done >= self.rows


class WriteAheadLog:
    """Append-only segments in ``directory``, named ``<pid>-<random>.wal``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="llmrelay-wal")
        self._segment: Segment | None = None
        self._queue: list[tuple[bytes, asyncio.Future[Segment]]] = []
        self._flushing = False

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment = self._new_segment()

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
        """Append one record durably; returns the segment holding it."""
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        future: asyncio.Future[Segment] = asyncio.get_running_loop().create_future()
        self._queue.append((line, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    segment = await loop.run_in_executor(self._pool, self._write, [b for b, _ in batch])
                except OSError as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(segment)
        finally:
            self._flushing = False

    def _write(self, lines: list[bytes]) -> Segment:
        segment = self._segment
        if segment is None:
            raise OSError("the write-ahead log is closed")
        data = b"".join(lines)
        view = memoryview(data)
        while view:
            written = os.write(segment.fd, view)
            view = view[written:]
        os.fdatasync(segment.fd)
        segment.rows += len(lines)
        if segment.rows >= SEGMENT_ROWS:
            segment.sealed = True
            self._segment = self._new_segment()
        return segment

    def committed(self, segment: Segment, count: int) -> None:
        """``count`` rows of ``segment`` are in the database: delete it once all are."""
        segment.done += count
        if segment.finished:
            self._remove(segment)

    def _remove(self, segment: Segment) -> None:
        try:
            segment.path.unlink()
        except FileNotFoundError:
            pass
        try:
            os.close(segment.fd)
        except OSError:
            pass

    def rotate_if_idle(self) -> None:
        """With nothing pending, start a fresh segment so the old one can go (keeps disk small)."""
        segment = self._segment
        if segment is not None and segment.rows and segment.done >= segment.rows and not self._queue:
            self._segment = self._new_segment()
            segment.sealed = True
            self._remove(segment)

    def close(self) -> None:
        """Stop appending; an empty segment is removed, others stay for the next start."""
        segment, self._segment = self._segment, None
        if segment is not None:
            if segment.done >= segment.rows:
                self._remove(segment)
            else:
                os.close(segment.fd)
        self._pool.shutdown(wait=True)


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
