"""What every handler works with: the config, the Router, the database and the components
that hold keys, limits, spend and metrics (``Services``; the ASGI app in ``app.py`` is one)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .accounting import Accounting, deployment_prices
from .components import build_limiter, build_link, build_sink
from .health import Lifecycle, Monitor
from .keycache import KeyCache
from .metrics import Metrics

if TYPE_CHECKING:
    from .auth import Principal
    from .config import GatewayConfig
    from .limits import Limiter
    from .spend.sink import SpendSink
    from .storage import Store

__all__ = ["Services", "fallbacks_of"]


FALLBACK_LISTS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")


def fallbacks_of(settings: dict[str, Any]) -> dict[str, list[str]]:
    """Every group a request may fall back to, from each of the Router's fallback lists
    (a budget reserves the dearest of them), whether written ``{a: [b]}`` or ``[{a: [b]}]``."""
    out: dict[str, list[str]] = {}
    items: list[Any] = []
    for name in FALLBACK_LISTS:
        raw = settings.get(name) or {}
        items += raw if isinstance(raw, list) else [raw]
    for item in items:
        if isinstance(item, dict):
            for group, targets in item.items():
                out.setdefault(str(group), []).extend(
                    [targets] if isinstance(targets, str) else list(targets or []))
    return out


class Services:
    """The gateway's parts, built once per process."""

    def __init__(self, config: GatewayConfig, router: Any, *, store: Store,
                 limiter: Limiter | None = None, sink: SpendSink | None = None) -> None:
        self.config = config
        self.router = router
        self.store = store
        self.groups = frozenset(config.groups())
        self.secrets = config.secrets()
        self.keys = KeyCache(store)
        self.redis = build_link(config)
        self.limiter: Limiter = limiter or build_limiter(config, self.redis)
        self.sink: SpendSink = sink or build_sink(config, store, self.redis)
        self.accounting = Accounting(deployment_prices(config.model_list),
                                     fallbacks_of(config.router_settings))
        self.metrics = Metrics()
        self.lifecycle = Lifecycle()
        self.monitor = Monitor(store, config.redis_url)
        self.created = int(time.time())

    def visible_groups(self, principal: Principal) -> list[str]:
        return [g for g in self.config.groups() if principal.allows(g)]

