"""What a limiter is asked, what it answers, and the interface every implementation follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Demand", "Grant", "KeyLimits", "Limiter", "Refused"]


@dataclass(frozen=True)
class KeyLimits:
    """One key's limits for this request.

    ``period_end`` is when the budget period ends (epoch seconds; ``None``: the budget is for
    the key's whole life). ``stored_spend`` is the spend the database holds for that period: a
    limiter seeds its counter with it the first time it sees the key in the period.
    """

    key: str
    rpm: int | None = None
    tpm: int | None = None
    parallel: int | None = None
    budget: float | None = None
    period_end: float | None = None
    stored_spend: float = 0.0

    @property
    def empty(self) -> bool:
        return self.rpm is None and self.tpm is None and self.parallel is None and self.budget is None


@dataclass(frozen=True)
class Demand:
    """What the request may take at most: ``tokens`` for tpm (prompt estimate + ``max_tokens``)
    and ``cost`` in USD for the budget (worst case; 0 when the deployment has no price)."""

    tokens: int = 0
    cost: float = 0.0


@dataclass
class Grant:
    """A request let through: what it reserved, to be settled once with ``Limiter.settle``.

    ``window`` is the UTC minute the tokens were reserved in; ``state`` is the implementation's
    own (a Redis limiter keeps its key names there)."""

    limits: KeyLimits
    demand: Demand
    window: int
    state: Any = None
    settled: bool = field(default=False, compare=False)


class Refused(Exception):
    """The request is over a limit. ``reason``: ``rpm``, ``tpm``, ``parallel`` or ``budget``;
    ``retry_after`` in seconds, ``None`` when waiting will not help."""

    def __init__(self, reason: str, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


class Limiter(Protocol):
    """Checks and takes a key's rpm / tpm / parallel slot / budget reservation atomically.

    ``acquire`` either takes everything the request needs or nothing (raising ``Refused``);
    ``settle`` gives back the parallel slot and replaces the reservations with what the request
    really used. Both must be exact under concurrency.
    """

    async def acquire(self, limits: KeyLimits, demand: Demand, now: float) -> Grant: ...

    async def settle(self, grant: Grant, tokens: int, cost: float, now: float) -> None: ...

    async def period_spend(self, limits: KeyLimits) -> float | None:
        """The settled spend of the key's current period as this limiter counts it, or ``None``
        when it has not seen the key this period (the database then knows best)."""

    async def close(self) -> None: ...
