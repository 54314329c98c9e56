"""Every recorded Replicate interaction replayed through the adapter's parsers.

The recordings (shared/recorded/replicate) hold creates, polls and one stream; none of them is
an LLM prediction polled to completion or an error, which the golden cases cover instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmrelay.call import Call, prepare
from llmrelay.providers.base import FollowUp
from llmrelay.types import ModelResponse

from ...conftest import load, recorded
from .golden import translate

FILES = recorded("replicate")


def call_for(interaction: dict[str, Any], stream: bool) -> Call:
    """A call like the one recorded: the model from its path, streaming as it did."""
    path = interaction["request"]["path"]
    body = interaction["request"]["body"] or {}
    if path.startswith("/v1/models/"):
        model = "/".join(path.split("/")[3:5])
    else:
        model = f"stability-ai/stable-diffusion:{body.get('version', 'x')}"
    params: dict[str, Any] = {"stream": True} if stream else {}
    return prepare(f"replicate/{model}", [{"role": "user", "content": "robots"}], params,
                   api_key="r8_recorded", api_base=None, options={}, timeout=None,
                   force_timeout=None, azure=False, logger_fn=None, verbose=False,
                   num_retries=None, drop_params=False, extra_headers=None, extra_body=None)


def test_every_recording_is_replayed() -> None:
    assert len(FILES) == 5


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_recorded(path: Path) -> None:
    interaction = load(path)
    response = interaction["response"]
    if "sse" in response:
        call = call_for(interaction, stream=True)
        chunks, error = translate(call, response["sse"])
        assert error is None
        assert chunks[0].choices[0].delta.role == "assistant"
        assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        # Several data: lines of one output event are one piece joined by newlines.
        assert text.startswith("Sure, here's a joke about OpenTelemetry:\n\nWhy did the Open")
        assert "therapy?\n\nBecause it was" in text
        assert text.endswith("Is there anything else I can assist you with?")
        assert all(c.id == "replicate-1707756341" for c in chunks)
        return
    body = response["body"]
    streamed = bool((interaction["request"]["body"] or {}).get("stream"))
    call = call_for(interaction, stream=streamed)
    result = call.adapter.parse_response(body, call.ctx)
    if body["status"] == "succeeded":
        assert isinstance(result, ModelResponse)
        assert result.id == body["id"]
        assert result.choices[0].message.content == "".join(body["output"])
        assert result.choices[0].finish_reason == "stop"
        assert result.usage is None  # an image model: metrics carry no token counts
        assert result.created == 1707756287
        return
    assert isinstance(result, FollowUp)
    assert result.cancel is not None
    assert result.cancel.method == "POST"
    assert result.cancel.url == body["urls"]["cancel"]
    if streamed:
        assert result.request.url == body["urls"]["stream"]
        assert result.request.stream
        assert result.request.headers["accept"] == "text/event-stream"
    else:
        assert result.request.method == "GET"
        assert result.request.url == body["urls"]["get"]
        assert result.delay == {"starting": 1.0, "processing": 0.5}[body["status"]]
