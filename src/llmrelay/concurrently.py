"""Several requests that stand for one call (``n > 1`` by fan-out, embedding batches): run them
at once and fail as one. The first failure ends the call: requests not started never start, and
those in flight give up their retries. ``force_timeout`` bounds the wait."""

from __future__ import annotations

import asyncio
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Awaitable, Callable, Sequence, TypeVar

from .exceptions import Timeout

if TYPE_CHECKING:
    from .call import Call

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["arun_all", "run_all"]


def run_all(fn: Callable[[T], R], items: Sequence[T], calls: "Sequence[Call]", limit: int,
            name: str = "llmrelay") -> list[R]:
    """``fn`` over ``items`` on at most ``limit`` threads; the results in order, or the first
    error. ``calls`` are the items' calls (they share one deadline)."""
    pool = ThreadPoolExecutor(max_workers=min(limit, len(items)), thread_name_prefix=name)
    futures = [pool.submit(fn, item) for item in items]
    try:
        remaining = calls[0].remaining()
        done, pending = wait(futures, timeout=None if remaining is None else max(remaining, 0),
                             return_when=FIRST_EXCEPTION)
        failed = next((f.exception() for f in futures if f in done and f.exception()), None)
        if failed is not None:
            raise failed
        if pending:
            raise calls[0].enrich(Timeout("force_timeout reached before the call finished"))
        return [f.result() for f in futures]
    except BaseException:
        for call in calls:
            call.abandoned = True
        raise
    finally:
        # Requests in flight end on their own (their timeouts are cut to the deadline, and an
        # abandoned call retries no more); those not started yet never start.
        pool.shutdown(wait=False, cancel_futures=True)


async def arun_all(fn: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int) -> list[R]:
    """The async twin: tasks at most ``limit`` at once; the first error cancels the rest."""
    gate = asyncio.Semaphore(limit)

    async def gated(item: T) -> R:
        async with gate:
            return await fn(item)

    tasks = [asyncio.ensure_future(gated(item)) for item in items]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = None
        for task in tasks:
            # Every failure is read, not only the first: asyncio logs a task whose exception
            # nobody retrieved ("Task exception was never retrieved", with its traceback).
            if task.done() and not task.cancelled():
                error = task.exception()
                if failed is None:
                    failed = error
        if failed is not None:
            raise failed
        return [t.result() for t in tasks]
    finally:
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
