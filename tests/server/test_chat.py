"""Chat completions through the gateway with the official ``openai`` SDK (sync and async) and
raw HTTP: answers, headers, streams chunk by chunk, and the spend row of each request."""

from __future__ import annotations

import json
import re
import time

import httpx
import openai
import pytest

from llmrelay.testing import Emulator

from .gateway import MASTER_KEY, PRICE_IN, PRICE_OUT, Gateway

MESSAGES = [{"role": "user", "content": "Hello there"}]


def test_sdk_sync_answer_headers_and_row(gw: Gateway, emulator: Emulator) -> None:
    key = gw.create_key(key_alias="sync-sdk")
    raw = gw.client(key["key"]).chat.completions.with_raw_response.create(
        model="chat", messages=MESSAGES, max_tokens=50)
    resp = raw.parse()
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hello there"
    assert resp.usage is not None and resp.usage.total_tokens > 0
    request_id = raw.headers["x-request-id"]
    assert raw.headers["x-llmrelay-deployment"] == "chat/0"
    assert float(raw.headers["x-llmrelay-overhead-ms"]) >= 0
    assert emulator.count("openai") == 1
    assert emulator.requests[0].body["model"] == "gpt-4o-mini"  # the deployment's model went out
    row = gw.row(request_id)
    assert row["api_key"] == key["token"] and row["key_alias"] == "sync-sdk"
    assert row["model_group"] == "chat" and row["deployment"] == "chat/0"
    assert row["provider"] == "openai" and row["model"] == resp.model
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (
        resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens)
    assert row["spend"] == pytest.approx(resp.usage.prompt_tokens * PRICE_IN
                                         + resp.usage.completion_tokens * PRICE_OUT)
    assert row["status"] == "success" and row["status_code"] == 200 and row["cache_hit"] is False
    assert row["start_time"] <= row["end_time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", row["start_time"])


async def test_sdk_async_answer(gw: Gateway) -> None:
    async with gw.aclient() as client:
        raw = await client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    resp = raw.parse()
    assert resp.object == "chat.completion"
    assert resp.choices[0].finish_reason == "stop"
    row = gw.row(raw.headers["x-request-id"])
    assert row["api_key"] == "master" and row["key_alias"] is None and row["status"] == "success"


def test_path_without_v1_and_one_row_per_request(gw: Gateway) -> None:
    before = gw.spend()["total"]
    ids = set()
    for path in ("/chat/completions", "/v1/chat/completions"):
        response = gw.post(path, {"model": "chat", "messages": MESSAGES})
        assert response.status_code == 200, response.text
        ids.add(response.headers["x-request-id"])
    assert len(ids) == 2
    after = gw.spend()
    assert after["total"] == before + 2
    assert ids <= {r["request_id"] for r in after["data"]}


def test_stream_sync_chunk_by_chunk(gw: Gateway) -> None:
    with gw.client().chat.completions.with_streaming_response.create(
            model="chat", messages=MESSAGES, stream=True) as raw:
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert raw.headers["x-accel-buffering"] == "no"
        assert raw.headers["x-llmrelay-deployment"] == "chat/0"
        request_id = raw.headers["x-request-id"]
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the emulator. You said: Hello there"
    assert all(c.choices for c in chunks), "no usage-only chunk unless asked"
    assert chunks[-1].choices[0].finish_reason == "stop"
    row = gw.row(request_id)
    assert row["status"] == "success" and row["completion_tokens"] > 0 and row["spend"] > 0


async def test_stream_async_include_usage(gw: Gateway) -> None:
    async with gw.aclient() as client:
        stream = await client.chat.completions.create(
            model="chat", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
        chunks = [c async for c in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_raw_sse_ends_with_done(gw: Gateway) -> None:
    body = {"model": "chat", "messages": MESSAGES, "stream": True}
    with gw.http.stream("POST", "/v1/chat/completions", content=json.dumps(body),
                        headers={"authorization": f"Bearer {MASTER_KEY}"}) as response:
        assert response.status_code == 200
        pieces = [chunk for chunk in response.iter_raw()]
    data = b"".join(pieces).decode()
    events = [e for e in data.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)
    assert len(pieces) > 3, "chunks are forwarded as they come, not buffered into one"
    first = json.loads(events[0][6:])
    assert first["object"] == "chat.completion.chunk"


def test_stream_chunks_arrive_before_the_stream_ends(gw: Gateway, emulator: Emulator) -> None:
    emulator.slow_stream(0.15, provider="openai")
    body = {"model": "chat", "messages": MESSAGES, "stream": True}
    with gw.http.stream("POST", "/v1/chat/completions", content=json.dumps(body),
                        headers={"authorization": f"Bearer {MASTER_KEY}"}) as response:
        started = time.monotonic()
        pieces = response.iter_raw()
        first = next(pieces)
        first_at = time.monotonic() - started
        rest = b"".join(pieces)
        total = time.monotonic() - started
    assert first.startswith(b"data: ")
    assert first_at < total - 0.5, (first_at, total)
    assert rest.endswith(b"data: [DONE]\n\n")


def test_models_lists_groups(gw: Gateway) -> None:
    models = gw.client().models.list()
    assert [m.id for m in models.data] == ["chat", "other", "unpriced", "badauth", "limited", "embed"]
    assert gw.client().models.retrieve("chat").id == "chat"
    response = gw.get("/models")
    assert response.status_code == 200 and response.json()["object"] == "list"
    assert "x-request-id" in response.headers


def test_litellm_params_group_and_unpriced_spend_null(gw: Gateway) -> None:
    response = gw.chat(model="other")
    assert response.status_code == 200, response.text
    response = gw.chat(model="unpriced")
    assert response.status_code == 200, response.text
    row = gw.row(response.headers["x-request-id"])
    assert row["spend"] is None and row["status"] == "success" and row["total_tokens"] > 0


def test_unpriced_deployment_warned_at_start(gw: Gateway) -> None:
    log = gw.stderr()
    assert "unpriced/2" in log and "no price" in log


def test_request_id_is_fresh_even_if_client_sends_one(gw: Gateway) -> None:
    response = gw.http.post("/v1/chat/completions", json={"model": "chat", "messages": MESSAGES},
                            headers={"authorization": f"Bearer {MASTER_KEY}", "x-request-id": "mine"})
    assert response.headers["x-request-id"] != "mine"


def test_health_and_metrics_carry_request_id(gw: Gateway) -> None:
    for path in ("/health/liveliness", "/health/liveness", "/health/readiness", "/metrics"):
        response = httpx.get(gw.url + path)
        assert response.status_code == 200, path
        assert response.headers["x-request-id"].startswith("req_")


def test_stream_failing_midway_ends_with_an_error_event(gw: Gateway, emulator: Emulator) -> None:
    emulator.stream_error(status=500, provider="openai")
    body = {"model": "chat", "messages": MESSAGES, "stream": True}
    with gw.http.stream("POST", "/v1/chat/completions", content=json.dumps(body),
                        headers={"authorization": f"Bearer {MASTER_KEY}"}) as response:
        assert response.status_code == 200
        request_id = response.headers["x-request-id"]
        data = b"".join(response.iter_raw()).decode()
    events = [e for e in data.split("\n\n") if e]
    assert "[DONE]" not in data
    last = json.loads(events[-1][6:])
    assert set(last) == {"error"} and last["error"]["message"]
    with pytest.raises(openai.APIError):
        emulator.stream_error(status=500, provider="openai")
        for _ in gw.client().chat.completions.create(model="chat", messages=MESSAGES, stream=True):
            pass
    row = gw.row(request_id)
    assert row["status"] == "error" and row["status_code"] == 500
