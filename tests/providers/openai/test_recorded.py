"""Every recorded OpenAI interaction replays through the adapter's parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.exceptions import NotFoundError, UnsupportedParamsError
from tests.conftest import chat_recordings
from tests.providers.openai.replay import check, ids

ERRORS = {
    "error_400_unsupported_value": UnsupportedParamsError,
    "error_404_model_not_found": NotFoundError,
}


@pytest.mark.parametrize("path", ids(chat_recordings("openai")))
def test_recorded(path: Path) -> None:
    check("openai", path, ERRORS)


def test_every_recording_is_replayed() -> None:
    assert len(chat_recordings("openai")) == 12
