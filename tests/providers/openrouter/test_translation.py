"""Golden translation cases for openrouter (tests/golden/openrouter/<case>/), no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.providers.openai.checks import check_request, check_response, check_stream
from tests.providers.openai.golden import cases

PROVIDER = "openrouter"


@pytest.mark.parametrize("case", cases(PROVIDER, "input.json", "request.json")
                         + [c for c in cases(PROVIDER, "input.json", "error.json")
                            if c.id.startswith("request_")])
def test_request(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_request(case, monkeypatch)


@pytest.mark.parametrize("case", cases(PROVIDER, "response.json"))
def test_response(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_response(case, monkeypatch)


@pytest.mark.parametrize("case", cases(PROVIDER, "stream.sse"))
def test_stream(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_stream(case, monkeypatch)
