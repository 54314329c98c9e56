"""The gateway's one connection to Redis: commands issued together go out as one pipeline,
each call waits at most ``timeout``, and a failure opens a circuit for ``retry_every`` seconds.

Auto-pipelining: while a pipeline is on the wire, new calls queue and leave together in the
next one, so under load a request's limit check, settlement and spend row share round trips
with everyone else's. While the circuit is open a call fails at once (``RedisDown``): a dead
Redis costs one request at most ``timeout``, not each one, and is not hammered with retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path
from typing import Any, Sequence

from .resp import ReplyError, RespConnection

__all__ = ["RedisDown", "RedisLink", "ReplyError", "Script"]

log = logging.getLogger("llmrelay.server")

TIMEOUT = 0.25  # seconds a pipeline may take: the most a dead Redis adds to one request
RETRY_EVERY = 1.0  # seconds the circuit stays open after a failure


class RedisDown(Exception):
    """Redis did not answer (or the circuit is open): use the local fallback."""


class Script:
    """A Lua file beside the calling module, run by SHA (loaded again after NOSCRIPT)."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.source = path.read_text(encoding="utf-8")
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()


_Call = tuple["Script | None", Sequence[Any], "asyncio.Future[Any]"]


class RedisLink:
    """One Redis connection shared by the limiter and the spend sink of a process."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT, retry_every: float = RETRY_EVERY) -> None:
        self.url = url
        self.timeout = timeout
        self.retry_every = retry_every
        self._conn = RespConnection(url)
        self._queue: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None
        self._down_until = 0.0
        self._down_since: float | None = None

    @property
    def up(self) -> bool:
        """``False`` from a failure until a call succeeds again."""
        return self._down_since is None

    def open_circuit(self) -> bool:
        return self._down_since is not None and time.monotonic() < self._down_until

    async def script(self, script: Script, args: Sequence[Any]) -> Any:
        return await self._call(script, args)

    async def command(self, *args: Any) -> Any:
        return await self._call(None, args)

    def _call(self, script: Script | None, args: Sequence[Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self.open_circuit():
            future.set_exception(RedisDown("circuit open"))
            return future
        self._queue.append((script, args, future))
        if self._sender is None or self._sender.done():
            self._sender = loop.create_task(self._send())
        return future

    async def _send(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await asyncio.wait_for(self._pipeline(batch), self.timeout)
            except Exception as exc:  # timeout, connection lost, protocol error: all "down"
                await self._failed(exc, batch)
                continue
            self._recovered()
            for (_, _, future), result in zip(batch, results):
                if future.done():
                    continue
                if isinstance(result, ReplyError):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        if not self._conn.open:
            self._conn.close()
            await self._conn.connect()
        results = await self._conn.send([
            c if s is None else ("EVALSHA", s.sha, 0, *c) for s, c, _ in batch])
        missing = [i for i, r in enumerate(results)
                   if isinstance(r, ReplyError) and str(r).startswith("NOSCRIPT")]
        if missing:  # Redis restarted (or SCRIPT FLUSH): load once, run those again
            scripts: dict[str, Script] = {}
            for i in missing:
                script = batch[i][0]
                if script is not None:
                    scripts[script.sha] = script
            again = await self._conn.send([("SCRIPT", "LOAD", s.source) for s in scripts.values()]
                                          + [("EVALSHA", batch[i][0].sha, 0, *batch[i][1])  # type: ignore[union-attr]
                                             for i in missing])
            for i, result in zip(missing, again[len(scripts):]):
                results[i] = result
        return results

    async def _failed(self, exc: BaseException, batch: list[_Call]) -> None:
        now = time.monotonic()
        self._down_until = now + self.retry_every
        if self._down_since is None:
            self._down_since = now
            log.warning("redis: not answering (%s); limits are local to this process and spend "
                        "rows go to the local write-ahead file until it is back",
                        type(exc).__name__)
        error = RedisDown(type(exc).__name__)
        for _, _, future in batch:
            if not future.done():
                future.set_exception(error)
        for _, _, future in self._queue:  # queued behind the failed pipeline: fail them too
            if not future.done():
                future.set_exception(error)
        self._queue = []
        self._conn.close()  # its state is unknown now: the next try opens a fresh one

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning("redis: answering again after %.1f s; limits and spend rows are shared "
                        "again", time.monotonic() - self._down_since)
            self._down_since = None

    async def close(self) -> None:
        if self._sender is not None and not self._sender.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._sender), self.timeout)
            except (asyncio.TimeoutError, Exception):
                pass
        self._conn.close()

