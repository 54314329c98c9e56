"""Which implementation backs each stateful part, chosen once from the config.

The local forms live here today (limits in this process, spend rows through a local
write-ahead file); shared forms on Redis plug in by returning them from these two functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .limits import Limiter, MemoryLimiter
from .spend.local import LocalSpendSink

if TYPE_CHECKING:
    from .config import GatewayConfig
    from .spend.sink import SpendSink
    from .storage import Store

__all__ = ["build_limiter", "build_sink"]


def build_limiter(config: GatewayConfig) -> Limiter:
    """Per-key rpm / tpm / parallel / budget counters."""
    return MemoryLimiter()


def build_sink(config: GatewayConfig, store: Store) -> SpendSink:
    """Where a spend row is made durable before the answer ends, and how it reaches ``store``."""
    return LocalSpendSink(store, config.spool_dir, sync_each=config.spend_fsync)
