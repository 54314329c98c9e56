"""Process life: SIGTERM drains (listener open, health 503, new requests 503, in-flight streams
finish, spend flushed, exit 0); a client that disconnects is billed for what it got; rows
survive a SIGKILL; ``--workers 2``."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import openai
import pytest

from llmrelay.testing import Emulator

from .gateway import MASTER_KEY, Gateway, emulator_config, error_of, table

LONG = " ".join(f"word{i}" for i in range(30))


def stream_body(content: str = LONG) -> bytes:
    return json.dumps({"model": "chat", "stream": True,
                       "messages": [{"role": "user", "content": content}]}).encode()


def read_stream(gw: Gateway, out: dict[str, Any], after_first: threading.Event | None = None) -> None:
    with httpx.stream("POST", gw.url + "/v1/chat/completions", content=stream_body(), timeout=60,
                      headers={"authorization": f"Bearer {MASTER_KEY}"}) as response:
        out["status"] = response.status_code
        out["request_id"] = response.headers.get("x-request-id")
        data = b""
        try:
            for piece in response.iter_raw():
                data += piece
                if after_first is not None:
                    after_first.set()
        except httpx.HTTPError as exc:  # cut by the gateway's shutdown
            out["cut"] = exc
        out["data"] = data.decode()


def own_gateway(emulator: Emulator, make_database: Callable[[], str], workdir: Path,
                args: list[str] | None = None, **general: Any) -> Gateway:
    url = make_database()
    return Gateway(workdir, emulator_config(emulator, url, **general), emulator=emulator, args=args)


def test_sigterm_drains(emulator: Emulator, make_database: Callable[[], str], workdir: Path) -> None:
    gw = own_gateway(emulator, make_database, workdir, ["--grace", "20"]).start()
    try:
        emulator.slow_stream(0.05, provider="openai")
        out: dict[str, Any] = {}
        first = threading.Event()
        reader = threading.Thread(target=read_stream, args=(gw, out, first))
        reader.start()
        assert first.wait(10)
        gw.signal(signal.SIGTERM)
        time.sleep(0.3)
        assert gw.proc is not None and gw.proc.poll() is None, "still serving while it drains"
        assert httpx.get(gw.url + "/health/liveliness").status_code == 503
        ready = httpx.get(gw.url + "/health/readiness")
        assert ready.status_code == 503 and ready.json()["db"] == "connected"
        refused = gw.chat()
        assert refused.status_code == 503
        error = error_of(refused)
        assert (error["type"], error["code"]) == ("service_unavailable", "shutting_down")
        with pytest.raises(openai.InternalServerError):
            gw.client().chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
        assert error_of(gw.get("/v1/models"))["code"] == "shutting_down"
        assert gw.post("/v1/embeddings", {"model": "embed", "input": "x"}).status_code == 503
        reader.join(30)
        assert out["status"] == 200 and out["data"].endswith("data: [DONE]\n\n")
        assert gw.wait(30) == 0
        rows = {r["request_id"]: r for r in table(gw_database(gw), "llmrelay_spend_logs")}
        assert rows[out["request_id"]]["status"] == "success"
        assert rows[refused.headers["x-request-id"]]["status"] == "rejected"
        assert rows[refused.headers["x-request-id"]]["status_code"] == 503
        assert "Traceback" not in gw.stderr()
    finally:
        gw.close()


def test_sigterm_grace_runs_out(emulator: Emulator, make_database: Callable[[], str],
                                workdir: Path) -> None:
    gw = own_gateway(emulator, make_database, workdir, ["--grace", "0.5"]).start()
    try:
        emulator.slow_stream(0.3, provider="openai")
        out: dict[str, Any] = {}
        first = threading.Event()
        reader = threading.Thread(target=read_stream, args=(gw, out, first))
        reader.start()
        assert first.wait(10)
        started = time.monotonic()
        gw.signal(signal.SIGTERM)
        assert gw.wait(20) == 0
        assert time.monotonic() - started < 6
        reader.join(10)
        assert "cut" in out and "[DONE]" not in out["data"]
        row = {r["request_id"]: r for r in table(gw_database(gw), "llmrelay_spend_logs")}[out["request_id"]]
        assert row["status"] == "error" and row["status_code"] == 503
        assert 0 < row["completion_tokens"] < 30
    finally:
        gw.close()


def gw_database(gw: Gateway) -> str:
    assert gw.config is not None
    return str(gw.config["general_settings"]["database_url"])


def test_disconnect_bills_what_was_streamed(gw: Gateway, emulator: Emulator) -> None:
    emulator.slow_stream(0.2, provider="openai")
    started = time.monotonic()
    with httpx.stream("POST", gw.url + "/v1/chat/completions", content=stream_body(), timeout=30,
                      headers={"authorization": f"Bearer {MASTER_KEY}"}) as response:
        request_id = response.headers["x-request-id"]
        pieces = response.iter_raw()
        for _ in range(3):
            next(pieces)
    # The connection is closed here, long before the 36-event stream could end.
    deadline = time.time() + 10
    row = None
    while time.time() < deadline:
        rows = [r for r in gw.spend(page_size=50)["data"] if r["request_id"] == request_id]
        if rows:
            row = rows[0]
            break
        time.sleep(0.1)
    assert row is not None
    assert row["status"] == "disconnected" and row["status_code"] == 499
    assert row["prompt_tokens"] > 0 and 0 < row["completion_tokens"] < 30
    assert row["spend"] > 0
    assert time.monotonic() - started < 5, "the gateway did not wait for the whole stream"


def test_rows_survive_sigkill(emulator: Emulator, make_database: Callable[[], str],
                              workdir: Path, backend: str) -> None:
    """Rows durable in the write-ahead file while the database cannot take them: a SIGKILL
    loses none, the next start writes them, and none twice."""
    url = make_database()
    config = emulator_config(emulator, url)
    gw = Gateway(workdir, config, emulator=emulator).start()
    ids = [gw.chat().headers["x-request-id"] for _ in range(2)]
    gw.spend()
    with _database_locked(url):
        ids += [gw.chat().headers["x-request-id"] for _ in range(3)]
        assert gw.proc is not None
        gw.proc.kill()
        gw.proc.wait(10)
    again = Gateway(workdir, config, emulator=emulator).start()
    try:
        rows = again.spend(page_size=100)["data"]
        assert sorted(r["request_id"] for r in rows) == sorted(ids), gw.stderr()
        rows = table(url, "llmrelay_spend_logs")
        assert sorted(r["request_id"] for r in rows) == sorted(ids)
    finally:
        again.close()
        gw.close()


class _database_locked:
    """Hold a lock that stops the gateway's spend writer (not its key lookups by master key)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> None:
        if self.url.startswith("sqlite:///"):
            import sqlite3

            self.conn = sqlite3.connect(self.url[len("sqlite:///"):], isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")
            return
        import asyncio

        import asyncpg

        self.loop = asyncio.new_event_loop()

        async def lock() -> Any:
            conn = await asyncpg.connect(self.url)
            tx = conn.transaction()
            await tx.start()
            await conn.execute("LOCK TABLE llmrelay_spend_logs IN ACCESS EXCLUSIVE MODE")
            return conn, tx

        self.pg, self.tx = self.loop.run_until_complete(lock())

    def __exit__(self, *exc: object) -> None:
        if self.url.startswith("sqlite:///"):
            self.conn.execute("ROLLBACK")
            self.conn.close()
            return

        async def unlock() -> None:
            await self.tx.rollback()
            await self.pg.close()

        self.loop.run_until_complete(unlock())
        self.loop.close()


def test_two_workers_share_the_port(emulator: Emulator, make_database: Callable[[], str],
                                    workdir: Path) -> None:
    gw = own_gateway(emulator, make_database, workdir, ["--workers", "2"],
                     alerting=["slack"]).start()
    try:
        key = gw.create_key()["key"]
        ids = set()
        for _ in range(12):
            response = httpx.post(gw.url + "/v1/chat/completions", timeout=30,
                                  headers={"authorization": f"Bearer {key}", "connection": "close"},
                                  json={"model": "chat", "messages": [{"role": "user", "content": "x"}]})
            assert response.status_code == 200, response.text
            ids.add(response.headers["x-request-id"])
        assert len(ids) == 12
        gw.signal(signal.SIGTERM)
        assert gw.wait(30) == 0
        rows = table(gw_database(gw), "llmrelay_spend_logs")
        assert ids <= {r["request_id"] for r in rows}
        # "logged once as ignored": by the supervisor, not by each worker.
        assert gw.stderr().count("general_settings.alerting") == 1, gw.stderr()
    finally:
        gw.close()
