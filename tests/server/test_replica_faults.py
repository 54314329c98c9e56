"""Two replicas on a private Redis and a private PostgreSQL, both killed and started again while
requests flow: nothing fails or waits long, readiness says what is down, and once both are
back every answered request has its spend row, the key's spend agrees with them, and limits
are shared again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from llmrelay.testing import Emulator

from ..services import REDIS_PREFIX, PostgresServer, RedisServer
from .cluster import Answer, Clients, start_replicas, wait_rows
from .conftest import avoid_minute_edge


@pytest.fixture
def servers() -> Iterator[tuple[RedisServer, PostgresServer]]:
    # Redis with its append-only file, as a deployment that keeps spend rows in it runs it.
    redis = RedisServer(persistent=True)
    pg = PostgresServer()
    pg.start()
    yield redis, pg
    redis.stop()
    pg.close()


def _ready(url: str) -> tuple[int, dict[str, str]]:
    response = httpx.get(url + "/health/readiness", timeout=5)
    return response.status_code, response.json()


def _wait_ready(urls: list[str], want: dict[str, str], status: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        seen = [_ready(u) for u in urls]
        if all(code == status and all(body.get(k) == v for k, v in want.items()) for code, body in seen):
            return
        assert time.monotonic() < deadline, f"readiness never became {status} {want}: {seen}"
        time.sleep(0.2)


async def test_redis_and_postgres_killed_and_restarted_mid_load(
        servers: tuple[RedisServer, PostgresServer], emulator: Emulator, tmp_path: Path) -> None:
    redis, pg = servers
    a, b = start_replicas(2, tmp_path, emulator, pg.url, redis.url,
                          f"{REDIS_PREFIX}:faults:{redis.port}")
    created = a.create_key(max_budget=100.0, rpm_limit=100_000, max_parallel_requests=1000)
    clients = Clients([a.url, b.url], created["key"])
    answers: list[Answer] = []
    stop = asyncio.Event()

    async def worker(n: int) -> None:
        i = n
        while not stop.is_set():
            answer = await clients.send(i, max_tokens=5)
            assert answer is not None, "a request got no answer"
            answers.append(answer)
            i += 4
            await asyncio.sleep(0.01)

    try:
        assert [x.status for x in await clients.fire(4)] == [200] * 4  # both replicas know the key
        workers = [asyncio.create_task(worker(n)) for n in range(4)]
        await asyncio.sleep(0.5)
        redis.kill()
        await asyncio.sleep(1.5)
        for url in (a.url, b.url):
            code, body = _ready(url)
            assert (code, body["redis"], body["db"]) == (200, "disconnected", "connected")
        pg.stop()
        await asyncio.sleep(1.5)
        for url in (a.url, b.url):
            code, body = _ready(url)
            assert (code, body["db"]) == (503, "disconnected")
        redis.start()
        pg.start()
        await asyncio.to_thread(_wait_ready, [a.url, b.url], {"db": "connected", "redis": "connected"}, 200)
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*workers)

        assert len(answers) > 50
        assert {x.status for x in answers} == {200}, "every request went through"
        slowest = max(x.seconds for x in answers)
        assert slowest < 1.0, f"a request took {slowest:.2f} s while a service was down"
        ids = [x.request_id for x in answers]
        rows = await asyncio.to_thread(wait_rows, pg.url, ids, 20)
        token = created["token"]
        stored = sum(r["spend"] or 0.0 for r in rows.values() if r["api_key"] == token)
        assert len([r for r in rows.values() if r["api_key"] == token]) == len(ids) + 4

        # Counters reconciled: the spend both replicas report is what the rows add up to.
        for gw in (a, b):
            info = gw.get(f"/key/info?key={token}").json()["info"]
            assert info["spend"] == pytest.approx(stored, rel=1e-9)

        # And limits are shared again: exactly the limit through both replicas.
        avoid_minute_edge(5)
        limited = Clients([a.url, b.url], a.create_key(rpm_limit=6)["key"])
        try:
            got = await limited.fire(18)
            assert sorted(x.status for x in got) == [200] * 6 + [429] * 12
        finally:
            await limited.aclose()
        await asyncio.to_thread(wait_rows, pg.url, [x.request_id for x in got], 10)
        for gw in (a, b):
            log = gw.stderr()
            assert log.count("redis: not answering") == 1, log
            assert "Traceback" not in log
    finally:
        stop.set()
        await clients.aclose()
        a.close()
        b.close()
