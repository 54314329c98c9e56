"""One process's connection to Redis on one event loop: commands issued together go out as one
pipeline, each pipeline waits at most ``timeout``, and a failure opens a circuit for
``retry_every`` seconds.

Auto-pipelining: while a pipeline is on the wire, new calls queue and leave together in the
next one, so under load every caller's commands share round trips. While the circuit is open a
call fails at once (``RedisDown``): a dead Redis costs one caller at most ``timeout``, not each
one, and is not hammered with retries. Callbacks, not tasks, drive it (a task and a
``wait_for`` per round trip cost more CPU than the rest of the round trip).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from .resp import ReplyError, RespConnection

__all__ = ["RedisDown", "RedisLink", "ReplyError", "Script"]

TIMEOUT = 0.25  # seconds a pipeline may take: the most a dead Redis adds to one call
RETRY_EVERY = 1.0  # seconds the circuit stays open after a failure


class RedisDown(Exception):
    """Redis did not answer (or the circuit is open): use the local fallback."""


class Script:
    """A Lua file, run by SHA (``SCRIPT LOAD`` again after NOSCRIPT)."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.source = path.read_text(encoding="utf-8")
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()


_Call = tuple["Script | None", Sequence[Any], "asyncio.Future[Any]"]


class _Pipeline:
    """The batch on the wire, until its replies are handed out or it fails."""

    __slots__ = ("batch", "timer")

    def __init__(self, batch: list[_Call]) -> None:
        self.batch = batch
        self.timer: asyncio.TimerHandle | None = None


class RedisLink:
    """One Redis connection for everything a process sends on one event loop.

    >>> link = RedisLink("redis://127.0.0.1:6379/0")
    >>> await link.command("SET", "k", "v")
    >>> await link.script(Script(Path("step.lua")), ["arg"])
    """

    def __init__(self, url: str, *, timeout: float = TIMEOUT, retry_every: float = RETRY_EVERY) -> None:
        self.url = url
        self.timeout = timeout
        self.retry_every = retry_every
        self._conn = RespConnection(url)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[_Call] = []
        self._scheduled = False  # a flush is due on the loop
        self._inflight: _Pipeline | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._down_until = 0.0
        self._down_since: float | None = None
        self._watchers: list[tuple[Callable[[BaseException], None], Callable[[float], None]]] = []
        self.closed = False

    def __repr__(self) -> str:  # the URL may hold a password
        return f"RedisLink(up={self.up})"

    @property
    def up(self) -> bool:
        """``False`` from a failure until a call succeeds again."""
        return self._down_since is None

    def open_circuit(self) -> bool:
        return self._down_since is not None and time.monotonic() < self._down_until

    def watch(self, on_down: Callable[[BaseException], None], on_up: Callable[[float], None]) -> None:
        """``on_down(error)`` when Redis stops answering, ``on_up(seconds_down)`` when it
        answers again (each once per outage)."""
        self._watchers.append((on_down, on_up))

    def script(self, script: Script, args: Sequence[Any]) -> asyncio.Future[Any]:
        """The script's reply (await it); ``ReplyError`` if it failed, ``RedisDown`` if Redis
        did not answer."""
        return self._call(script, args)

    def command(self, *args: Any) -> asyncio.Future[Any]:
        return self._call(None, args)

    def _call(self, script: Script | None, args: Sequence[Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                raise RuntimeError("a RedisLink belongs to the event loop it was first used on")
            self._loop = loop
        future: asyncio.Future[Any] = loop.create_future()
        if self.closed:  # a late timer on a loop shutting down: nothing would ever answer
            future.set_exception(RedisDown("link closed"))
            return future
        if self._down_since is not None and self.open_circuit():
            future.set_exception(RedisDown("circuit open"))
            return future
        self._queue.append((script, args, future))
        if not self._scheduled and self._inflight is None and self._connecting is None:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    # ---- the pipeline ---------------------------------------------------------------------

    def _flush(self) -> None:
        self._scheduled = False
        if self._inflight is not None or self._connecting is not None or not self._queue:
            return
        if not self._conn.open:
            assert self._loop is not None
            self._connecting = self._loop.create_task(self._connect())
            return
        batch, self._queue = self._queue, []
        self._start(batch, [c if s is None else ("EVALSHA", s.sha, 0, *c) for s, c, _ in batch])

    def _start(self, batch: list[_Call], commands: list[Sequence[Any]]) -> None:
        assert self._loop is not None
        pipeline = self._inflight = _Pipeline(batch)
        pipeline.timer = self._loop.call_later(self.timeout, self._expired, pipeline)
        self._send(pipeline, commands, partial(self._replied, pipeline))

    def _send(self, pipeline: _Pipeline, commands: list[Sequence[Any]],
              then: Callable[[list[Any] | BaseException], None]) -> None:
        try:
            self._conn.write(commands, then)
        except ConnectionError as exc:
            self._fail(pipeline, exc)

    def _replied(self, pipeline: _Pipeline, results: list[Any] | BaseException) -> None:
        if pipeline is not self._inflight:  # timed out already
            return
        if isinstance(results, BaseException):
            self._fail(pipeline, results)
            return
        missing = [i for i, r in enumerate(results)
                   if type(r) is ReplyError and str(r).startswith("NOSCRIPT")]
        if not missing:
            self._done(pipeline, results)
            return
        # Redis restarted (or SCRIPT FLUSH): load each script once, run those calls again.
        scripts: dict[str, Script] = {}
        for i in missing:
            script = pipeline.batch[i][0]
            if script is not None:
                scripts[script.sha] = script
        again: list[Sequence[Any]] = [("SCRIPT", "LOAD", s.source) for s in scripts.values()]
        for i in missing:
            script, args, _ = pipeline.batch[i]
            again.append(("EVALSHA", script.sha, 0, *args))  # type: ignore[union-attr]
        self._send(pipeline, again, partial(self._reloaded, pipeline, results, missing, len(scripts)))

    def _reloaded(self, pipeline: _Pipeline, results: list[Any], missing: list[int], loads: int,
                  sent: list[Any] | BaseException) -> None:
        if pipeline is not self._inflight:
            return
        if isinstance(sent, BaseException):
            self._fail(pipeline, sent)
            return
        for i, result in zip(missing, sent[loads:]):
            results[i] = result
        self._done(pipeline, results)

    def _done(self, pipeline: _Pipeline, results: list[Any]) -> None:
        if pipeline.timer is not None:
            pipeline.timer.cancel()
        self._inflight = None
        if self._down_since is not None:
            self._recovered()
        for (_, _, future), result in zip(pipeline.batch, results):
            if future.done():
                continue
            if type(result) is ReplyError:
                future.set_exception(result)
            else:
                future.set_result(result)
        if self._queue:  # what queued while this pipeline was on the wire leaves now
            self._flush()

    def _expired(self, pipeline: _Pipeline) -> None:
        self._fail(pipeline, TimeoutError(f"no reply within {self.timeout} s"))

    def _fail(self, pipeline: _Pipeline, exc: BaseException) -> None:
        if pipeline is not self._inflight:
            return
        if pipeline.timer is not None:
            pipeline.timer.cancel()
        self._inflight = None
        self._failed(exc, pipeline.batch)

    async def _connect(self) -> None:
        try:
            self._conn.close()
            await asyncio.wait_for(self._conn.connect(), self.timeout)
        except Exception as exc:  # refused, timed out, setup refused: all "down"
            self._connecting = None
            self._failed(exc, [])
            return
        self._connecting = None
        self._flush()

    def _failed(self, exc: BaseException, batch: list[_Call]) -> None:
        now = time.monotonic()
        self._down_until = now + self.retry_every
        first = self._down_since is None
        if first:
            self._down_since = now
        error = RedisDown(type(exc).__name__)
        queued, self._queue = self._queue, []  # queued behind the failed pipeline: fail them too
        for _, _, future in batch + queued:
            if not future.done():
                future.set_exception(error)
        self._conn.close()  # its state is unknown now: the next try opens a fresh one
        if first:
            for on_down, _ in self._watchers:
                on_down(exc)

    def _recovered(self) -> None:
        assert self._down_since is not None
        down_for = time.monotonic() - self._down_since
        self._down_since = None
        for _, on_up in self._watchers:
            on_up(down_for)

    async def close(self) -> None:
        """Wait (at most ``timeout``) for what is on the wire, then close the connection;
        later calls fail at once with ``RedisDown``."""
        self.closed = True
        deadline = time.monotonic() + self.timeout
        while (self._inflight is not None or self._connecting is not None or self._queue) \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        self._conn.close()
