"""``database_url`` parsing: ``sqlite:///file.db`` (relative to the config) or ``postgresql://``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["DatabaseURL", "parse_database_url"]


@dataclass(frozen=True)
class DatabaseURL:
    dialect: str  # "sqlite" | "postgresql"
    raw: str
    path: str = ""  # sqlite: the file (absolute), or ":memory:"

    def __repr__(self) -> str:  # the URL may hold a password
        return f"DatabaseURL(dialect={self.dialect!r})"

    def identity(self) -> str:
        """A short stable name for this database (no credentials): write-ahead files of
        different databases never share a directory, so none is recovered into the wrong one."""
        import hashlib

        if self.path == ":memory:":
            return f"memory-{os.getpid()}"  # gone with its process: nothing to recover into
        parts = urlsplit(self.raw)
        ident = self.path if self.dialect == "sqlite" else \
            f"{parts.hostname or ''}:{parts.port or 5432}{parts.path}?{parts.query}"
        return hashlib.sha256(ident.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """For logs: the file, or the host and database without credentials."""
        if self.dialect == "sqlite":
            return f"sqlite {self.path}"
        parts = urlsplit(self.raw)
        return f"postgresql {parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


def parse_database_url(raw: str, base_dir: Path) -> DatabaseURL:
    """Validate and normalise; ``ValueError`` says what is wrong (never echoing a password)."""
    if not isinstance(raw, str) or "://" not in raw:
        raise ValueError("must be a URL like sqlite:///llmrelay.db or postgresql://user@host/db")
    scheme = raw.split("://", 1)[0].lower()
    if scheme == "sqlite":
        rest = raw.split("://", 1)[1]
        if not rest.startswith("/") or rest == "/":
            raise ValueError("a SQLite URL is sqlite:///relative/file.db or sqlite:////absolute/file.db")
        path = unquote(rest[1:])
        if path == ":memory:":
            return DatabaseURL("sqlite", raw, path)
        target = Path(path).expanduser()
        if not target.is_absolute():
            target = base_dir / target
        return DatabaseURL("sqlite", raw, str(target.resolve()))
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg"):
        normalised = "postgresql://" + raw.split("://", 1)[1]
        try:
            parts = urlsplit(normalised)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("is not a valid postgresql:// URL (check the port)") from None
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError("a postgresql:// URL needs a host")
        if parts.path.count("/") > 1:
            raise ValueError("the database name may not contain '/'")
        return DatabaseURL("postgresql", normalised)
    raise ValueError(f"unsupported scheme {scheme!r}: use sqlite:/// or postgresql://")
