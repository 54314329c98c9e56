"""Requests that stand for one call fail as one: the first error ends the call at once, requests
not started never start, and the rest give up their retries (n > 1 fan-out, embedding batches)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import llmrelay
from llmrelay.concurrently import arun_all, run_all


class Item:
    """Stands in for a ``Call``: what ``run_all`` reads and sets on the calls."""

    def __init__(self, delay: float, fails: bool = False, deadline: float | None = None) -> None:
        self.delay, self.fails, self.deadline = delay, fails, deadline
        self.abandoned = False
        self.started = False

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def enrich(self, error: Any) -> Any:
        return error


def work(item: Item) -> str:
    item.started = True
    time.sleep(item.delay)
    if item.fails:
        raise llmrelay.BadRequestError("refused")
    return f"done {item.delay}"


def test_results_come_back_in_order() -> None:
    items = [Item(0.05), Item(0.0), Item(0.02)]
    assert run_all(work, items, items, 8) == ["done 0.05", "done 0.0", "done 0.02"]  # type: ignore[arg-type]


def test_the_first_failure_ends_the_call_and_abandons_the_rest() -> None:
    items = [Item(1.0), Item(0.05, fails=True), Item(1.0), Item(0.0)]
    started = time.monotonic()
    with pytest.raises(llmrelay.BadRequestError):
        run_all(work, items, items, 2)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.6
    assert all(item.abandoned for item in items)
    time.sleep(0.1)
    assert not items[3].started  # queued behind the limit: never started


def test_force_timeout_bounds_the_wait() -> None:
    deadline = time.monotonic() + 0.2
    items = [Item(1.0, deadline=deadline), Item(1.0, deadline=deadline)]
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout):
        run_all(work, items, items, 2)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.6


def test_async_first_failure_cancels_the_rest() -> None:
    cancelled: list[int] = []

    async def job(i: int) -> int:
        try:
            await asyncio.sleep(0.05 if i == 1 else 2.0)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        if i == 1:
            raise llmrelay.RateLimitError("busy")
        return i

    async def main() -> None:
        started = time.monotonic()
        with pytest.raises(llmrelay.RateLimitError):
            await arun_all(job, [0, 1, 2, 3], 8)
        assert time.monotonic() - started < 0.5

    asyncio.run(main())
    assert sorted(cancelled) == [0, 2, 3]
