"""Replicas of ``llmrelay serve`` on one PostgreSQL and one Redis, driven concurrently through
the ``openai`` SDK and raw HTTP: limits exact across them, budgets never overspent, keys
shared at once, and no spend row lost when one is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import time
from typing import Iterator

import httpx
import pytest

from llmrelay import token_counter
from llmrelay.testing import Emulator

from ..services import Postgres
from .cluster import Answer, Clients, spend_rows, start_replicas, wait_rows
from .conftest import avoid_minute_edge
from .gateway import PRICE_IN, PRICE_OUT, Gateway, error_of

HELLO = [{"role": "user", "content": "Hello there"}]
PROMPT = int(token_counter(model="openai/gpt-4o-mini", messages=HELLO))


class Cluster:
    def __init__(self, replicas: list[Gateway], database_url: str) -> None:
        self.replicas = replicas
        self.database_url = database_url

    @property
    def urls(self) -> list[str]:
        return [gw.url for gw in self.replicas]


@pytest.fixture(scope="module")
def cluster(emulator_server: Emulator, postgres: Postgres, redis_url: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    url = postgres.database()
    replicas = start_replicas(2, tmp_path_factory.mktemp("replicas"), emulator_server, url, redis_url)
    yield Cluster(replicas, url)
    for gw in replicas:
        gw.close()
    postgres.drop(url)


def _split(answers: list[Answer]) -> tuple[list[Answer], list[Answer]]:
    return [a for a in answers if a.status == 200], [a for a in answers if a.status == 429]


async def test_rpm_tpm_parallel_exact_across_two_replicas(cluster: Cluster, emulator: Emulator) -> None:
    avoid_minute_edge(12)
    a, b = cluster.replicas
    rpm = Clients(cluster.urls, a.create_key(rpm_limit=10)["key"])
    per_request = PROMPT + 20  # tpm reserves the prompt and max_tokens
    tpm = Clients(cluster.urls, b.create_key(tpm_limit=5 * per_request)["key"])
    parallel = Clients(cluster.urls, a.create_key(max_parallel_requests=4)["key"])
    try:
        answers = await rpm.fire(40)
        ok, refused = _split(answers)
        assert (len(ok), len(refused)) == (10, 30)
        left = 60 - time.time() % 60
        for refusal in refused:
            assert refusal.code == "rate_limit_exceeded"
            assert refusal.retry_after is not None and 1 <= int(refusal.retry_after) <= 60
            assert abs(int(refusal.retry_after) - left) <= 2  # the seconds left in the minute

        emulator.slow(1.0, times=5, provider="openai")  # the five let through stay in flight
        tpm_answers = await tpm.fire(20, max_tokens=20)
        ok, refused = _split(tpm_answers)
        assert (len(ok), len(refused)) == (5, 15)
        assert {r.code for r in refused} == {"rate_limit_exceeded"}

        emulator.slow(1.0, times=4, provider="openai")
        par_answers = await parallel.fire(16)
        ok, refused = _split(par_answers)
        assert (len(ok), len(refused)) == (4, 12)
        assert {r.retry_after for r in refused} == {"1"}
        again = await parallel.fire(4)  # the slots were given back when those ended
        assert [x.status for x in again] == [200] * 4

        every = answers + tpm_answers + par_answers + again
        rows = wait_rows(cluster.database_url, [x.request_id for x in every], 10)
        for x in every:
            assert rows[x.request_id]["status"] == ("success" if x.status == 200 else "rejected")
            assert rows[x.request_id]["status_code"] == x.status
    finally:
        for clients in (rpm, tpm, parallel):
            await clients.aclose()


async def test_budget_never_overspent_under_3x_oversubscription(cluster: Cluster,
                                                                 emulator: Emulator) -> None:
    a, b = cluster.replicas
    worst = PROMPT * PRICE_IN + 40 * PRICE_OUT  # what one request may cost with max_tokens 40
    budget = round(10 * worst, 12)
    created = b.create_key(max_budget=budget, budget_duration="1h")
    clients = Clients(cluster.urls, created["key"])
    try:
        emulator.slow(1.0, times=10, provider="openai")
        first = await clients.fire(30, max_tokens=40)
        ok, refused = _split(first)
        assert (len(ok), len(refused)) == (10, 20)
        assert {r.code for r in refused} == {"budget_exceeded"}
        assert all(r.retry_after is not None for r in refused)  # until the period resets
        answered = list(first)
        for _ in range(40):  # spend what is left, a few at a time, until nothing fits
            more = await clients.fire(6, max_tokens=40)
            answered += more
            if all(x.status == 429 for x in more):
                break
        rows = wait_rows(cluster.database_url, [x.request_id for x in answered], 10)
        token = created["token"]
        spent = sum(r["spend"] or 0.0 for r in rows.values() if r["api_key"] == token)
        assert spent <= budget + 1e-12, "the budget was overspent"
        assert spent >= budget - worst, "refused while a whole request still fitted"
        for gw in (a, b):
            info = gw.get(f"/key/info?key={token}").json()["info"]
            assert info["spend"] == pytest.approx(spent, abs=1e-9)
    finally:
        await clients.aclose()


def test_keys_are_shared_at_once_and_deletion_reaches_every_replica(cluster: Cluster) -> None:
    a, b = cluster.replicas
    created = a.create_key(models=["chat"])
    assert b.chat(created["key"]).status_code == 200  # b never saw it: looked up at once
    assert a.chat(created["key"]).status_code == 200
    updated = a.post("/key/update", {"key": created["token"], "models": ["other"]})
    assert updated.status_code == 200
    assert error_of(a.chat(created["key"]))["code"] == "model_not_allowed"  # at once here
    deadline = time.monotonic() + 5
    while b.chat(created["key"]).status_code == 200:
        assert time.monotonic() < deadline, "an update took more than 5 s to reach b"
        time.sleep(0.1)
    assert a.post("/key/delete", {"keys": [created["key"]]}).json() == {"deleted_keys": [created["key"]]}
    assert a.chat(created["key"], model="other").status_code == 401
    deadline = time.monotonic() + 5
    while b.chat(created["key"], model="other").status_code != 401:
        assert time.monotonic() < deadline, "a deleted key still worked on b after 5 s"
        time.sleep(0.1)


async def test_sigkill_mid_load_loses_no_row_and_a_restart_duplicates_none(
        cluster: Cluster, emulator_server: Emulator) -> None:
    a, b = cluster.replicas
    assert a.config is not None
    c = Gateway(a.workdir, a.config, emulator=emulator_server).start()
    created = a.create_key()
    clients = Clients([a.url, b.url, c.url], created["key"])
    answers: list[Answer] = []
    lost = 0
    dead = asyncio.Event()

    async def worker(n: int) -> None:
        nonlocal lost
        i = n
        while not stop.is_set():
            if dead.is_set() and i % 3 == 2:
                i += 1  # the killed replica takes no more requests
                continue
            answer = await clients.send(i, max_tokens=5)
            if answer is None:
                lost += 1
            else:
                answers.append(answer)
            i += 12

    stop = asyncio.Event()
    workers = [asyncio.create_task(worker(n)) for n in range(12)]
    try:
        await asyncio.sleep(1.5)
        assert c.proc is not None
        c.proc.kill()
        killed = time.monotonic()
        dead.set()
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*workers)
        assert answers and all(x.status == 200 for x in answers)
        ids = [x.request_id for x in answers]
        rows = wait_rows(cluster.database_url, ids, max(1.0, 10 - (time.monotonic() - killed)))
        mine = {rid for rid, r in rows.items() if r["api_key"] == created["token"]}
        assert set(ids) <= mine
        assert len(mine) - len(ids) <= lost  # a row more only for an answer cut by the kill
        counted = len(mine)

        c.proc = None
        c.stderr_path = c.workdir / f"gateway-{c.port}-restart.log"
        c.start()  # the same config, spool and Redis: whatever it left is written once
        assert c.chat(created["key"]).status_code == 200
        await asyncio.sleep(1.0)
        after = {rid for rid, r in spend_rows(cluster.database_url).items()
                 if r["api_key"] == created["token"]}
        assert len(after) == counted + 1
        info = httpx.get(f"{b.url}/key/info?key={created['token']}",
                         headers={"authorization": f"Bearer {created['key']}"}).json()["info"]
        stored = sum(r["spend"] or 0.0 for r in spend_rows(cluster.database_url).values()
                     if r["api_key"] == created["token"])
        assert info["spend"] == pytest.approx(stored, abs=1e-9)
    finally:
        stop.set()
        await clients.aclose()
        c.close()

