"""Liveness of the process and of what it depends on: draining state, in-flight requests,
and whether the database and Redis answer (checked on demand and every second)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .storage.base import Store

__all__ = ["Lifecycle", "Monitor"]

log = logging.getLogger("llmrelay.server")

PING_TIMEOUT = 0.5
PING_EVERY = 1.0


class Lifecycle:
    """Draining and the count of requests in flight (SIGTERM waits for it to reach 0)."""

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight <= 0:
            self.in_flight = 0
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


class Monitor:
    """Pings the database and Redis; logs each change of state once."""

    def __init__(self, store: Store, redis_url: str | None) -> None:
        self.store = store
        self.redis_url = redis_url
        self.db_up = True
        self.redis_up: bool | None = None if redis_url is None else False
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.redis_url is not None:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(self.redis_url, socket_timeout=PING_TIMEOUT,
                                            socket_connect_timeout=PING_TIMEOUT)
            await self.check_redis()
            if not self.redis_up:
                log.warning("redis: not reachable at start; limits are local to this process "
                            "until it answers")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            await asyncio.gather(self.check_db(), self.check_redis())

    async def check_db(self) -> bool:
        up = await self.store.ping(PING_TIMEOUT)
        if up != self.db_up:
            log.warning("database: %s", "reachable again" if up else "not reachable")
        self.db_up = up
        return up

    async def check_redis(self) -> bool | None:
        if self._redis is None:
            return None
        try:
            await asyncio.wait_for(self._redis.ping(), PING_TIMEOUT)
            up = True
        except Exception:  # any failure of the client means "not answering"
            up = False
        if self.redis_up is not None and up != self.redis_up and self._task is not None:
            log.warning("redis: %s", "reachable again" if up else "not reachable")
        self.redis_up = up
        return up

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._redis is not None:
            try:
                await self._redis.aclose()
            except Exception:  # closing a dead connection may fail; nothing to do
                pass
