"""Limits within one process: plain counters, exact because the event loop runs one step at
a time (``acquire`` checks and takes with no ``await`` in between)."""

from __future__ import annotations

from dataclasses import dataclass

from ..durations import window_of
from .base import Demand, Grant, KeyLimits, Refused

__all__ = ["MemoryLimiter"]

KEEP_WINDOWS = 2  # minute windows kept per key: the current one and the last


@dataclass
class _Budget:
    period_end: float | None
    spent: float  # settled spend of the period
    reserved: float = 0.0


class _KeyState:
    __slots__ = ("budget", "in_flight", "requests", "tokens")

    def __init__(self) -> None:
        self.requests: dict[int, int] = {}
        self.tokens: dict[int, int] = {}
        self.in_flight = 0
        self.budget: _Budget | None = None


class MemoryLimiter:
    def __init__(self) -> None:
        self._keys: dict[str, _KeyState] = {}

    def _budget(self, state: _KeyState, limits: KeyLimits) -> _Budget:
        budget = state.budget
        if budget is None or budget.period_end != limits.period_end:
            # First sight of the key in this period: start from what the database holds. A
            # request still in flight from the last period keeps its reservation with it.
            carried = budget.reserved if budget is not None else 0.0
            budget = state.budget = _Budget(limits.period_end, limits.stored_spend, carried)
        elif limits.stored_spend > budget.spent:
            # The database knows more: other processes' spend (``--workers N`` without Redis),
            # or this one's made while a shared limiter was unreachable.
            budget.spent = limits.stored_spend
        return budget

    async def acquire(self, limits: KeyLimits, demand: Demand, now: float) -> Grant:
        window, left = window_of(now)
        state = self._keys.get(limits.key)
        if state is None:
            state = self._keys[limits.key] = _KeyState()
        budget = self._budget(state, limits) if limits.budget is not None else None
        if budget is not None and limits.budget is not None:
            if budget.spent + budget.reserved + demand.cost > limits.budget + 1e-12 or \
                    (demand.cost == 0 and budget.spent >= limits.budget):
                retry = None if limits.period_end is None else max(limits.period_end - now, 1.0)
                raise Refused("budget", f"Budget exceeded: spent {budget.spent:.6f} of "
                              f"{limits.budget:.6f} USD (this request may cost up to "
                              f"{demand.cost:.6f} USD).", retry)
        if limits.parallel is not None and state.in_flight >= limits.parallel:
            raise Refused("parallel", f"Too many requests in flight for this key "
                          f"(max_parallel_requests {limits.parallel}).", 1.0)
        requests = state.requests.get(window, 0)
        if limits.rpm is not None and requests >= limits.rpm:
            raise Refused("rpm", f"Rate limit reached: {limits.rpm} requests per minute.", left)
        tokens = state.tokens.get(window, 0)
        if limits.tpm is not None and tokens + demand.tokens > limits.tpm:
            raise Refused("tpm", f"Token rate limit reached: {tokens} of {limits.tpm} tokens "
                          f"this minute are used or reserved; this request needs up to "
                          f"{demand.tokens}.", left)
        state.requests[window] = requests + 1
        state.tokens[window] = tokens + demand.tokens
        state.in_flight += 1
        if budget is not None:
            budget.reserved += demand.cost
        if len(state.requests) > KEEP_WINDOWS:
            self._forget_old(state, window)
        return Grant(limits, demand, window)

    async def settle(self, grant: Grant, tokens: int, cost: float, now: float) -> None:
        if grant.settled:
            return
        grant.settled = True
        state = self._keys.get(grant.limits.key)
        if state is None:
            return
        state.in_flight -= 1
        if grant.window in state.tokens:
            state.tokens[grant.window] -= grant.demand.tokens
        window, _ = window_of(now)
        state.tokens[window] = state.tokens.get(window, 0) + tokens
        budget = state.budget
        if budget is not None:
            budget.reserved = max(0.0, budget.reserved - grant.demand.cost)
            if budget.period_end == grant.limits.period_end:
                budget.spent += cost

    async def period_spend(self, limits: KeyLimits) -> float | None:
        state = self._keys.get(limits.key)
        if state is None or state.budget is None or state.budget.period_end != limits.period_end:
            return None
        return state.budget.spent

    def _forget_old(self, state: _KeyState, window: int) -> None:
        for counter in (state.requests, state.tokens):
            for old in [w for w in counter if w <= window - KEEP_WINDOWS]:
                del counter[old]

    async def close(self) -> None:
        self._keys.clear()
