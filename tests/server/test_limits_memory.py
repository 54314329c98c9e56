"""The in-process limiter: exact under concurrency, fixed UTC-minute windows, reservations
settled to what was used, budgets per period."""

from __future__ import annotations

import asyncio

import pytest

from llmrelay.server.limits import Demand, KeyLimits, MemoryLimiter, Refused

T0 = 1_700_000_000.0 - 1_700_000_000.0 % 60 + 10  # 10 s into a UTC minute


async def test_rpm_exact_under_concurrency() -> None:
    limiter = MemoryLimiter()
    limits = KeyLimits("k", rpm=5)

    async def one() -> bool:
        try:
            await limiter.acquire(limits, Demand(), T0)
            return True
        except Refused as refusal:
            assert refusal.reason == "rpm" and refusal.retry_after == pytest.approx(50)
            return False

    results = await asyncio.gather(*(one() for _ in range(20)))
    assert results.count(True) == 5
    await limiter.acquire(limits, Demand(), T0 + 51)  # the next minute


async def test_parallel_slots_given_back() -> None:
    limiter = MemoryLimiter()
    limits = KeyLimits("k", parallel=2)
    a = await limiter.acquire(limits, Demand(), T0)
    await limiter.acquire(limits, Demand(), T0)
    with pytest.raises(Refused) as caught:
        await limiter.acquire(limits, Demand(), T0)
    assert caught.value.reason == "parallel" and caught.value.retry_after == 1
    await limiter.settle(a, 0, 0.0, T0)
    await limiter.settle(a, 0, 0.0, T0)  # settling twice gives back once
    await limiter.acquire(limits, Demand(), T0)
    with pytest.raises(Refused):
        await limiter.acquire(limits, Demand(), T0)


async def test_tpm_counts_reservations_then_real_tokens() -> None:
    limiter = MemoryLimiter()
    limits = KeyLimits("k", tpm=100)
    grant = await limiter.acquire(limits, Demand(tokens=80), T0)
    with pytest.raises(Refused) as caught:
        await limiter.acquire(limits, Demand(tokens=30), T0)
    assert caught.value.reason == "tpm"
    await limiter.settle(grant, 20, 0.0, T0 + 1)  # used far less than reserved
    await limiter.acquire(limits, Demand(tokens=80), T0 + 2)
    with pytest.raises(Refused):
        await limiter.acquire(limits, Demand(tokens=1), T0 + 2)


async def test_budget_never_overspent_under_concurrency() -> None:
    limiter = MemoryLimiter()
    limits = KeyLimits("k", budget=1.0, period_end=T0 + 3600, stored_spend=0.2)
    grants = []
    for _ in range(10):
        try:
            grants.append(await limiter.acquire(limits, Demand(cost=0.25), T0))
        except Refused as refusal:
            assert refusal.reason == "budget"
            assert refusal.retry_after == pytest.approx(3600)
    assert len(grants) == 3  # 0.2 + 3 * 0.25 <= 1.0 < 0.2 + 4 * 0.25
    for grant in grants:
        await limiter.settle(grant, 10, 0.1, T0)
    assert await limiter.period_spend(limits) == pytest.approx(0.5)
    more = [await limiter.acquire(limits, Demand(cost=0.25), T0) for _ in range(2)]
    with pytest.raises(Refused):
        await limiter.acquire(limits, Demand(cost=0.25), T0)
    assert len(more) == 2


async def test_budget_resets_with_the_period() -> None:
    limiter = MemoryLimiter()
    first = KeyLimits("k", budget=1.0, period_end=T0 + 60, stored_spend=0.0)
    grant = await limiter.acquire(first, Demand(cost=0.9), T0)
    await limiter.settle(grant, 1, 0.9, T0)
    with pytest.raises(Refused):
        await limiter.acquire(first, Demand(cost=0.2), T0)
    second = KeyLimits("k", budget=1.0, period_end=T0 + 120, stored_spend=0.0)
    await limiter.acquire(second, Demand(cost=0.9), T0 + 61)


async def test_over_budget_refused_even_when_unpriced() -> None:
    limiter = MemoryLimiter()
    limits = KeyLimits("k", budget=1.0, stored_spend=1.0)
    with pytest.raises(Refused) as caught:
        await limiter.acquire(limits, Demand(cost=0.0), T0)
    assert caught.value.retry_after is None
