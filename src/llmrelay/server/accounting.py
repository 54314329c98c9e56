"""What a request may cost before it is sent, and what it did cost after.

Prices come from the pricing package (by ``params.model``, or ``base_model``), or outright from
a deployment's ``model_info`` costs. A request's worst case is its prompt counted offline plus
``max_tokens`` (else the model's maximum output), priced at the dearest deployment it may reach.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .limits import Demand

__all__ = ["Accounting", "DeploymentPrice", "deployment_prices"]

log = logging.getLogger("llmrelay.server")

# A model whose maximum output nobody knows is reserved this many completion tokens.
DEFAULT_MAX_OUTPUT = 4096
ROUTING_SOURCES = ("entry", "params", "model_info")


@dataclass(frozen=True)
class DeploymentPrice:
    """A deployment's prices: ``input`` / ``output`` USD per token (``None``: unpriced)."""

    id: str
    group: str
    model: str
    base_model: str | None
    input: float | None
    output: float | None
    max_output: int | None
    explicit: bool = False

    @property
    def priced(self) -> bool:
        return self.input is not None or self.output is not None

    def price(self, prompt: int, completion: int) -> float | None:
        if not self.priced:
            return None
        return prompt * (self.input or 0.0) + completion * (self.output or 0.0)


def _first(entry: Mapping[str, Any], name: str) -> Any:
    for source in (entry, entry.get("params") or {}, entry.get("model_info") or {}):
        if source.get(name) is not None:
            return source[name]
    return None


def deployment_prices(model_list: Sequence[Mapping[str, Any]]) -> list[DeploymentPrice]:
    """One ``DeploymentPrice`` per ``model_list`` entry, ids as the Router gives them."""
    out = []
    for index, entry in enumerate(model_list):
        params = entry["params"]
        info = entry.get("model_info") or {}
        ident = entry.get("id", info.get("id"))
        ident = f"{entry['model_name']}/{index}" if ident is None else str(ident)
        model = params["model"]
        base_model = _first(entry, "base_model")
        explicit_in = info.get("input_cost_per_token", params.get("input_cost_per_token"))
        explicit_out = info.get("output_cost_per_token", params.get("output_cost_per_token"))
        max_output = info.get("max_output_tokens", info.get("max_tokens"))
        explicit = explicit_in is not None or explicit_out is not None
        rates_in, rates_out, known_max = (
            (float(explicit_in or 0), float(explicit_out or 0), None) if explicit
            else _catalog_rates(model, base_model))
        out.append(DeploymentPrice(
            id=ident, group=entry["model_name"], model=model, base_model=base_model,
            input=rates_in, output=rates_out,
            max_output=int(max_output) if isinstance(max_output, (int, float)) else known_max,
            explicit=explicit))
    return out


def _catalog_rates(model: str, base_model: str | None) -> tuple[float | None, float | None, int | None]:
    from ..pricing import model_info

    for name, base in ((model, base_model), (base_model, None)):
        if not name:
            continue
        try:
            info = model_info(name, base_model=base)
        except (LookupError, ValueError):
            continue
        if info.input_cost_per_token is not None or info.output_cost_per_token is not None:
            return info.input_cost_per_token, info.output_cost_per_token, info.max_output_tokens
    return None, None, None


class Accounting:
    """Worst-case demands and real costs, per group and deployment."""

    def __init__(self, prices: Iterable[DeploymentPrice], fallbacks: Mapping[str, Sequence[str]]):
        self.by_id = {p.id: p for p in prices}
        self.by_group: dict[str, list[DeploymentPrice]] = {}
        for p in self.by_id.values():
            self.by_group.setdefault(p.group, []).append(p)
        self._fallbacks = fallbacks

    def warm(self) -> None:
        """Load each group's tokenizer now (hundreds of ms the first time), not on a request."""
        for group in self.by_group:
            self.prompt_tokens(group, messages=[{"role": "user", "content": "warm"}])

    def unpriced(self) -> list[DeploymentPrice]:
        return [p for p in self.by_id.values() if not p.priced]

    def reachable(self, group: str) -> list[DeploymentPrice]:
        """Deployments a request for ``group`` may end up on: its own and its fallbacks'."""
        names = [group, *self._fallbacks.get(group, ()), *self._fallbacks.get("*", ())]
        return [p for name in dict.fromkeys(names) for p in self.by_group.get(name, ())]

    def prompt_tokens(self, group: str, *, messages: Any = None, text: str | None = None) -> int:
        """Prompt tokens counted offline with the group's first model's tokenizer."""
        candidates = self.by_group.get(group) or []
        model = candidates[0].model if candidates else None
        base = candidates[0].base_model if candidates else None
        from ..pricing import token_counter

        try:
            return int(token_counter(model=model, messages=messages, text=text, base_model=base))
        except (LookupError, ValueError, TypeError) as exc:
            log.debug("token count failed for %s: %s", group, exc)
            return 0

    def chat_demand(self, group: str, body: Mapping[str, Any]) -> Demand:
        prompt = self.prompt_tokens(group, messages=body.get("messages"))
        asked = body.get("max_completion_tokens") or body.get("max_tokens")
        n = body.get("n") or 1
        worst = 0.0
        for p in self.reachable(group):
            if not p.priced:
                continue
            completion = asked or p.max_output or DEFAULT_MAX_OUTPUT
            worst = max(worst, (p.price(prompt, completion) or 0.0) * n)
        return Demand(tokens=(prompt + (asked or 0)) * n, cost=worst)

    def embedding_demand(self, group: str, inputs: Any) -> Demand:
        texts = [inputs] if isinstance(inputs, str) else inputs
        tokens = 0
        for item in texts if isinstance(texts, list) else []:
            if isinstance(item, str):
                tokens += self.prompt_tokens(group, text=item)
            elif isinstance(item, list):
                tokens += len(item)  # already token ids
        worst = max((p.price(tokens, 0) or 0.0 for p in self.reachable(group) if p.priced),
                    default=0.0)
        return Demand(tokens=tokens, cost=worst)

    def cost(self, deployment: str | None, prompt: int, completion: int,
             reported: float | None) -> float | None:
        """The spend of a finished request: explicit prices win, then what the call reported."""
        price = self.by_id.get(deployment) if deployment else None
        if price is not None and price.explicit:
            return price.price(prompt, completion)
        if reported is not None:
            return float(reported)
        if price is not None and (prompt or completion):
            return price.price(prompt, completion)
        return None
