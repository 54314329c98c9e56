"""Which implementation backs each stateful part, chosen once from the config.

Without Redis: limits in this process (``MemoryLimiter``), spend rows through a local
write-ahead file. With ``redis_url``: one ``RedisLink`` per process, shared by the limiter
(a Lua script, exact across replicas) and the spend sink (a Redis stream and a consumer group);
both fall back to their local forms while Redis does not answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .limits import Limiter, MemoryLimiter
from .spend.local import LocalSpendSink

if TYPE_CHECKING:
    from .config import GatewayConfig
    from .redis_link import RedisLink
    from .spend.sink import SpendSink
    from .storage import Store

__all__ = ["build_limiter", "build_link", "build_sink"]


def build_link(config: GatewayConfig) -> RedisLink | None:
    """The process's Redis connection, when the config names one."""
    if config.redis_url is None:
        return None
    from .redis_link import RedisLink

    return RedisLink(config.redis_url)


def build_limiter(config: GatewayConfig, link: RedisLink | None = None) -> Limiter:
    """Per-key rpm / tpm / parallel / budget counters."""
    if link is None:
        return MemoryLimiter()
    from .limits.redis import RedisLimiter

    return RedisLimiter(link, f"{config.redis_prefix}:lim")


def build_sink(config: GatewayConfig, store: Store, link: RedisLink | None = None) -> SpendSink:
    """Where a spend row is made durable before the answer ends, and how it reaches ``store``."""
    if link is None:
        return LocalSpendSink(store, config.spool_dir, sync_each=config.spend_fsync)
    from .spend.redis import RedisSpendSink

    assert config.database is not None
    # One stream per database: rows are only ever written into the database they were for.
    return RedisSpendSink(store, link, f"{config.redis_prefix}:spend:{config.database.identity()}",
                          config.spool_dir, sync_each=config.spend_fsync)
