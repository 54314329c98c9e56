"""``/metrics`` in the Prometheus text format with the contract's names, and logs that never
show a secret (the server's stderr, captured, with an access log on)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from llmrelay.testing import Emulator

from .gateway import MASTER_KEY, Gateway, emulator_config


@pytest.fixture(scope="module")
def gateway(emulator_server: Emulator, database_url: str, workdir: Path) -> Iterator[Gateway]:
    gw = Gateway(workdir, emulator_config(emulator_server, database_url), emulator=emulator_server,
                 args=["--access-log", "--log-level", "debug"])
    gw.start()
    yield gw
    gw.close()


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics(gw: Gateway) -> None:
    before = httpx.get(gw.url + "/metrics").text
    assert gw.chat(max_tokens=20).status_code == 200
    assert gw.chat(model="nope").status_code == 404
    response = httpx.get(gw.url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name, kind in (("llmrelay_requests_total", "counter"),
                       ("llmrelay_request_duration_seconds", "histogram"),
                       ("llmrelay_overhead_seconds", "histogram"),
                       ("llmrelay_tokens_total", "counter"),
                       ("llmrelay_spend_usd_total", "counter")):
        assert f"# TYPE {name} {kind}" in text
    assert metric(text, "llmrelay_requests_total", model_group="chat", status="success") == \
        metric(before, "llmrelay_requests_total", model_group="chat", status="success") + 1
    assert metric(text, "llmrelay_requests_total", model_group="nope", status="rejected") >= 1
    assert metric(text, "llmrelay_tokens_total", model_group="chat", type="prompt") > 0
    assert metric(text, "llmrelay_tokens_total", model_group="chat", type="completion") > 0
    assert metric(text, "llmrelay_spend_usd_total", model_group="chat") > 0
    assert metric(text, "llmrelay_request_duration_seconds_count", model_group="chat") >= 1
    assert metric(text, "llmrelay_overhead_seconds_bucket", model_group="chat", le="+Inf") >= 1


def test_no_secret_in_logs(gw: Gateway, emulator: Emulator) -> None:
    key = gw.create_key()
    gw.get("/key/info", params={"key": key["key"]})
    gw.get("/spend/logs", params={"api_key": key["key"]})
    gw.chat(key=key["key"])
    gw.chat(key="sk-attacker-guess-123456")
    gw.chat(model="badauth")
    emulator.fail(500, provider="openai")
    gw.chat(model="other")
    gw.post("/key/delete", {"keys": [key["key"]]})
    log = gw.stderr()
    assert "/key/info" in log and "/spend/logs" in log, "the access log is on"
    for secret in (key["key"], MASTER_KEY, emulator.api_key, "sk-wrong-provider-key-999",
                   "sk-attacker-guess-123456"):
        assert secret not in log, secret
    assert "Traceback" not in log
