"""Several ``llmrelay serve`` replicas on one database and one Redis, and a concurrent client
that sends through all of them (the ``openai`` SDK and raw HTTP, alternately) and keeps every
answer it received."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import httpx
import openai

from llmrelay.testing import Emulator

from ..services import REDIS_PREFIX
from .gateway import MASTER_KEY, Gateway, emulator_config, table


def replica_config(emulator: Emulator, database_url: str, redis_url: str, prefix: str) -> dict[str, Any]:
    return emulator_config(emulator, database_url, redis_url=redis_url, redis_prefix=prefix)


def start_replicas(n: int, workdir: Path, emulator: Emulator, database_url: str,
                   redis_url: str, prefix: str | None = None) -> list[Gateway]:
    """``n`` replicas started together (their migrations race, as they would in production)."""
    prefix = prefix or f"{REDIS_PREFIX}:gw:{uuid.uuid4().hex[:8]}"
    config = replica_config(emulator, database_url, redis_url, prefix)
    replicas = [Gateway(workdir, config, emulator=emulator) for _ in range(n)]
    for gw in replicas:
        gw.start(wait=False)
    for gw in replicas:
        gw.wait_ready()
    return replicas


@dataclass
class Answer:
    """One answer the client received in full."""

    status: int
    request_id: str
    retry_after: str | None
    code: str | None
    seconds: float


class Clients:
    """An ``openai.AsyncOpenAI`` and a raw ``httpx.AsyncClient`` per replica, for one key."""

    def __init__(self, urls: Sequence[str], key: str) -> None:
        self.urls = list(urls)
        self.sdk = [openai.AsyncOpenAI(base_url=u + "/v1", api_key=key, max_retries=0, timeout=30)
                    for u in self.urls]
        self.raw = [httpx.AsyncClient(base_url=u, timeout=30,
                                      headers={"authorization": f"Bearer {key}"}) for u in self.urls]

    async def send(self, i: int, **body: Any) -> Answer | None:
        """Request number ``i`` (replica ``i % n``; even: the SDK, odd: raw HTTP); ``None``
        when no answer arrived (the connection was lost)."""
        payload = {"model": "chat", "messages": [{"role": "user", "content": "Hello there"}], **body}
        at = i % len(self.urls)
        started = time.monotonic()
        if i % 2 == 0:
            try:
                raw = await self.sdk[at].chat.completions.with_raw_response.create(**payload)
                raw.parse()
                return Answer(raw.status_code, raw.headers["x-request-id"], None, None,
                              time.monotonic() - started)
            except openai.APIStatusError as exc:
                error = exc.body if isinstance(exc.body, dict) else {}
                return Answer(exc.status_code, exc.response.headers["x-request-id"],
                              exc.response.headers.get("retry-after"), error.get("code"),
                              time.monotonic() - started)
            except openai.APIConnectionError:
                return None
        try:
            response = await self.raw[at].post("/v1/chat/completions", json=payload)
        except httpx.HTTPError:
            return None
        code = response.json()["error"]["code"] if response.status_code >= 400 else None
        return Answer(response.status_code, response.headers["x-request-id"],
                      response.headers.get("retry-after"), code, time.monotonic() - started)

    async def fire(self, n: int, **body: Any) -> list[Answer]:
        """``n`` requests at once, spread over the replicas; every one must be answered."""
        answers = await asyncio.gather(*(self.send(i, **body) for i in range(n)))
        assert all(a is not None for a in answers), "every request was answered"
        return [a for a in answers if a is not None]

    async def aclose(self) -> None:
        for client in self.sdk:
            await client.close()
        for raw in self.raw:
            await raw.aclose()


def spend_rows(database_url: str) -> dict[str, dict[str, Any]]:
    rows = table(database_url, "llmrelay_spend_logs")
    return {r["request_id"]: r for r in rows}


def wait_rows(database_url: str, ids: Iterable[str], timeout: float) -> dict[str, dict[str, Any]]:
    """The spend rows once every id in ``ids`` has one (fails after ``timeout`` seconds)."""
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        rows = spend_rows(database_url)
        if wanted <= set(rows):
            return rows
        if time.monotonic() > deadline:
            missing = sorted(wanted - set(rows))
            raise AssertionError(f"{len(missing)} answered request(s) have no spend row after "
                                 f"{timeout} s, e.g. {missing[:3]}")
        time.sleep(0.2)


def master_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {MASTER_KEY}"}
