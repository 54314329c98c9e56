"""Routing state in Redis, shared by every Router that names the same server and prefix.

Each routing decision is one script call (``redis_route.lua``) that also carries the
settlements queued since the last one; settlements nobody picks up soon are sent after a short
linger. Async calls go over a ``RedisLink`` of their event loop (auto-pipelined with whatever
else that loop sends), sync calls over redis-py from any thread. When Redis cannot be reached,
routing goes on with local state (one warning) and Redis is tried again a few seconds later.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
import uuid
import weakref
from collections import deque
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Sequence

from ..redis_link import RedisDown, RedisLink, ReplyError, Script
from .deployments import DeploymentStatus
from .memory_state import MemoryState
from .state import Ticket

if TYPE_CHECKING:
    from .deployments import Deployment

__all__ = ["RedisState"]

logger = logging.getLogger("llmrelay")

HERE = Path(__file__).resolve().parent
TIMEOUT = 0.25  # seconds per Redis operation: a dead Redis must not slow calls down much
RETRY_INTERVAL = 2.0  # seconds on local state before Redis is tried again
LINGER = 0.02  # the flusher waits this long for a pick to carry settlements instead
BEAT = 5.0  # a routing decision carries this router's heartbeat at most this often
HEARTBEAT = 15.0  # seconds between the flusher's heartbeats while requests are in flight
MAX_PENDING = 10_000
NO_RANK = "1e18"


LINK_ERRORS = (RedisDown, ReplyError)  # the async path's "Redis did not answer"


class _Script(Script):
    """A Lua file beside this module; ``run`` is the sync path's call through redis-py (the
    async path hands the script to a ``RedisLink``)."""

    def run(self, client: Any, args: Sequence[Any]) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return client.evalsha(self.sha, 0, *args)
        except NoScriptError:
            client.script_load(self.source)
            return client.evalsha(self.sha, 0, *args)


ROUTE = _Script(HERE / "redis_route.lua")
STATUS = _Script(HERE / "redis_status.lua")


class RedisState:
    """``RouterState`` in Redis, falling back to a local ``MemoryState`` while Redis is down."""

    shared = True

    def __init__(self, url: str, *, prefix: str, allowed_fails: int,
                 deployments: Sequence["Deployment"], timeout: float = TIMEOUT) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError("redis_url needs the redis client: pip install 'llmrelay[redis]'") from None
        self._url = url
        self._timeout = timeout
        self._options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                         "retry": Retry(NoBackoff(), 0), "health_check_interval": 0}
        try:
            self._client = redis.Redis.from_url(url, **self._options)
        except ValueError as exc:
            raise ValueError(f"redis_url is not a Redis URL: {exc}") from None
        # loop -> (its link, the parked generator that closes it with the loop)
        self._links: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[RedisLink, Any]] = \
            weakref.WeakKeyDictionary()
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._local = MemoryState(allowed_fails)
        self._by_id = {d.id: d for d in deployments}
        self._head = [prefix, uuid.uuid4().hex, str(allowed_fails)]  # the instance id is [1]
        self._pid = os.getpid()
        self._pending: deque[tuple[Any, ...]] = deque()
        self._in_flight = 0  # this router's shared tickets not yet settled
        self._last_beat = -math.inf
        # A flush of what is pending is on its way by then (a deadline, not a flag: a flush
        # scheduled on a loop that closed first must not stop the next one being scheduled)
        self._flush_by = 0.0
        self._sending = 0  # settlement batches taken from the queue and not yet applied
        self._down_until = 0.0
        self._down_since = 0.0  # when this outage was first seen
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        self._closed = False
        self._lock = threading.RLock()  # re-entrant: settle may run from a stream's finalizer

    # ---- the interface --------------------------------------------------------------------

    def pick(self, candidates: Sequence["Deployment"], mode: str) -> "Ticket | float":
        if self._local_only():
            return self._local.pick(candidates, mode)
        batch = self._drain()
        sent = time.monotonic()
        try:
            result = ROUTE.run(self._client, self._args(batch, mode, candidates))
        except self._errors as exc:
            self._failed(exc, batch)
            return self._local.pick(candidates, mode)
        return self._ticket(result, sent)

    async def apick(self, candidates: Sequence["Deployment"], mode: str) -> "Ticket | float":
        if self._local_only():
            return self._local.pick(candidates, mode)
        link = await self._alink()
        batch = self._drain()
        sent = time.monotonic()
        future = link.script(ROUTE, self._args(batch, mode, candidates))
        try:
            # Shielded: a caller cancelled mid-pick must not leave a request counted in flight.
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(partial(self._release_abandoned, batch, sent))
            raise
        except LINK_ERRORS as exc:
            self._failed(exc, batch)
            return self._local.pick(candidates, mode)
        return self._ticket(result, sent)

    def _release_abandoned(self, batch: list[tuple[Any, ...]], sent: float,
                           future: "asyncio.Future[Any]") -> None:
        """The pick of a cancelled caller, once it is done: its request is not in flight."""
        if future.cancelled():
            self._pending.extendleft(reversed(batch))
            return
        error = future.exception()
        if error is not None:
            if isinstance(error, LINK_ERRORS):
                self._failed(error, batch)
            return
        found = self._ticket(future.result(), sent)
        if isinstance(found, Ticket):
            self.settle(found)

    def wait_time(self, candidates: Sequence["Deployment"]) -> float:
        if not self._local_only():
            batch = self._drain()
            try:
                return self._wait(ROUTE.run(self._client, self._args(batch, "peek", candidates)))
            except self._errors as exc:
                self._failed(exc, batch)
        return self._local.wait_time(candidates)

    async def await_time(self, candidates: Sequence["Deployment"]) -> float:
        if not self._local_only():
            link = await self._alink()
            batch = self._drain()
            try:
                return self._wait(await link.script(ROUTE, self._args(batch, "peek", candidates)))
            except LINK_ERRORS as exc:
                self._failed(exc, batch)
        return self._local.wait_time(candidates)

    def settle(self, ticket: Ticket, *, tokens: int = 0, latency: float | None = None,
               ttft: float | None = None, failure: int = 0, cooldown: float = 0.0) -> None:
        if not ticket.shared:
            self._local.settle(ticket, tokens=tokens, latency=latency, ttft=ttft,
                               failure=failure, cooldown=cooldown)
            return
        if ticket.settled:
            return
        ticket.settled = True
        with self._lock:
            self._in_flight -= 1
        now = time.monotonic()
        self._pending.append((ticket.deployment.id, tokens, latency, ttft, failure, cooldown, now))
        if len(self._pending) > MAX_PENDING:
            self._pending.popleft()  # Redis has been gone long: forget the oldest
        if now >= self._flush_by:
            # One flush per linger, not per call; on an event loop with a link, from that loop
            # (a thread switch costs more than the call).
            self._flush_by = now + 2 * LINGER
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            entry = self._links.get(loop) if loop is not None else None
            if entry is not None:
                assert loop is not None
                loop.call_later(LINGER, self._flush_on_loop, entry[0])
            else:
                self._ensure_flusher()
                self._wake.set()

    def flush(self) -> None:
        if not self._pending or self._local_only():
            return
        batch = self._drain()
        try:
            ROUTE.run(self._client, self._args(batch, "", ()))
        except self._errors as exc:
            self._failed(exc, batch)

    async def aflush(self) -> None:
        if not self._pending or self._local_only():
            return
        link = await self._alink()
        batch = self._drain()
        try:
            await link.script(ROUTE, self._args(batch, "", ()))
        except LINK_ERRORS as exc:
            self._failed(exc, batch)

    def _flush_on_loop(self, link: RedisLink) -> None:
        """``settle``'s linger is over: send what no pick carried meanwhile."""
        self._flush_by = 0.0
        if not self._pending or self._local_only():
            return
        if link.closed:  # the loop is shutting down: the thread sends it
            self._ensure_flusher()
            self._wake.set()
            return
        batch = self._drain()
        self._count_sending(1)
        link.script(ROUTE, self._args(batch, "", ())).add_done_callback(
            partial(self._flushed, batch))

    def _flushed(self, batch: list[tuple[Any, ...]], future: "asyncio.Future[Any]") -> None:
        self._count_sending(-1)
        if future.cancelled():
            self._pending.extendleft(reversed(batch))
            return
        error = future.exception()
        if error is not None and isinstance(error, LINK_ERRORS):
            self._failed(error, batch)

    def statuses(self, deployments: Sequence["Deployment"]) -> list[DeploymentStatus]:
        deadline = self._quiet_deadline()
        while deadline is not None and self._sending and time.monotonic() < deadline:
            time.sleep(0.001)  # the flusher's batch lands before the snapshot is read
        self.flush()
        if self._local_only():
            return self._local.statuses(deployments)
        try:
            raw = STATUS.run(self._client, [self._head[0], *(d.id for d in deployments)])
        except self._errors as exc:
            self._failed(exc, [])
            return self._local.statuses(deployments)
        return _statuses(deployments, raw)

    async def astatuses(self, deployments: Sequence["Deployment"]) -> list[DeploymentStatus]:
        deadline = self._quiet_deadline()
        while deadline is not None and self._sending and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        await self.aflush()
        if self._local_only():
            return self._local.statuses(deployments)
        link = await self._alink()
        try:
            raw = await link.script(STATUS, [self._head[0], *(d.id for d in deployments)])
        except LINK_ERRORS as exc:
            self._failed(exc, [])
            return self._local.statuses(deployments)
        return _statuses(deployments, raw)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.flush()
        self._client.close()

    async def aclose(self) -> None:
        await self.aflush()
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._links.pop(loop, None)
        if entry is not None:
            await entry[1].aclose()
        self.close()

    @property
    def connected(self) -> bool:
        """``False`` from a failed Redis operation until one succeeds again (meanwhile routing
        runs on local state)."""
        return not self._down_until

    # ---- plumbing -------------------------------------------------------------------------

    def _local_only(self) -> bool:
        down = self._down_until
        return bool(down) and time.monotonic() < down

    def _drain(self) -> list[tuple[Any, ...]]:
        batch = []
        pending = self._pending
        while pending:
            try:
                batch.append(pending.popleft())
            except IndexError:  # another thread took the last one
                break
        return batch

    def _quiet_deadline(self) -> float | None:
        """When the flusher is sending a batch, how long a snapshot may wait for it."""
        return time.monotonic() + self._timeout if self._sending else None

    def _args(self, batch: list[tuple[Any, ...]], mode: str,
              candidates: Sequence["Deployment"]) -> list[Any]:
        if os.getpid() != self._pid:
            self._forked()
        now = time.monotonic()
        beat = now - self._last_beat >= BEAT
        if beat:
            self._last_beat = now
        args: list[Any] = [*self._head, "1" if beat else "0", len(batch)]
        if batch:
            for ident, tokens, latency, ttft, failure, cooldown, at in batch:
                args += (ident, tokens, "" if latency is None else f"{latency:.6f}",
                         "" if ttft is None else f"{ttft:.6f}", failure, f"{cooldown:.6f}",
                         f"{now - at:.6f}")
        args += (mode, len(candidates))
        for d in candidates:
            args += (d.id, d.rpm or 0, d.tpm or 0, NO_RANK if d.order is None else d.order)
        return args

    def _forked(self) -> None:
        """In a child process (a server forking workers): a router instance of its own, with
        nothing of its parent's in flight or queued."""
        self._pid = os.getpid()
        self._head[1] = uuid.uuid4().hex
        self._pending.clear()
        self._in_flight = 0
        self._last_beat = -math.inf
        self._flusher = None

    def _ticket(self, result: Any, sent: float) -> "Ticket | float":
        ident = result[0]
        if self._down_until:
            self._recovered(sent)
        if not ident:
            return self._wait(result)
        with self._lock:
            self._in_flight += 1
        self._ensure_flusher()  # its heartbeat keeps long requests counted
        return Ticket(self._by_id[ident.decode() if isinstance(ident, bytes) else ident], True)

    @staticmethod
    def _wait(result: Any) -> float:
        wait = float(result[1])
        return math.inf if wait >= 1e17 else wait

    def _failed(self, exc: BaseException, batch: list[tuple[Any, ...]]) -> None:
        """Redis did not answer: keep the settlements for later, route locally for a while,
        and drop the sync path's idle pooled connections (they went with the server; the next
        try opens fresh ones instead of failing on each stale one in turn; a link reconnects
        by itself)."""
        self._pending.extendleft(reversed(batch))
        try:
            self._client.connection_pool.disconnect(inuse_connections=False)
        except Exception:  # closing dead sockets must not fail the call
            pass
        with self._lock:
            first = not self._down_until
            now = time.monotonic()
            if first:
                self._down_since = now
            self._down_until = now + RETRY_INTERVAL
        if first:
            logger.warning("Router: Redis is unreachable (%s); routing on local state until it "
                           "is back", type(exc).__name__)

    def _recovered(self, sent: float) -> None:
        """A pick sent at ``sent`` was answered: Redis is back, unless that pick left before
        the outage was seen (a late answer from before the failure, not a recovery)."""
        with self._lock:
            if not self._down_until or sent < self._down_since:
                return
            self._down_until = 0.0
        logger.warning("Router: Redis is reachable again; routing on shared state")

    async def _alink(self) -> RedisLink:
        """The running loop's link (a link's connection belongs to one loop), opened on first
        use and closed with the loop."""
        if os.getpid() != self._pid:
            self._forked()
        loop = asyncio.get_running_loop()
        entry = self._links.get(loop)
        if entry is not None:
            return entry[0]
        link = RedisLink(self._url, timeout=self._timeout, retry_every=RETRY_INTERVAL)
        keeper = _close_with_loop(link, partial(self._loop_closed, loop))
        await keeper.__anext__()
        with self._lock:
            self._links[loop] = (link, keeper)
        return link

    def _count_sending(self, step: int) -> None:
        with self._lock:  # the flusher thread and event loops both send batches
            self._sending += step

    def _loop_closed(self, loop: asyncio.AbstractEventLoop) -> None:
        """A loop's link is gone (the link refers to its loop: the entry would never leave
        the weak dict by itself); settlements it would have sent go with the thread's flush."""
        with self._lock:
            self._links.pop(loop, None)
        if self._pending and not self._closed:
            self._ensure_flusher()
            self._wake.set()

    def _ensure_flusher(self) -> None:
        if self._flusher is None or not self._flusher.is_alive():
            with self._lock:
                if self._flusher is None or not self._flusher.is_alive():
                    self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                                     name="llmrelay-router-redis")
                    self._flusher.start()

    def _flush_loop(self) -> None:
        """Send settlements no pick carried within ``LINGER``; heartbeat while requests are
        in flight (so other routers never take them for a dead router's)."""
        while not self._closed:
            woken = self._wake.wait(HEARTBEAT)
            self._wake.clear()
            if self._closed:
                return
            if woken:
                time.sleep(LINGER)
                self._flush_by = 0.0
            if self._local_only():
                continue
            if self._pending or (self._in_flight > 0
                                 and time.monotonic() - self._last_beat >= HEARTBEAT):
                if not self._pending:
                    self._last_beat = -math.inf  # a heartbeat alone
                self._count_sending(1)
                batch = self._drain()
                try:
                    ROUTE.run(self._client, self._args(batch, "", ()))
                except self._errors as exc:
                    self._failed(exc, batch)
                finally:
                    self._count_sending(-1)


async def _close_with_loop(link: RedisLink, then: Callable[[], None]) -> AsyncIterator[None]:
    """Parked async generator: ``loop.shutdown_asyncgens()`` (run by ``asyncio.run``) closes
    it, and so the link's connection, before the loop goes away; then ``then()``."""
    try:
        yield
    finally:
        await link.close()
        then()


def _float(raw: Any) -> float | None:
    return float(raw) if raw not in (b"", "", None) else None


def _statuses(deployments: Sequence["Deployment"], raw: Any) -> list[DeploymentStatus]:
    now = float(raw[0])
    minute = int(raw[1])
    out = []
    for k, d in enumerate(deployments):
        c, m, r, t, f, lat, ttft = raw[2 + 7 * k: 9 + 7 * k]
        cool = _float(c)
        current = _float(m) == minute
        out.append(DeploymentStatus(
            id=d.id, model_name=d.model_name, model=d.model,
            cooling_until=cool if cool is not None and cool > now else None,
            rpm_used=int(_float(r) or 0) if current else 0,
            tpm_used=int(_float(t) or 0) if current else 0,
            in_flight=max(int(_float(f) or 0), 0), latency=_float(lat),
            time_to_first_token=_float(ttft), rpm=d.rpm, tpm=d.tpm, weight=d.weight, order=d.order,
        ))
    return out
