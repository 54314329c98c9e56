"""The Cohere emulator's raw answers have the shapes of the recorded real traffic.

Values (ids, text, counts) differ; keys, value types, event order and terminators must not.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from llmrelay.streaming import SSEDecoder
from llmrelay.testing import Emulator
from tests.conftest import load, recorded

RECORDED = {p.name: load(p) for p in recorded("cohere")}


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list is the shape of its first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def post(emulator: Emulator, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return httpx.post(f"{emulator.url}/v2/chat", json=body, timeout=10,
                      headers={"authorization": f"Bearer {key or emulator.api_key}"})


def events(text: str) -> list[tuple[str | None, Any]]:
    decoder = SSEDecoder()
    out = decoder.feed(text.encode()) + decoder.flush()
    return [(e.event, e.data if e.data == "[DONE]" else json.loads(e.data)) for e in out]


@pytest.mark.parametrize("name", ["text_basic.json", "system_prompt.json", "tool_calls_parallel.json",
                                  "tool_results.json", "thinking_tool_call.json", "thinking_multi_turn.json"])
def test_body_shape(emulator: Emulator, name: str) -> None:
    record = RECORDED[name]
    response = post(emulator, record["request"]["body"])
    assert response.status_code == 200
    assert response.headers["content-type"] == record["response"]["headers"]["content-type"]
    ours, theirs = response.json(), record["response"]["body"]
    theirs["usage"].pop("cached_tokens", None)  # only when the cache was hit
    if "tool_plan" in theirs["message"]:  # our tool plans are one string; so are theirs
        assert isinstance(ours["message"]["tool_plan"], str)
    assert shape(ours) == shape(theirs)


@pytest.mark.parametrize("name", ["stream_text.json", "stream_tool_call.json"])
def test_stream_shape(emulator: Emulator, name: str) -> None:
    record = RECORDED[name]
    response = post(emulator, record["request"]["body"])
    assert response.headers["content-type"] == record["response"]["headers"]["content-type"]
    ours, theirs = events(response.text), events(record["response"]["sse"])
    # The same event sequence once repeats are folded, with the same terminator.
    assert [k for k, _ in itertools.groupby(e for e, _ in ours)] == \
        [k for k, _ in itertools.groupby(e for e, _ in theirs)]
    assert ours[-1] == theirs[-1] == (None, "[DONE]")
    seen = {event: shape(data) for event, data in theirs}
    for event, data in ours:
        assert shape(data) == seen[event], event
        if isinstance(data, dict):
            assert data["type"] == event


def test_error_shapes(emulator: Emulator) -> None:
    theirs = RECORDED["error_404_embed.json"]["response"]["body"]
    missing = post(emulator, {"model": "missing-model", "messages": [{"role": "user", "content": "x"}]})
    assert missing.status_code == 404 and shape(missing.json()) == shape(theirs)
    assert missing.json()["message"] == theirs["message"].replace("nonexistent", "missing-model")
    wrong = post(emulator, {"model": "command-r", "messages": []}, key="co-wrong")
    assert (wrong.status_code, wrong.json()) == (401, {"message": "invalid api token"})
    anonymous = httpx.post(f"{emulator.url}/v2/chat", json={}, timeout=10)
    assert (anonymous.status_code, anonymous.json()) == (401, {"message": "no api key supplied"})
    unknown = post(emulator, {"model": "command-r", "messages": [{"role": "user", "content": "x"}], "n": 2})
    assert unknown.status_code == 400 and set(unknown.json()) == {"id", "message"}
