"""Routing strategies: which eligible deployment of a group takes the next request.

A strategy is split in two so the Redis state can apply it atomically: a preference order
computed here (weighted shuffle, price, random tie-breaks) and a live-statistic ``mode`` the
state applies among the deployments that are eligible right now (``"first"``: the first
eligible one in the order; ``"in_flight"``, ``"latency"``, ``"ttft"``, ``"tpm"``: the lowest
value, earlier in the order on ties, untried first for latencies).
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    from .deployments import Deployment

__all__ = ["STRATEGIES", "Strategy", "resolve_strategy"]

# The contract's names, and LiteLLM's spellings of the same strategies.
STRATEGY_NAMES = {
    "simple-shuffle": "simple-shuffle",
    "shuffle": "simple-shuffle",
    "least-busy": "least-busy",
    "latency-based": "latency-based",
    "latency-based-routing": "latency-based",
    "usage-based": "usage-based",
    "usage-based-routing": "usage-based",
    "usage-based-routing-v2": "usage-based",
    "cost-based": "cost-based",
    "cost-based-routing": "cost-based",
}

_random = random.random
_shuffle = random.shuffle
_log = math.log


def weighted_order(deployments: Sequence["Deployment"]) -> list["Deployment"]:
    """A random order where each deployment comes first among any subset with probability
    proportional to its weight (exponential clocks), so "the first eligible one" is a weighted
    draw among the eligible ones. Kept in ``order`` tiers."""
    if len(deployments) == 1:
        return list(deployments)
    keyed = [(d.rank, -_log(1.0 - _random()) / d.weight, d) for d in deployments]
    keyed.sort(key=_first_two)
    return [k[2] for k in keyed]


def shuffled(deployments: Sequence["Deployment"]) -> list["Deployment"]:
    """A uniformly random order (ties between equal statistics), kept in ``order`` tiers."""
    out = list(deployments)
    if len(out) > 1:
        _shuffle(out)
        out.sort(key=_rank)
    return out


def _first_two(k: tuple[float, float, "Deployment"]) -> tuple[float, float]:
    return k[0], k[1]


def _rank(d: "Deployment") -> float:
    return d.rank


class Strategy:
    """``order(deployments, stream)`` -> the preference order; ``mode(stream)`` -> the live
    statistic the state minimises among the eligible ones."""

    __slots__ = ("_mode", "_stream_mode", "name", "order")

    def __init__(self, name: str, order: Callable[[Sequence["Deployment"]], list["Deployment"]],
                 mode: str, stream_mode: str | None = None) -> None:
        self.name = name
        self.order = order
        self._mode = mode
        self._stream_mode = stream_mode or mode

    def mode(self, stream: bool) -> str:
        return self._stream_mode if stream else self._mode


class CostOrder:
    """Cheapest first by price data (input + output price per token), unpriced last, ties at
    random. Prices are looked up once per deployment, on first use."""

    def __init__(self) -> None:
        self._prices: dict[str, float] = {}

    def __call__(self, deployments: Sequence["Deployment"]) -> list["Deployment"]:
        keyed = [(d.rank, self.price(d), _random(), d) for d in deployments]
        keyed.sort(key=lambda k: (k[0], k[1], k[2]))
        return [k[3] for k in keyed]

    def price(self, d: "Deployment") -> float:
        price = self._prices.get(d.id)
        if price is None:
            price = self._prices[d.id] = deployment_price(d)
        return price


def deployment_price(d: "Deployment") -> float:
    """USD per input token + per output token; ``inf`` when nothing prices it."""
    if d.prices:
        return sum(d.prices.get(k, 0.0) for k in ("input_cost_per_token", "output_cost_per_token"))
    from .. import pricing

    for name in (d.base_model, d.model):
        if not name:
            continue
        try:
            info = pricing.model_info(name)
        except LookupError:
            continue
        cin = getattr(info, "input_cost_per_token", None)
        cout = getattr(info, "output_cost_per_token", None)
        if cin is not None or cout is not None:
            return float(cin or 0.0) + float(cout or 0.0)
    return math.inf


def resolve_strategy(name: str) -> Strategy:
    """The strategy for a contract or LiteLLM name; ``ValueError`` listing the names otherwise."""
    canonical = STRATEGY_NAMES.get(name) if isinstance(name, str) else None
    if canonical is None:
        raise ValueError(f"Unknown routing_strategy {name!r}; use one of "
                         + ", ".join(sorted(STRATEGY_NAMES)))
    if canonical == "simple-shuffle":
        return Strategy(canonical, weighted_order, "first")
    if canonical == "least-busy":
        return Strategy(canonical, shuffled, "in_flight")
    if canonical == "latency-based":
        return Strategy(canonical, shuffled, "latency", "ttft")
    if canonical == "usage-based":
        return Strategy(canonical, shuffled, "tpm")
    return Strategy(canonical, CostOrder(), "first")


STRATEGIES = tuple(sorted(set(STRATEGY_NAMES.values())))
