"""The Redis limiter in process, two instances standing for two replicas on one real Redis:
exact under concurrency, leases of a replica that stops renewing given back, budgets seeded
from (and caught up with) the database, local limits while Redis is away."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import AsyncIterator

import pytest

from llmrelay.server.limits import Demand, KeyLimits, Refused
from llmrelay.server.limits.redis import RedisLimiter
from llmrelay.server.redis_link import RedisLink

from ..services import REDIS_PREFIX, RedisServer


def _limiter(url: str, prefix: str, **kw: float) -> RedisLimiter:
    return RedisLimiter(RedisLink(url), prefix, **kw)


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[RedisLimiter, RedisLimiter]]:
    prefix = f"{REDIS_PREFIX}:lim:{uuid.uuid4().hex[:8]}"
    a, b = _limiter(redis_url, prefix), _limiter(redis_url, prefix)
    yield a, b
    for limiter in (a, b):
        await limiter.close()
        await limiter.link.close()


def _key() -> str:
    return uuid.uuid4().hex


async def _try(limiter: RedisLimiter, limits: KeyLimits, demand: Demand | None = None) -> str:
    try:
        await limiter.acquire(limits, demand or Demand(), time.time())
        return "ok"
    except Refused as refusal:
        return refusal.reason


def _near_minute_end() -> None:
    left = 60 - time.time() % 60
    if left < 3:
        time.sleep(left + 0.05)


async def test_rpm_exact_across_two_limiters(pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    _near_minute_end()
    a, b = pair
    limits = KeyLimits(_key(), rpm=7)
    results = await asyncio.gather(*(_try(a if i % 2 else b, limits) for i in range(28)))
    assert results.count("ok") == 7 and results.count("rpm") == 21
    with pytest.raises(Refused) as caught:
        await a.acquire(limits, Demand(), time.time())
    assert 0 < (caught.value.retry_after or 0) <= 60


async def test_parallel_slots_and_tpm_across_two_limiters(pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    _near_minute_end()
    a, b = pair
    limits = KeyLimits(_key(), parallel=3, tpm=1000)
    grants = []
    for limiter in (a, b, a):
        grants.append(await limiter.acquire(limits, Demand(tokens=300), time.time()))
    with pytest.raises(Refused) as caught:
        await b.acquire(limits, Demand(tokens=10), time.time())
    assert caught.value.reason == "parallel" and caught.value.retry_after == 1
    await b.settle(grants[0], 50, 0.0, time.time())  # settled by another replica's limiter
    await a.settle(grants[0], 50, 0.0, time.time())  # and twice: given back once
    with pytest.raises(Refused) as caught:  # 300 + 300 reserved + 50 used: 400 more is too much
        await b.acquire(limits, Demand(tokens=400), time.time())
    assert caught.value.reason == "tpm"
    assert await _try(b, limits, Demand(tokens=350)) == "ok"
    assert await _try(a, limits, Demand(tokens=1)) == "parallel"


async def test_a_replica_that_stops_renewing_gives_its_leases_back(redis_url: str) -> None:
    prefix = f"{REDIS_PREFIX}:lim:{uuid.uuid4().hex[:8]}"
    dead, alive = _limiter(redis_url, prefix, lease_ttl=0.6), _limiter(redis_url, prefix, lease_ttl=0.6)
    limits = KeyLimits(_key(), parallel=1, budget=1.0, stored_spend=0.0)
    await dead.acquire(limits, Demand(cost=0.8), time.time())
    assert dead._renewer is not None
    dead._renewer.cancel()  # the replica dies: nothing renews its lease any more
    await dead.link.close()
    assert await _try(alive, limits, Demand(cost=0.3)) == "budget"  # 0.8 of 1.0 is reserved
    assert await _try(alive, limits, Demand(cost=0.1)) == "parallel"
    await asyncio.sleep(0.7)
    grant = await alive.acquire(limits, Demand(cost=0.8), time.time())
    await asyncio.sleep(0.7)  # a live replica's lease is renewed: still held
    assert await _try(alive, limits, Demand(cost=0.1)) in ("parallel", "budget")
    await alive.settle(grant, 10, 0.5, time.time())
    assert await alive.period_spend(limits) == pytest.approx(0.5)
    await alive.close()
    await alive.link.close()


async def test_budget_never_overspent_across_two_limiters(pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    a, b = pair
    limits = KeyLimits(_key(), budget=1.0, period_end=time.time() + 3600, stored_spend=0.2)
    results = await asyncio.gather(*(_try(a if i % 2 else b, limits, Demand(cost=0.25))
                                     for i in range(12)))
    assert results.count("ok") == 3  # 0.2 + 3 * 0.25 <= 1.0 < 0.2 + 4 * 0.25
    assert await b.period_spend(limits) == pytest.approx(0.2)


async def test_budget_settles_to_real_cost_and_catches_up_with_the_database(
        pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    a, b = pair
    end = time.time() + 3600
    limits = KeyLimits(_key(), budget=1.0, period_end=end, stored_spend=0.0)
    grant = await a.acquire(limits, Demand(cost=0.6), time.time())
    await a.settle(grant, 10, 0.1, time.time())
    assert await b.period_spend(limits) == pytest.approx(0.1)
    # The database learned of spend this Redis never saw (made during an outage): it wins.
    ahead = KeyLimits(limits.key, budget=1.0, period_end=end, stored_spend=0.7)
    assert await _try(b, ahead, Demand(cost=0.4)) == "budget"
    assert await _try(b, ahead, Demand(cost=0.3)) == "ok"
    # A new period starts from the database's spend of that period.
    fresh = KeyLimits(limits.key, budget=1.0, period_end=end + 3600, stored_spend=0.0)
    assert await _try(a, fresh, Demand(cost=0.69)) == "ok"  # 0.3 still reserved in flight


async def test_redis_away_means_local_limits_then_shared_again(
        caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer()
    limiter = _limiter(server.url, f"{REDIS_PREFIX}:lim:{uuid.uuid4().hex[:8]}")
    try:
        caplog.set_level(logging.WARNING, logger="llmrelay.server")
        limits = KeyLimits(_key(), rpm=3)
        assert await _try(limiter, limits) == "ok"
        server.kill()
        started = time.monotonic()
        results = [await _try(limiter, limits) for _ in range(6)]
        assert time.monotonic() - started < 1.0
        assert results == ["ok"] * 3 + ["rpm"] * 3  # exact within this process meanwhile
        assert caplog.text.count("redis: not answering") == 1
        server.start()
        await asyncio.sleep(limiter.link.retry_every + 0.05)
        # A new Redis (nothing persisted) counts from 0 again.
        assert [await _try(limiter, limits) for _ in range(4)] == ["ok"] * 3 + ["rpm"]
        assert limiter.link.up
        assert "answering again" in caplog.text
    finally:
        await limiter.close()
        await limiter.link.close()
        server.stop()
