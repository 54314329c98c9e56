"""Each pricing test starts with no registered models and no price file."""

from __future__ import annotations

from typing import Iterator

import pytest

from llmrelay.pricing.catalog import CATALOG, ENV_VAR


@pytest.fixture(autouse=True)
def _clean_catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ENV_VAR, raising=False)
    CATALOG.reset()
    yield
    CATALOG.reset()
