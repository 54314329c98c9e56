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

__all__ = ["RedisDown", "RedisLink", "Script"]

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
    """One asyncio Redis client shared by the limiter and the spend sink of a process."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT, retry_every: float = RETRY_EVERY) -> None:
        import redis.asyncio as aioredis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        self.timeout = timeout
        self.retry_every = retry_every
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0), health_check_interval=0)
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
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        from redis.exceptions import NoScriptError

        pipe = self.client.pipeline(transaction=False)
        for script, args, _ in batch:
            if script is None:
                pipe.execute_command(*args)
            else:
                pipe.evalsha(script.sha, 0, *args)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:  # Redis restarted (or SCRIPT FLUSH): load once, run those again
            scripts: dict[str, Script] = {}
            for i in missing:
                script = batch[i][0]
                if script is not None:
                    scripts[script.sha] = script
            for script in scripts.values():
                await self.client.script_load(script.source)
            again = self.client.pipeline(transaction=False)
            for i in missing:
                script, args, _ = batch[i]
                assert script is not None
                again.evalsha(script.sha, 0, *args)
            for i, result in zip(missing, await again.execute(raise_on_error=False)):
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
        try:  # the pool's sockets went with the server: the next try opens a fresh one
            await self.client.connection_pool.disconnect(inuse_connections=True)
        except Exception:  # closing dead sockets must not fail anything
            pass

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
        try:
            await self.client.aclose()
        except Exception:  # closing a dead connection may fail; nothing to do
            pass

