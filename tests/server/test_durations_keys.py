"""Durations, times, key settings and budget periods."""

from __future__ import annotations

import pytest

from llmrelay.server.durations import iso, parse_duration, parse_instant
from llmrelay.server.errors import GatewayError
from llmrelay.server.keys import KeyRecord, as_hash, generate_key, hash_key, parse_settings
from llmrelay.server.spend.row import SpendRow
from llmrelay.server.storage.base import apply_spend


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("10m", 600), ("1h", 3600), ("1d", 86400),
                                          ("30d", 2592000), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "d", "-1d", "0s", "1y", 5, None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_instants() -> None:
    assert iso(0) == "1970-01-01T00:00:00.000000Z"
    assert parse_instant("1970-01-02") == 86400
    assert parse_instant("1970-01-02", end_of_day=True) == 2 * 86400
    assert parse_instant("1970-01-01T01:00:00Z") == 3600
    assert parse_instant("1970-01-01T01:00:00+01:00") == 0
    assert parse_instant("1970-01-01T00:00:10") == 10
    assert parse_instant("1970-01-01T01:00:00 01:00") == 0  # "+" lost in a query string
    assert parse_instant("1970-01-01 00:00:10") == 10


def test_keys_and_hashes() -> None:
    key = generate_key()
    assert key.startswith("sk-") and generate_key() != key
    assert as_hash(key) == hash_key(key) and as_hash(hash_key(key)) == hash_key(key)


def test_settings_validation() -> None:
    out = parse_settings({"duration": "1h", "models": ["a"], "max_budget": 2}, now=100.0)
    assert out == {"expires": 3700.0, "models": ("a",), "max_budget": 2.0}
    with pytest.raises(GatewayError) as caught:
        parse_settings({"rpm_limit": True}, now=0)
    assert caught.value.param == "rpm_limit" and caught.value.status == 400


def _row(start: float, spend: float) -> SpendRow:
    return SpendRow("r", "k", None, "g", None, None, None, 0, 0, 0, spend, start, start,
                    "success", 200, False)


def test_period_spend_and_rollover() -> None:
    key = KeyRecord(token="k", created_at=1000.0, budget_duration="100s", budget_reset_at=1100.0,
                    spend=0.5)
    assert key.period(1050) == (1000, 1100) and key.period(1250) == (1200, 1300)
    assert key.period_spend(1050) == 0.5 and key.period_spend(1150) == 0
    assert apply_spend(key, [_row(1050, 0.25)]) == (0.75, 1100)
    assert apply_spend(key, [_row(1150, 0.25)]) == (0.25, 1200)  # a new period starts from 0
    later = KeyRecord(token="k", created_at=1000.0, budget_duration="100s", budget_reset_at=1200.0)
    assert apply_spend(later, [_row(1050, 0.25)]) is None  # before the stored period: not counted
    lifetime = KeyRecord(token="k", created_at=0.0, spend=1.0)
    assert apply_spend(lifetime, [_row(5, 0.5), _row(6, None)]) == (1.5, None)  # type: ignore[arg-type]
