"""Golden translation cases of the OpenAI-compatible family (tests/golden/<provider>/<case>/),
no network: one folder per quirk, run by the OpenAI family's shared checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.providers.compat.family import NAMES
from tests.providers.openai.checks import check_request, check_response, check_stream
from tests.providers.openai.golden import cases


def every(*files: str) -> list[object]:
    return [pytest.param(*case.values, id=f"{name}/{case.id}")
            for name in NAMES for case in cases(name, *files)]


REQUESTS = every("input.json", "request.json") + [
    c for c in every("input.json", "error.json") if "/request_" in c.id]  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", REQUESTS)
def test_request(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_request(case, monkeypatch)


@pytest.mark.parametrize("case", every("response.json"))
def test_response(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_response(case, monkeypatch)


@pytest.mark.parametrize("case", every("stream.sse"))
def test_stream(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_stream(case, monkeypatch)


def test_every_provider_has_cases() -> None:
    assert all(cases(name) for name in NAMES)
