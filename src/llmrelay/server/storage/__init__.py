"""The gateway's database: ``llmrelay_keys`` and ``llmrelay_spend_logs`` on SQLite (default) or
PostgreSQL, one schema, versioned migrations applied at start under a lock."""

from __future__ import annotations

from pathlib import Path

from .base import SpendQuery, Store, StoreUnavailable
from .urls import DatabaseURL, parse_database_url

__all__ = ["DatabaseURL", "SpendQuery", "Store", "StoreUnavailable", "open_store",
           "parse_database_url"]


def open_store(url: DatabaseURL, *, pool_size: int = 10) -> Store:
    """The store for ``url`` (not connected yet: ``await store.connect()``)."""
    if url.dialect == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(Path(url.path) if url.path != ":memory:" else None)
    from .postgres import PostgresStore

    return PostgresStore(url.raw, pool_size=pool_size)
