"""Row <-> value conversions shared by the stores (JSON columns, key records, spend filters)."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from ..keys import KeyRecord
from .base import SpendQuery

__all__ = ["KEY_COLUMNS", "key_from_row", "key_values", "spend_where"]

KEY_COLUMNS = ("token", "key_alias", "models", "metadata", "max_budget", "budget_duration",
               "budget_reset_at", "spend", "rpm_limit", "tpm_limit", "max_parallel_requests",
               "expires", "created_at")
TIME_COLUMNS = frozenset({"budget_reset_at", "expires", "created_at", "updated_at"})


def key_values(record: KeyRecord, to_time: Callable[[float | None], Any]) -> list[Any]:
    """``record`` as the column values of ``KEY_COLUMNS``, times converted by ``to_time``."""
    values: list[Any] = []
    for column in KEY_COLUMNS:
        value = getattr(record, column)
        if column == "models":
            value = json.dumps(list(value))
        elif column == "metadata":
            value = json.dumps(dict(value))
        elif column in TIME_COLUMNS:
            value = to_time(value)
        values.append(value)
    return values


def change_values(changes: Mapping[str, Any], to_time: Callable[[float | None], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in changes.items():
        if column == "models":
            value = json.dumps(list(value))
        elif column == "metadata":
            value = json.dumps(dict(value))
        elif column in TIME_COLUMNS:
            value = to_time(value)
        out[column] = value
    return out


def key_from_row(row: Mapping[str, Any], from_time: Callable[[Any], float | None]) -> KeyRecord:
    created = from_time(row["created_at"])
    return KeyRecord(
        token=row["token"], created_at=created if created is not None else 0.0,
        key_alias=row["key_alias"], models=tuple(json.loads(row["models"] or "[]")),
        metadata=json.loads(row["metadata"] or "{}"), max_budget=row["max_budget"],
        budget_duration=row["budget_duration"], budget_reset_at=from_time(row["budget_reset_at"]),
        spend=float(row["spend"] or 0.0), rpm_limit=row["rpm_limit"], tpm_limit=row["tpm_limit"],
        max_parallel_requests=row["max_parallel_requests"], expires=from_time(row["expires"]),
    )


def spend_where(query: SpendQuery, mark: Callable[[int], str],
                to_time: Callable[[float | None], Any]) -> tuple[str, list[Any]]:
    """The WHERE clause of a ``/spend/logs`` query and its arguments; ``mark(n)`` is the n-th
    placeholder of the dialect."""
    clauses: list[str] = []
    args: list[Any] = []
    for column, op, value in (("api_key", "=", query.api_key),
                              ("model_group", "=", query.model_group),
                              ("start_time", ">=", to_time(query.start)),
                              ("start_time", "<" if query.end_exclusive else "<=",
                               to_time(query.end))):
        if value is not None:
            args.append(value)
            clauses.append(f"{column} {op} {mark(len(args))}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args
