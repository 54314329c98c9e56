"""A database outage (a private PostgreSQL, stopped and started again): readiness says so, keys
this replica has seen keep working, a key it has not seen gets 503 ``auth_unavailable``, no
request waits long, and the spend rows made meanwhile reach the database once it is back."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from llmrelay.testing import Emulator

from ..services import PostgresServer, run_async
from .gateway import Gateway, emulator_config, error_of, table


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.close()


def _insert_key(url: str, key: str) -> None:
    import asyncpg

    async def insert() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("INSERT INTO llmrelay_keys (token, created_at, updated_at) "
                               "VALUES ($1, now(), now())", hashlib.sha256(key.encode()).hexdigest())
        finally:
            await conn.close()

    run_async(insert())


def test_database_outage(private_postgres: PostgresServer, emulator: Emulator, tmp_path: Path) -> None:
    url = private_postgres.url
    gw = Gateway(tmp_path, emulator_config(emulator, url), emulator=emulator).start()
    try:
        seen = gw.create_key()["key"]
        assert gw.chat(seen).status_code == 200
        unseen = "sk-made-elsewhere-0123456789"
        _insert_key(url, unseen)  # as another replica would: this one never looked it up

        private_postgres.stop()
        ready = httpx.get(gw.url + "/health/readiness", timeout=5)
        assert ready.status_code == 503
        assert ready.json()["db"] == "disconnected"

        during = []
        for _ in range(3):
            started = time.monotonic()
            response = gw.chat(seen)
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < 1.5
            during.append(response.headers["x-request-id"])
        started = time.monotonic()
        response = gw.chat(unseen)
        assert time.monotonic() - started < 1.5
        assert response.status_code == 503
        error = error_of(response)
        assert (error["type"], error["code"]) == ("service_unavailable", "auth_unavailable")
        during.append(response.headers["x-request-id"])
        master = gw.chat()
        assert master.status_code == 200
        during.append(master.headers["x-request-id"])

        private_postgres.start()
        deadline = time.time() + 20
        while time.time() < deadline:
            if httpx.get(gw.url + "/health/readiness", timeout=5).status_code == 200:
                break
            time.sleep(0.2)
        deadline = time.time() + 20
        stored: set[str] = set()
        while time.time() < deadline:
            stored = {r["request_id"] for r in table(url, "llmrelay_spend_logs")}
            if set(during) <= stored:
                break
            time.sleep(0.5)
        assert set(during) <= stored, "the rows made during the outage reached the database"
        assert gw.chat(unseen).status_code == 200
        assert "Traceback" not in gw.stderr()
    finally:
        gw.close()
