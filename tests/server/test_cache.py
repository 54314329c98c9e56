"""``cache:`` in the config: a repeated request is answered from the cache (nothing sent, no
deployment), and its spend row says ``cache_hit`` with spend 0."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from llmrelay.testing import Emulator

from .gateway import Gateway, emulator_config


@pytest.fixture(scope="module")
def gateway(emulator_server: Emulator, database_url: str, workdir: Path) -> Iterator[Gateway]:
    config = emulator_config(emulator_server, database_url)
    config["cache"] = {"type": "memory", "ttl": 60}
    gw = Gateway(workdir, config, emulator=emulator_server)
    gw.start()
    yield gw
    gw.close()


def test_repeated_request_is_a_cache_hit(gw: Gateway, emulator: Emulator) -> None:
    first = gw.chat(content="cache me please")
    second = gw.chat(content="cache me please")
    assert first.status_code == second.status_code == 200
    assert emulator.count("openai") == 1
    assert first.json()["choices"] == second.json()["choices"]
    assert first.headers["x-llmrelay-deployment"] == "chat/0"
    assert "x-llmrelay-deployment" not in second.headers, "a hit reached no deployment"
    hit = gw.row(second.headers["x-request-id"])
    assert hit["cache_hit"] is True and hit["spend"] == 0 and hit["status"] == "success"
    assert gw.row(first.headers["x-request-id"])["cache_hit"] is False
