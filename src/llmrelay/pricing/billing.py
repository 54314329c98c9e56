"""Read what a usage bills from an OpenAI-shaped ``Usage`` (or its dict), with the extras some
providers add: cache writes, Anthropic's 1-hour cache writes, billed units, a reported cost."""

from __future__ import annotations

import math
from typing import Any

from .rates import Tokens


def field(obj: Any, key: str) -> Any:
    """``obj[key]`` or ``obj.key``, ``None`` when absent. Reads a pydantic model's fields and
    extras directly: a missing extra through ``getattr`` costs an exception."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    values = getattr(obj, "__dict__", None)
    if values is not None and key in values:
        return values[key]
    extra = getattr(obj, "__pydantic_extra__", None)
    if isinstance(extra, dict):
        if key in extra:
            return extra[key]
        if not class_has(type(obj), key):  # ``meta`` is a property of the response class
            return None
    return getattr(obj, key, None)


_class_has: dict[tuple[type, str], bool] = {}


def class_has(cls: type, key: str) -> bool:
    """``hasattr(cls, key)``, remembered: on a pydantic class a miss raises inside."""
    found = _class_has.get((cls, key))
    if found is None:
        found = _class_has[(cls, key)] = hasattr(cls, key)
    return found


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return max(int(value), 0)


def tokens_of(usage: Any) -> Tokens:
    """The billed token counts of ``usage``.

    Cache writes come from ``cache_creation_input_tokens`` (Anthropic, Bedrock) or
    ``prompt_tokens_details.cache_write_tokens`` (OpenAI, OpenRouter), both inside
    ``prompt_tokens``. When the provider says what it billed (Cohere's ``billed_units``), that
    is what is priced.
    """
    billed = field(usage, "billed_units")
    if isinstance(billed, dict) and billed.get("input_tokens") is not None:
        return Tokens(prompt=count(billed.get("input_tokens")),
                      completion=count(billed.get("output_tokens")))
    prompt_details = field(usage, "prompt_tokens_details")
    completion_details = field(usage, "completion_tokens_details")
    written = max(count(field(usage, "cache_creation_input_tokens")),
                  count(field(prompt_details, "cache_write_tokens")))
    return Tokens(
        prompt=count(field(usage, "prompt_tokens")),
        completion=count(field(usage, "completion_tokens")),
        cached=count(field(prompt_details, "cached_tokens")),
        written=written,
        written_1h=count(field(field(usage, "cache_creation"), "ephemeral_1h_input_tokens")),
        reasoning=count(field(completion_details, "reasoning_tokens")),
    )


def reported_cost(usage: Any) -> float | None:
    """The USD cost the provider reported in the usage itself (OpenRouter's ``usage.cost``)."""
    cost = field(usage, "cost")
    if isinstance(cost, bool) or not isinstance(cost, (int, float)):
        return None
    return float(cost) if math.isfinite(cost) and cost >= 0 else None
