"""Every recorded Azure OpenAI interaction replays through the adapter's parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.exceptions import NotFoundError
from tests.conftest import load, recorded
from tests.providers.openai.replay import check, check_body, ids, translate

ERRORS = {"error_404_deployment_not_found": NotFoundError}


@pytest.mark.parametrize("path", ids(recorded("azure")))
def test_recorded(path: Path) -> None:
    check("azure", path, ERRORS)


def test_every_recording_is_replayed() -> None:
    assert len(recorded("azure")) == 5


def test_filter_results_are_kept_as_extras() -> None:
    recording = load(next(p for p in recorded("azure") if p.stem == "text_basic"))
    result = check_body("azure", recording)
    body = recording["response"]["body"]
    assert result.prompt_filter_results == body["prompt_filter_results"]  # type: ignore[attr-defined]
    assert result.choices[0].content_filter_results == body["choices"][0]["content_filter_results"]  # type: ignore[attr-defined]


def test_stream_skips_the_identityless_prompt_filter_event() -> None:
    recording = load(next(p for p in recorded("azure") if p.stem == "stream_text"))
    assert recording["response"]["sse"].startswith('data: {"choices":[],"created":0,"id":""')
    chunks, error = translate("azure", recording)
    assert error is None
    assert chunks[0].id == "chatcmpl-DPTBaSsimU1JbOyrWiQNkSSfOPQE7"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].content_filter_results is not None for c in chunks)  # type: ignore[attr-defined]
