"""Every recorded OpenRouter interaction replays through the adapter's parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmrelay
from llmrelay.exceptions import BadRequestError, RateLimitError
from llmrelay.providers.openrouter import ADAPTER
from tests.conftest import load, recorded
from tests.providers.openai.replay import (
    check,
    check_body,
    context,
    ids,
    raw_chunks,
    translate,
)

ERRORS = {"error_429_upstream": RateLimitError}
MIDSTREAM = "stream_error_midstream"


@pytest.mark.parametrize("path", ids([p for p in recorded("openrouter") if p.stem != MIDSTREAM]))
def test_recorded(path: Path) -> None:
    check("openrouter", path, ERRORS)


def test_every_recording_is_replayed() -> None:
    assert len(recorded("openrouter")) == 11


def recording(stem: str) -> dict:  # type: ignore[type-arg]
    return load(next(p for p in recorded("openrouter") if p.stem == stem))


def test_midstream_error_raises_after_the_chunks_before_it() -> None:
    chunks, error = translate("openrouter", recording(MIDSTREAM))
    assert isinstance(error, BadRequestError) and "Token limit reached" in error.message
    assert error.status_code == 400
    # Two chunks of reasoning; the repeated ``finish_reason: "length"`` is sent once.
    assert [c.choices[0].finish_reason for c in chunks] == [None, "length"]
    assert "".join(c.choices[0].delta.reasoning_content for c in chunks) == (  # type: ignore[attr-defined]
        "We need to respond to a greeting. The user")


def test_upstream_429_keeps_the_raw_upstream_text() -> None:
    rec = recording("error_429_upstream")
    error = ADAPTER.parse_error(429, rec["response"]["body"], {}, context("openrouter", rec))
    assert error.message.startswith("Provider returned error (Google): ")
    assert "temporarily rate-limited upstream" in error.message


@pytest.mark.parametrize("stem", ["reasoning", "multi_turn"])
def test_message_reasoning_is_also_reasoning_content(stem: str) -> None:
    rec = recording(stem)
    result = check_body("openrouter", rec)
    reasoning = rec["response"]["body"]["choices"][0]["message"]["reasoning"]
    assert reasoning and result.choices[0].message.reasoning_content == reasoning  # type: ignore[attr-defined]


def test_stream_reasoning_is_rebuilt() -> None:
    rec = recording("stream_reasoning")
    chunks, error = translate("openrouter", rec)
    assert error is None
    built = llmrelay.stream_chunk_builder(chunks)
    expected = "".join(c["choices"][0]["delta"].get("reasoning") or ""
                       for c in raw_chunks(rec["response"]["sse"]) if c["choices"])
    assert built.choices[0].message.reasoning_content == expected  # type: ignore[attr-defined]
    assert built.choices[0].message.content == "2 + 2 = 4"
    assert built.usage is not None and built.usage.completion_tokens_details.reasoning_tokens == 13  # type: ignore[union-attr]
