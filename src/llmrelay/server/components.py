"""Which implementation backs each stateful part, chosen once from the config.

Without Redis: limits in this process (``MemoryLimiter``), spend rows through a local
write-ahead file. With ``redis_url``: one ``RedisLink`` per process, shared by the limiter
(a Lua script, exact across replicas) and the spend sink (a Redis stream and a consumer group);
both fall back to their local forms while Redis does not answer. The Router's state has a link
of its own (measured: sharing this one saved no CPU per request and queued routing decisions
behind the limiter's pipelines).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .limits import Limiter, MemoryLimiter
from .spend.local import LocalSpendSink

if TYPE_CHECKING:
    from ..redis_link import RedisLink
    from .config import GatewayConfig
    from .spend.sink import SpendSink
    from .storage import Store

__all__ = ["build_limiter", "build_link", "build_sink", "open_link"]

log = logging.getLogger("llmrelay.server")


def build_link(config: GatewayConfig) -> RedisLink | None:
    """The process's Redis connection, when the config names one."""
    if config.redis_url is None:
        return None
    return open_link(config.redis_url)


def open_link(url: str) -> RedisLink:
    """A ``RedisLink`` whose outages the gateway's log tells (once each way)."""
    from ..redis_link import RedisLink

    link = RedisLink(url)
    link.watch(_redis_down, _redis_up)
    return link


def _redis_down(error: BaseException) -> None:
    log.warning("redis: not answering (%s); limits are local to this process and spend rows go "
                "to the local write-ahead file until it is back", type(error).__name__)


def _redis_up(down_for: float) -> None:
    log.warning("redis: answering again after %.1f s; limits and spend rows are shared again",
                down_for)


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
