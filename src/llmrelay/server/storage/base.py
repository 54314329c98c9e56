"""The store's interface: the few operations the gateway needs, the same on every database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Sequence

if TYPE_CHECKING:
    from ..keys import KeyRecord
    from ..spend.row import SpendRow

__all__ = ["SpendQuery", "Store", "StoreUnavailable", "apply_spend"]


class StoreUnavailable(Exception):
    """The database could not be reached (or timed out); the message names no secret."""


@dataclass(frozen=True)
class SpendQuery:
    """``/spend/logs`` filters (times in epoch seconds) and the page wanted. ``end`` is
    inclusive (an ``end_date`` datetime, as LiteLLM's) unless ``end_exclusive`` (the first
    instant after an ``end_date`` given as a date)."""

    api_key: str | None = None
    model_group: str | None = None
    start: float | None = None
    end: float | None = None
    end_exclusive: bool = False
    page: int = 1
    page_size: int = 100


class Store(Protocol):
    """``llmrelay_keys`` and ``llmrelay_spend_logs`` on one database.

    Every method raises ``StoreUnavailable`` when the database cannot answer in time.
    """

    dialect: str

    async def connect(self) -> None:
        """Open the connection(s); raises ``StoreUnavailable``."""

    async def migrate(self) -> list[int]:
        """Apply pending migrations under a lock; returns the versions applied."""

    async def ping(self, timeout: float) -> bool: ...

    async def get_key(self, token: str, timeout: float) -> KeyRecord | None: ...

    async def insert_key(self, record: KeyRecord) -> None: ...

    async def update_key(self, token: str, changes: dict[str, Any]) -> KeyRecord | None: ...

    async def delete_keys(self, tokens: Sequence[str]) -> list[str]: ...

    async def write_spend(self, rows: Sequence[SpendRow]) -> int:
        """Insert rows not yet stored (by ``request_id``) and add their spend to their keys'
        current period, in one transaction. Returns how many rows were new."""

    async def spend_logs(self, query: SpendQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of rows (newest ``start_time`` first, then ``request_id``) and the total."""

    async def close(self) -> None: ...


def apply_spend(record: KeyRecord, rows: Sequence[SpendRow]) -> tuple[float, float | None] | None:
    """A key's ``(spend, budget_reset_at)`` after adding ``rows``; ``None`` when unchanged.

    A row counts in the period its ``start_time`` falls in: a later period replaces the stored
    one (spend starts again from 0), an earlier one no longer counts.
    """
    spend, reset_at = record.spend, record.budget_reset_at
    changed = False
    for row in rows:
        if not row.spend:
            continue
        period = record.period(row.start_time)
        if period is None:
            spend += row.spend
        elif reset_at is None or period[1] > reset_at + 1e-3:
            spend, reset_at = row.spend, period[1]
        elif abs(period[1] - reset_at) <= 1e-3:
            spend += row.spend
        else:
            continue
        changed = True
    return (spend, reset_at) if changed else None
