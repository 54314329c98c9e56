"""Limits across replicas: every check and take is one call of ``redis_limits.lua``.

A request's acquire is one round trip (carrying any settlements this replica still owes);
its settle is another, pipelined with whatever else this process sends at that moment (the
spend row, other requests' settles). Requests in flight hold leases that this process renews;
a replica that dies stops renewing, and its leases (parallel slots, tpm and budget
reservations) are given back when they expire. While Redis does not answer, limits are
checked by a local ``MemoryLimiter`` (exact within this process) and settlements wait.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..redis_link import RedisDown, ReplyError, Script
from .base import Demand, Grant, KeyLimits, Refused
from .memory import MemoryLimiter

if TYPE_CHECKING:
    from ..redis_link import RedisLink

__all__ = ["RedisLimiter"]

log = logging.getLogger("llmrelay.server")

LIMITS = Script(Path(__file__).with_name("redis_limits.lua"))
# A lease (a request in flight) lives this long unless renewed; renewed every third of it.
LEASE_TTL = float(os.environ.get("LLMRELAY_LEASE_SECONDS", "15"))
MAX_PENDING = 10_000  # settlements kept while Redis is away; the oldest go first


def _period(limits: KeyLimits) -> str:
    return "life" if limits.period_end is None else f"{limits.period_end:.3f}"


def _opt(value: float | None) -> str:
    return "" if value is None else repr(value)


class RedisLimiter:
    """``Limiter`` on Redis, exact across every replica that shares it."""

    def __init__(self, link: RedisLink, prefix: str, *, lease_ttl: float = LEASE_TTL) -> None:
        self.link = link
        self.prefix = prefix
        self.lease_ttl = lease_ttl
        self.local = MemoryLimiter()
        self._pending: list[tuple[Any, ...]] = []
        self._leases: dict[str, str] = {}  # lease -> key token, for requests in flight here
        self._renewer: asyncio.Task[None] | None = None
        self._broken_logged = False

    def _take(self) -> list[Any]:
        batch, self._pending = self._pending, []
        flat: list[Any] = [len(batch)]
        for entry in batch:
            flat += entry
        return flat

    def _give_back(self, flat: list[Any]) -> None:
        n = flat[0]
        entries = [tuple(flat[1 + 7 * k: 8 + 7 * k]) for k in range(n)]
        self._pending[:0] = entries
        if len(self._pending) > MAX_PENDING:
            del self._pending[: len(self._pending) - MAX_PENDING]

    async def _run(self, args: list[Any]) -> Any:
        """The script with this replica's owed settlements; ``RedisDown`` when it cannot run."""
        owed = self._take()
        try:
            return await self.link.script(LIMITS, [self.prefix, self.lease_ttl, *owed, *args])
        except ReplyError as exc:  # a broken script must not stop requests: go local
            if not self._broken_logged:
                self._broken_logged = True
                log.error("limits: the Redis script failed (%s); using local limits", exc)
            self._give_back(owed)
            raise RedisDown(str(exc)) from None
        except BaseException:
            self._give_back(owed)
            raise

    async def acquire(self, limits: KeyLimits, demand: Demand, now: float) -> Grant:
        lease = uuid.uuid4().hex if (limits.parallel is not None or limits.budget is not None) else ""
        try:
            result = await self._run([
                "acquire", limits.key, _opt(limits.rpm), _opt(limits.tpm), _opt(limits.parallel),
                _opt(limits.budget), _period(limits), repr(limits.stored_spend), demand.tokens,
                repr(demand.cost), lease])
        except RedisDown:
            return await self.local.acquire(limits, demand, now)
        if int(result[0]) == 1:
            if lease:
                self._leases[lease] = limits.key
                self._ensure_renewer()
            return Grant(limits, demand, int(result[1]), state=lease)
        reason = result[1].decode() if isinstance(result[1], bytes) else str(result[1])
        retry = float(result[2]) if result[2] not in (b"", "") else None
        raise Refused(reason, _message(reason, limits, demand, result[3]), retry)

    async def settle(self, grant: Grant, tokens: int, cost: float, now: float) -> None:
        if grant.settled:
            return
        if grant.state is None:  # taken locally while Redis was away
            await self.local.settle(grant, tokens, cost, now)
            return
        grant.settled = True
        lease = str(grant.state)
        self._leases.pop(lease, None)
        self._pending.append((grant.limits.key, lease, grant.window, grant.demand.tokens,
                              int(tokens), repr(float(cost)), _period(grant.limits)))
        try:
            await self._run([""])
        except RedisDown:
            pass  # kept: the next call that reaches Redis carries it

    async def period_spend(self, limits: KeyLimits) -> float | None:
        try:
            period, spent = await self.link.command("HMGET", f"{self.prefix}:b:{limits.key}", "p", "s")
        except (RedisDown, Exception):
            return await self.local.period_spend(limits)
        if period is None or period.decode() != _period(limits) or spent is None:
            return None
        return float(spent)

    def _ensure_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        """Keep this replica's leases alive (and send owed settlements) while it has any."""
        while self._leases or self._pending:
            await asyncio.sleep(self.lease_ttl / 3)
            leases = list(self._leases.items())
            args: list[Any] = ["renew", len(leases)]
            for lease, token in leases:
                args += (token, lease)
            try:
                await self._run(args)
            except RedisDown:
                continue

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
        if self._pending:
            try:
                await self._run([""])
            except RedisDown:
                log.warning("limits: %d settlement(s) not sent to Redis at shutdown; their "
                            "leases expire in %g s", len(self._pending), self.lease_ttl)
        await self.local.close()


def _message(reason: str, limits: KeyLimits, demand: Demand, used: Any) -> str:
    value = float(used.decode() if isinstance(used, bytes) else used)
    if reason == "budget":
        return (f"Budget exceeded: spent {value:.6f} of {limits.budget or 0:.6f} USD (this "
                f"request may cost up to {demand.cost:.6f} USD).")
    if reason == "parallel":
        return f"Too many requests in flight for this key (max_parallel_requests {limits.parallel})."
    if reason == "rpm":
        return f"Rate limit reached: {limits.rpm} requests per minute."
    return (f"Token rate limit reached: {int(value)} of {limits.tpm} tokens this minute are used "
            f"or reserved; this request needs up to {demand.tokens}.")
