"""Every row of GATEWAY.md's error table: status, envelope ``type`` / ``code``, the exception the
official ``openai`` SDK raises, ``Retry-After`` where it says, and the spend row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import openai
import pytest

from llmrelay.testing import Emulator

from .conftest import avoid_minute_edge
from .gateway import MASTER_KEY, Gateway, emulator_config, error_of

MESSAGES = [{"role": "user", "content": "Hello there"}]
LIMIT_BYTES = 20 * 1024


@pytest.fixture(scope="module")
def gateway(emulator_server: Emulator, database_url: str, workdir: Path) -> Iterator[Gateway]:
    config = emulator_config(emulator_server, database_url, max_request_size_mb=LIMIT_BYTES / 1024 / 1024)
    config["router_settings"]["cooldown_time"] = 0.5
    gw = Gateway(workdir, config, emulator=emulator_server)
    gw.start()
    yield gw
    gw.close()


def check(response: object, status: int, type_: str, code: str | None) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    error = error_of(response)  # type: ignore[arg-type]
    assert (error["type"], error["code"]) == (type_, code), error
    assert response.headers["x-request-id"].startswith("req_")  # type: ignore[attr-defined]
    return error


def test_no_key_and_unknown_key(gw: Gateway) -> None:
    response = gw.chat(key=None)  # type: ignore[arg-type]
    check(response, 401, "authentication_error", "invalid_api_key")
    row = gw.row(response.headers["x-request-id"])
    assert row["status"] == "rejected" and row["status_code"] == 401 and row["api_key"] is None
    check(gw.chat(key="sk-not-a-key"), 401, "authentication_error", "invalid_api_key")
    with pytest.raises(openai.AuthenticationError):
        gw.client("sk-not-a-key").chat.completions.create(model="chat", messages=MESSAGES)


def test_missing_model(gw: Gateway) -> None:
    response = gw.post("/v1/chat/completions", {"messages": MESSAGES})
    error = check(response, 400, "invalid_request_error", "missing_model")
    assert error["param"] == "model"
    with pytest.raises(openai.BadRequestError) as caught:
        gw.client().chat.completions.create(model="", messages=MESSAGES)
    assert caught.value.code == "missing_model"


def test_unknown_group(gw: Gateway) -> None:
    check(gw.chat(model="no-such-group"), 404, "not_found_error", "model_not_found")
    with pytest.raises(openai.NotFoundError) as caught:
        gw.client().chat.completions.create(model="no-such-group", messages=MESSAGES)
    assert caught.value.code == "model_not_found"


def test_model_not_allowed(gw: Gateway) -> None:
    key = gw.create_key(models=["other"])["key"]
    response = gw.chat(key=key, model="chat")
    check(response, 403, "permission_error", "model_not_allowed")
    row = gw.row(response.headers["x-request-id"])
    assert row["status"] == "rejected" and row["status_code"] == 403 and row["model_group"] == "chat"


@pytest.mark.parametrize("body", [
    b"{not json", b"[1, 2, 3]", b"", b'"text"',
    json.dumps({"model": "chat", "messages": "hello"}).encode(),
    json.dumps({"model": "chat", "messages": []}).encode(),
    json.dumps({"model": "chat", "messages": [1]}).encode(),
    json.dumps({"model": 42, "messages": MESSAGES}).encode(),
    json.dumps({"model": "chat", "messages": MESSAGES, "max_tokens": "ten"}).encode(),
    json.dumps({"model": "chat", "messages": MESSAGES, "n": 0}).encode(),
    json.dumps({"model": "chat", "messages": MESSAGES, "stream": "yes"}).encode(),
    json.dumps({"model": "chat", "messages": MESSAGES, "stream_options": []}).encode(),
    json.dumps({"model": "chat", "messages": MESSAGES, "api_base": "http://evil.example"}).encode(),
    json.dumps({"model": "chat", "messages": MESSAGES, "api_key": "sk-mine"}).encode(),
    json.dumps({"model": "chat", "messages": [{"role": "wizard", "content": "x"}]}).encode(),
    json.dumps({"model": "chat", "messages": MESSAGES, "temperature": "hot"}).encode(),
], ids=lambda b: b[:40].decode(errors="replace"))
def test_malformed_bodies_are_400(gw: Gateway, body: bytes, emulator: Emulator) -> None:
    response = gw.http.post("/v1/chat/completions", content=body,
                            headers={"authorization": f"Bearer {MASTER_KEY}"})
    check(response, 400, "invalid_request_error", error_of(response)["code"])  # type: ignore[arg-type]
    assert "Traceback" not in response.text
    assert emulator.count() == 0


def test_embeddings_bad_input_is_400(gw: Gateway) -> None:
    response = gw.post("/v1/embeddings", {"model": "embed", "input": 5})
    check(response, 400, "invalid_request_error", "invalid_request")


def test_oversized_body_413_by_content_length(gw: Gateway, emulator: Emulator) -> None:
    big = {"model": "chat", "messages": [{"role": "user", "content": "x" * (LIMIT_BYTES + 10)}]}
    response = gw.post("/v1/chat/completions", big)
    check(response, 413, "invalid_request_error", "request_too_large")
    assert emulator.count() == 0


def test_oversized_body_413_when_chunked(gw: Gateway) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"model": "chat", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}]}'

    response = gw.http.post("/v1/chat/completions", content=body(),
                            headers={"authorization": f"Bearer {MASTER_KEY}"})
    check(response, 413, "invalid_request_error", "request_too_large")
    with pytest.raises(openai.APIStatusError) as caught:  # the SDK has no class of its own for 413
        gw.client().chat.completions.create(model="chat", messages=[
            {"role": "user", "content": "y" * (LIMIT_BYTES * 2)}])
    assert caught.value.status_code == 413 and caught.value.code == "request_too_large"


def test_rpm_limit(gw: Gateway) -> None:
    avoid_minute_edge()
    key = gw.create_key(rpm_limit=2)["key"]
    assert [gw.chat(key=key).status_code for _ in range(2)] == [200, 200]
    response = gw.chat(key=key)
    check(response, 429, "rate_limit_error", "rate_limit_exceeded")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    row = gw.row(response.headers["x-request-id"])
    assert row["status"] == "rejected" and row["status_code"] == 429
    with pytest.raises(openai.RateLimitError):
        gw.client(key).chat.completions.create(model="chat", messages=MESSAGES)


def test_tpm_limit_counts_reservations(gw: Gateway) -> None:
    avoid_minute_edge()
    key = gw.create_key(tpm_limit=60)["key"]
    # The reservation (prompt + max_tokens) alone crosses the limit: refused before sending.
    response = gw.chat(key=key, max_tokens=100)
    check(response, 429, "rate_limit_error", "rate_limit_exceeded")
    assert int(response.headers["retry-after"]) >= 1
    assert gw.chat(key=key, max_tokens=20).status_code == 200
    statuses = [gw.chat(key=key, max_tokens=20).status_code for _ in range(4)]
    assert statuses.count(429) >= 1 and statuses[0] == 200


def test_max_parallel_requests(gw: Gateway, emulator: Emulator) -> None:
    import threading

    key = gw.create_key(max_parallel_requests=1)["key"]
    emulator.slow(1.0, provider="openai")
    slow = threading.Thread(target=gw.chat, kwargs={"key": key})
    slow.start()
    try:
        import time

        deadline = time.time() + 5
        while emulator.count() == 0 and time.time() < deadline:
            time.sleep(0.01)
        response = gw.chat(key=key)
        check(response, 429, "rate_limit_error", "rate_limit_exceeded")
        assert response.headers["retry-after"] == "1"
    finally:
        slow.join()
    assert gw.chat(key=key).status_code == 200


def test_budget_exceeded(gw: Gateway) -> None:
    key = gw.create_key(max_budget=0.00005, budget_duration="1h")["key"]
    statuses = [gw.chat(key=key, max_tokens=10).status_code for _ in range(6)]
    assert statuses[0] == 200 and 429 in statuses
    response = gw.chat(key=key, max_tokens=10)
    check(response, 429, "budget_exceeded", "budget_exceeded")
    assert 3000 <= int(response.headers["retry-after"]) <= 3600
    with pytest.raises(openai.RateLimitError):
        gw.client(key).chat.completions.create(model="chat", messages=MESSAGES, max_tokens=10)
    no_period = gw.create_key(max_budget=0)["key"]
    response = gw.chat(key=no_period, max_tokens=10)
    check(response, 429, "budget_exceeded", "budget_exceeded")
    assert "retry-after" not in response.headers


@pytest.mark.parametrize("status,exception", [
    (400, openai.BadRequestError), (500, openai.InternalServerError),
    (503, openai.InternalServerError), (429, openai.RateLimitError),
])
def test_provider_errors_keep_status_and_message(gw: Gateway, emulator: Emulator, status: int,
                                                 exception: type[Exception]) -> None:
    import time

    time.sleep(0.6)  # the cooldown an earlier case may have started (cooldown_time 0.5)
    emulator.fail(status, provider="openai")
    response = gw.chat(model="other")
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["message"]
    row = gw.row(response.headers["x-request-id"])
    assert row["status"] == "error" and row["status_code"] == status
    emulator.fail(status, provider="openai")
    time.sleep(0.6)  # the cooldown after the first failure
    with pytest.raises(exception):
        gw.client().chat.completions.create(model="other", messages=MESSAGES)


def test_provider_refusing_credentials_is_502(gw: Gateway) -> None:
    response = gw.chat(model="badauth")
    error = check(response, 502, "upstream_error", "provider_auth_error")
    assert "sk-wrong-provider-key-999" not in response.text
    assert "sk-wrong-provider-key-999" not in str(error)
    row = gw.row(response.headers["x-request-id"])
    assert row["status"] == "error" and row["status_code"] == 502


def test_no_deployment_available(gw: Gateway) -> None:
    avoid_minute_edge()
    first = gw.chat(model="limited")
    assert first.status_code in (200, 429)
    response = gw.chat(model="limited")
    check(response, 429, "rate_limit_error", error_of(response)["code"])  # type: ignore[arg-type]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    with pytest.raises(openai.RateLimitError):
        gw.client().chat.completions.create(model="limited", messages=MESSAGES)


def test_unknown_route_and_method(gw: Gateway) -> None:
    response = gw.get("/v1/nothing-here")
    check(response, 404, "not_found_error", "route_not_found")
    response = gw.get("/v1/chat/completions")
    check(response, 405, "invalid_request_error", "method_not_allowed")
