"""The vendored recordings stay identical to the team's shared copy, when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RECORDED

SHARED = Path(__file__).resolve().parents[2] / "shared" / "recorded"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/recorded beside this checkout")
def test_vendored_recordings_equal_the_shared_ones() -> None:
    ours = {p.relative_to(RECORDED): p.read_bytes() for p in RECORDED.rglob("*") if p.is_file()}
    theirs = {p.relative_to(SHARED): p.read_bytes() for p in SHARED.rglob("*") if p.is_file()}
    assert ours == theirs


def test_every_provider_has_recordings() -> None:
    for provider in ("openai", "azure", "anthropic", "cohere", "openrouter", "replicate"):
        assert list((RECORDED / provider).glob("*.json")), provider
