"""The Anthropic emulator compared with recorded traffic: same keys, event order and headers,
and the API's own refusals for missing headers and invalid bodies (raw HTTP, no llmrelay)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llmrelay.streaming import SSEDecoder
from llmrelay.testing import Emulator
from tests.conftest import load, recorded

FILES = {p.stem: load(p) for p in recorded("anthropic")}
BODY = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}


def post(emulator: Emulator, body: Any = BODY, **headers: str) -> httpx.Response:
    given = {k.replace("_", "-"): v for k, v in headers.items()}
    sent = {"x-api-key": emulator.api_key, "anthropic-version": "2023-06-01", **given}
    sent = {k: v for k, v in sent.items() if v}
    return httpx.post(emulator.base_url("anthropic") + "/v1/messages", json=body, headers=sent)


def events(text: str) -> list[tuple[str | None, dict[str, Any]]]:
    decoder = SSEDecoder()
    return [(e.event, json.loads(e.data)) for e in decoder.feed(text.encode()) + decoder.flush()]


def keys(obj: Any) -> Any:
    """The nested key structure of a JSON value (lists by their first item)."""
    if isinstance(obj, dict):
        return {k: keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [keys(obj[0])] if obj else []
    return type(obj).__name__


def test_text_body_has_the_recorded_keys(emulator: Emulator) -> None:
    ours = post(emulator).json()
    theirs = FILES["text_system_prompt"]["response"]["body"]
    assert keys(ours) == keys(theirs)


def test_tool_use_body_has_the_recorded_keys(emulator: Emulator) -> None:
    tools = FILES["tool_use_parallel"]["request"]["body"]["tools"]
    ours = post(emulator, {**BODY, "tools": tools}).json()
    theirs = FILES["tool_use_parallel"]["response"]["body"]
    assert [b["type"] for b in ours["content"]] == ["text", "tool_use"]
    assert keys(ours["content"][1]) == keys(theirs["content"][1])
    assert ours["stop_reason"] == theirs["stop_reason"] == "tool_use"


def test_thinking_body_has_the_recorded_keys(emulator: Emulator) -> None:
    ours = post(emulator, {**BODY, "max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024}}).json()
    theirs = FILES["thinking"]["response"]["body"]
    assert [b["type"] for b in ours["content"]] == [b["type"] for b in theirs["content"]]
    assert keys(ours["content"][0]) == keys(theirs["content"][0])


@pytest.mark.parametrize(("name", "extra"), [
    ("stream_text", {}),
    ("stream_thinking", {"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024}}),
    ("stream_tool_use", {"tools": [{"name": "pelican_name_generator", "description": "",
                                    "input_schema": {"properties": {}, "type": "object"}}],
                         "tool_choice": {"type": "any"}}),
])
def test_stream_follows_the_recorded_event_order(emulator: Emulator, name: str, extra: dict[str, Any]) -> None:
    response = post(emulator, {**BODY, **extra, "stream": True})
    recorded_file = FILES[name]["response"]
    assert response.headers["content-type"] == recorded_file["headers"]["content-type"]
    assert response.headers["request-id"].startswith("req_")
    assert {h for h in response.headers if h.startswith("anthropic-ratelimit-")} == \
        {h for h in recorded_file["headers"] if h.startswith("anthropic-ratelimit-")}
    ours, theirs = events(response.text), events(recorded_file["sse"])

    def collapse(seq: list[tuple[str | None, dict[str, Any]]]) -> list[str]:
        out: list[str] = []
        for event, data in seq:
            assert event == data["type"]  # the data repeats the event name
            label = event if event != "content_block_delta" else f"delta:{data['delta']['type']}"
            if not out or out[-1] != label:
                out.append(label)
        return out

    assert collapse(ours) == collapse(theirs)
    assert set(ours[0][1]["message"]) == set(theirs[0][1]["message"])
    assert set(ours[-2][1]["usage"]) == set(theirs[-2][1]["usage"])


def test_missing_key(emulator: Emulator) -> None:
    response = post(emulator, x_api_key="")
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "error" and body["request_id"].startswith("req_")
    assert body["error"] == {"type": "authentication_error", "message": "x-api-key header is required"}


def test_wrong_key(emulator: Emulator) -> None:
    response = post(emulator, x_api_key="sk-ant-nope")
    assert response.status_code == 401
    assert response.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def test_missing_version(emulator: Emulator) -> None:
    response = post(emulator, anthropic_version="")
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error",
                                        "message": "anthropic-version: header is required"}


@pytest.mark.parametrize("field", ["max_tokens", "model", "messages"])
def test_missing_required_field(emulator: Emulator, field: str) -> None:
    response = post(emulator, {k: v for k, v in BODY.items() if k != field})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"{field}: Field required"


def test_unsigned_thinking_block_refused(emulator: Emulator) -> None:
    messages = [{"role": "user", "content": "Hi"},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "Yo"}]},
                {"role": "user", "content": "Again"}]
    response = post(emulator, {**BODY, "messages": messages})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "messages.1.content.0.thinking.signature: Field required"


def test_bearer_token_accepted(emulator: Emulator) -> None:
    response = post(emulator, x_api_key="", authorization=f"Bearer {emulator.api_key}")
    assert response.status_code == 200
