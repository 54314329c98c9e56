"""Routing state in this process: one short lock over plain counters, shared by threads and
event loops alike (nothing is awaited or sent while it is held)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Sequence

from .deployments import DeploymentStatus
from .failures import COOL, COUNT
from .state import EWMA, FAIL_WINDOW, Ticket

if TYPE_CHECKING:
    from .deployments import Deployment

__all__ = ["MemoryState"]

_now = time.time


class _Stats:
    __slots__ = ("cool_until", "fails", "in_flight", "latency", "minute", "rpm_used",
                 "tpm_used", "ttft")

    def __init__(self) -> None:
        self.minute = 0
        self.rpm_used = 0
        self.tpm_used = 0
        self.in_flight = 0
        self.cool_until = 0.0
        self.latency: float | None = None
        self.ttft: float | None = None
        self.fails: deque[float] = deque()


class MemoryState:
    """``RouterState`` in local memory. Times are epoch seconds; a minute is the UTC minute."""

    shared = False

    def __init__(self, allowed_fails: int) -> None:
        self.allowed_fails = allowed_fails
        # Re-entrant: a stream collected by the garbage collector settles from its finalizer,
        # which may run on this very thread while it holds the lock.
        self._lock = threading.RLock()
        self._stats: dict[str, _Stats] = {}

    def _get(self, ident: str) -> _Stats:
        stats = self._stats.get(ident)
        if stats is None:
            stats = self._stats.setdefault(ident, _Stats())
        return stats

    def pick(self, candidates: Sequence["Deployment"], mode: str) -> "Ticket | float":
        now = _now()
        minute = int(now // 60)
        wait = math.inf
        chosen: Deployment | None = None
        best_stats: _Stats | None = None
        best_key = 0.0
        with self._lock:
            for d in candidates:
                if chosen is not None and d.rank != chosen.rank:
                    break  # a later order tier: only when the earlier one has nothing eligible
                s = self._stats.get(d.id) or self._get(d.id)
                if s.cool_until > now:
                    wait = min(wait, s.cool_until - now)
                    continue
                if s.minute != minute:
                    s.minute, s.rpm_used, s.tpm_used = minute, 0, 0
                elif (d.rpm is not None and s.rpm_used >= d.rpm) or (
                        d.tpm is not None and s.tpm_used >= d.tpm):
                    wait = min(wait, (minute + 1) * 60 - now)
                    continue
                if mode == "first":
                    chosen, best_stats = d, s
                    break
                key = _key(s, mode)
                if chosen is None or key < best_key:
                    chosen, best_stats, best_key = d, s, key
            if chosen is None or best_stats is None:
                return wait
            best_stats.rpm_used += 1
            best_stats.in_flight += 1
        return Ticket(chosen)

    async def apick(self, candidates: Sequence["Deployment"], mode: str) -> "Ticket | float":
        return self.pick(candidates, mode)

    def wait_time(self, candidates: Sequence["Deployment"]) -> float:
        now = _now()
        minute = int(now // 60)
        wait = math.inf
        with self._lock:
            for d in candidates:
                s = self._get(d.id)
                if s.cool_until > now:
                    wait = min(wait, s.cool_until - now)
                elif s.minute == minute and ((d.rpm is not None and s.rpm_used >= d.rpm) or (
                        d.tpm is not None and s.tpm_used >= d.tpm)):
                    wait = min(wait, (minute + 1) * 60 - now)
                else:
                    return 0.0
        return wait

    async def await_time(self, candidates: Sequence["Deployment"]) -> float:
        return self.wait_time(candidates)

    def settle(self, ticket: Ticket, *, tokens: int = 0, latency: float | None = None,
               ttft: float | None = None, failure: int = 0, cooldown: float = 0.0) -> None:
        if ticket.settled:
            return
        ticket.settled = True
        now = _now()
        with self._lock:
            s = self._get(ticket.deployment.id)
            if s.in_flight > 0:
                s.in_flight -= 1
            if tokens:
                minute = int(now // 60)
                if s.minute != minute:
                    s.minute, s.rpm_used, s.tpm_used = minute, 0, 0
                s.tpm_used += tokens
            if latency is not None:
                s.latency = latency if s.latency is None else s.latency + EWMA * (latency - s.latency)
            if ttft is not None:
                s.ttft = ttft if s.ttft is None else s.ttft + EWMA * (ttft - s.ttft)
            if failure:
                self._fail(s, failure, cooldown, now)

    def _fail(self, s: _Stats, failure: int, cooldown: float, at: float) -> None:
        if failure == COUNT:
            fails = s.fails
            fails.append(at)
            while fails and fails[0] <= at - FAIL_WINDOW:
                fails.popleft()
            if len(fails) <= self.allowed_fails:
                return
        elif failure != COOL:
            return
        s.fails.clear()
        s.cool_until = max(s.cool_until, at + cooldown)

    def flush(self) -> None:
        pass

    async def aflush(self) -> None:
        pass

    def statuses(self, deployments: Sequence["Deployment"]) -> list[DeploymentStatus]:
        now = _now()
        minute = int(now // 60)
        with self._lock:
            return [_status(d, self._get(d.id), now, minute) for d in deployments]

    async def astatuses(self, deployments: Sequence["Deployment"]) -> list[DeploymentStatus]:
        return self.statuses(deployments)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _key(s: _Stats, mode: str) -> float:
    if mode == "in_flight":
        return float(s.in_flight)
    if mode == "tpm":
        return float(s.tpm_used)
    value = s.ttft if mode == "ttft" else s.latency
    return -1.0 if value is None else value  # untried first


def _status(d: "Deployment", s: _Stats, now: float, minute: int) -> DeploymentStatus:
    current = s.minute == minute
    return DeploymentStatus(
        id=d.id, model_name=d.model_name, model=d.model,
        cooling_until=s.cool_until if s.cool_until > now else None,
        rpm_used=s.rpm_used if current else 0, tpm_used=s.tpm_used if current else 0,
        in_flight=s.in_flight, latency=s.latency, time_to_first_token=s.ttft,
        rpm=d.rpm, tpm=d.tpm, weight=d.weight, order=d.order,
    )
