"""What a call cost: ``completion_cost`` (public) and ``cost_of_parts`` (the seam behind
``resp.meta.cost``). Resolved prices are cached per name, so a call costs a dict lookup."""

from __future__ import annotations

from typing import Any, Sequence

from ..exceptions import UnknownModelError
from .billing import field, reported_cost, tokens_of
from .catalog import CATALOG, provider_of
from .rates import Price

# (provider, written, reported, base_model, catalog generation) -> (price, chosen by the user)
Key = tuple[str | None, str | None, str | None, str | None, int]
_prices: dict[Key, tuple[Price | None, bool]] = {}
MAX_CACHED = 4096


def price_for(provider: str | None, written: str | None, reported: str | None,
              base_model: str | None) -> tuple[Price | None, bool]:
    """The price of a model, and whether it came from the user (``base_model``,
    ``register_model``, the price file) rather than the shipped data. Cached per name and
    catalog generation, so a ``register_model`` in another thread is never served stale."""
    key = (provider or None, written, reported, base_model, CATALOG.generation)
    cached = _prices.get(key)
    if cached is not None:
        return cached
    found = CATALOG.find(provider or None, written, reported, base_model)
    result = (None, False) if found is None else (Price.of(found.entry),
                                                  found.source != "shipped")
    if len(_prices) >= MAX_CACHED:
        _prices.clear()
    _prices[key] = result
    return result


def part_cost(provider: str | None, written: str | None, base_model: str | None,
              reported: str | None, usage: Any) -> float | None:
    price, chosen = price_for(provider, written, reported, base_model)
    if not chosen:
        # What the provider says it billed beats our list price (OpenRouter's usage.cost).
        billed = reported_cost(usage)
        if billed is not None:
            return billed
    # To the pico-dollar: below any provider's billing unit, and 1000 tokens at $0.15/M read
    # back as 0.00015, not 0.00015000000000000001.
    return None if price is None else round(price.cost(tokens_of(usage)), 12)


def cost_of_parts(provider: str, written: str | None, base_model: str | None,
                  parts: Sequence[tuple[str | None, Any]]) -> float | None:
    """USD for a call made of ``parts`` (``(reported model, usage)`` per HTTP answer), each
    priced on its own (tiers apply per request); ``None`` when a part has no usage or no name
    has a price. Never raises for an unknown model."""
    total = 0.0
    for reported, usage in parts:
        if usage is None:
            return None
        cost = part_cost(provider, written, base_model, reported, usage)
        if cost is None:
            return None
        total += cost
    return round(total, 12)


def completion_cost(response: Any = None, *, model: str | None = None, usage: Any = None,
                    base_model: str | None = None) -> float:
    """USD that a response's usage costs at the provider, from the shipped price data.

    >>> llmrelay.completion_cost(resp)
    >>> llmrelay.completion_cost(model="gpt-4o-mini",
    ...                          usage={"prompt_tokens": 1000, "completion_tokens": 200})
    0.00027

    Raises ``UnknownModelError`` when no price is known (never guesses, never returns 0 for
    an unknown model), ``ValueError`` when there is no usage to price.
    """
    provider: str | None
    if response is not None:
        meta = field(response, "meta")
        usage = field(response, "usage") if usage is None else usage
        if usage is None:
            usage = field(meta, "usage")
        reported = field(response, "model")
        written = field(meta, "written") or model or reported
        provider = field(meta, "provider")
        base_model = base_model or field(meta, "base_model")
    else:
        if not isinstance(model, str) or not model.strip():
            raise ValueError("completion_cost needs a response, or model= and usage=")
        written, reported = model, None
        provider = None
    if provider is None and isinstance(written, str):
        provider = provider_of(written)
    if usage is None:
        raise ValueError(f"completion_cost: no usage to price for model {written!r}")
    cost = part_cost(provider, written, base_model, reported, usage)
    if cost is None:
        name = written or reported or "<unnamed>"
        raise UnknownModelError(name, unknown_message(name, base_model))
    return cost


def unknown_message(model: str, base_model: str | None) -> str | None:
    entry = CATALOG.user_entry(model)
    base = base_model or (entry or {}).get("base_model")
    if base:
        return (f"No price is known for model {model!r}: its base_model {base!r} has none. "
                f"Register one with llmrelay.register_model({base!r}, input_cost_per_token=..., "
                "output_cost_per_token=...).")
    if entry is not None:
        return (f"Model {model!r} is registered without a price: give it input_cost_per_token "
                "and output_cost_per_token (or a base_model) with llmrelay.register_model.")
    return None
