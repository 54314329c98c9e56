"""The interface between a finished request and the spend log: ``SpendSink``.

``record`` returns once the row is durable (it survives a SIGKILL of this process); getting it
into the database is the sink's job, in batches, by request id, whenever the database answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .row import SpendRow

__all__ = ["SpendSink"]


class SpendSink(Protocol):
    async def start(self) -> None:
        """Recover rows a previous process left durable but unwritten, start the writer."""

    async def record(self, row: SpendRow) -> None:
        """Make ``row`` durable; when this returns the answer's last byte may be sent."""

    async def flush(self, timeout: float) -> bool:
        """Wait until every row recorded so far is in the database; ``False`` on timeout."""

    def pending(self) -> int:
        """Rows recorded but not yet in the database."""

    async def close(self, timeout: float) -> None:
        """Flush (up to ``timeout``) and stop; rows left are still durable for the next start."""
