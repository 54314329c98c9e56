"""The schema as versioned migrations, one list per dialect (same tables, columns and indexes).

A migration is applied once, in order, inside a transaction, and recorded in
``llmrelay_schema_migrations``. Add a new version at the end; never edit an applied one.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "MIGRATIONS_TABLE"]

MIGRATIONS_TABLE = "llmrelay_schema_migrations"

_SPEND_INDEXES = [
    "CREATE INDEX IF NOT EXISTS llmrelay_spend_logs_start_time "
    "ON llmrelay_spend_logs (start_time DESC, request_id)",
    "CREATE INDEX IF NOT EXISTS llmrelay_spend_logs_api_key "
    "ON llmrelay_spend_logs (api_key, start_time DESC)",
    "CREATE INDEX IF NOT EXISTS llmrelay_spend_logs_model_group "
    "ON llmrelay_spend_logs (model_group, start_time DESC)",
]


def _v1(time: str, real: str, boolean: str) -> list[str]:
    return [
        f"""CREATE TABLE llmrelay_keys (
            token TEXT PRIMARY KEY,
            key_alias TEXT,
            models TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{{}}',
            max_budget {real},
            budget_duration TEXT,
            budget_reset_at {time},
            spend {real} NOT NULL DEFAULT 0,
            rpm_limit INTEGER,
            tpm_limit INTEGER,
            max_parallel_requests INTEGER,
            expires {time},
            created_at {time} NOT NULL,
            updated_at {time} NOT NULL
        )""",
        f"""CREATE TABLE llmrelay_spend_logs (
            request_id TEXT PRIMARY KEY,
            api_key TEXT,
            key_alias TEXT,
            model_group TEXT,
            deployment TEXT,
            provider TEXT,
            model TEXT,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            total_tokens INTEGER NOT NULL DEFAULT 0,
            spend {real},
            start_time {time} NOT NULL,
            end_time {time} NOT NULL,
            status TEXT NOT NULL,
            status_code INTEGER NOT NULL,
            cache_hit {boolean} NOT NULL DEFAULT FALSE
        )""",
        *_SPEND_INDEXES,
    ]


# SQLite keeps times as fixed-width ISO 8601 UTC text, which sorts as time.
MIGRATIONS: dict[str, list[tuple[int, list[str]]]] = {
    "sqlite": [(1, _v1("TEXT", "REAL", "BOOLEAN"))],
    "postgresql": [(1, _v1("TIMESTAMPTZ", "DOUBLE PRECISION", "BOOLEAN"))],
}
