"""The routing state's one interface; ``MemoryState`` and ``RedisState`` implement it.

A pick chooses among the eligible deployments and counts the request in the same step (so
concurrent routers never overshoot an ``rpm``); a ticket is settled exactly once, when its
answer is complete, with what it used and how it went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    from .deployments import Deployment, DeploymentStatus

__all__ = ["EWMA", "FAIL_WINDOW", "RouterState", "Ticket"]

FAIL_WINDOW = 60.0  # seconds over which retryable failures are counted against allowed_fails
EWMA = 0.25  # weight of the newest latency sample in the recent average


class Ticket:
    """One request counted against a deployment, until ``settle``."""

    __slots__ = ("deployment", "settled", "shared")

    def __init__(self, deployment: "Deployment", shared: bool = False) -> None:
        self.deployment = deployment
        self.shared = shared  # counted in Redis (else in local memory)
        self.settled = False


class RouterState(Protocol):
    """Cooldowns, per-minute rpm/tpm, in-flight counts and latencies of the deployments."""

    shared: bool

    def pick(self, candidates: Sequence["Deployment"], mode: str) -> "Ticket | float":
        """The chosen deployment's ticket (its request counted), or the seconds until the
        first candidate is eligible again. ``candidates`` are in preference order."""

    async def apick(self, candidates: Sequence["Deployment"], mode: str) -> "Ticket | float": ...

    def wait_time(self, candidates: Sequence["Deployment"]) -> float:
        """Seconds until one of ``candidates`` is eligible (0.0: one is now); counts nothing."""

    async def await_time(self, candidates: Sequence["Deployment"]) -> float: ...

    def settle(self, ticket: Ticket, *, tokens: int = 0, latency: float | None = None,
               ttft: float | None = None, failure: int = 0, cooldown: float = 0.0) -> None:
        """The request is over: in-flight down, ``tokens`` into this minute's tpm, latency
        samples in, and ``failure`` (``failures.COUNT`` / ``COOL``) applied. Never blocks on
        the network: a shared state sends it with its next round trip or soon after."""

    def flush(self) -> None:
        """Send what ``settle`` queued now (before an error reaches the caller)."""

    async def aflush(self) -> None: ...

    def statuses(self, deployments: Sequence["Deployment"]) -> list["DeploymentStatus"]: ...

    async def astatuses(self, deployments: Sequence["Deployment"]) -> list["DeploymentStatus"]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...
