"""A model's per-token rates, with long-context tiers, and what one usage costs at them.

Entries use the price data's field names (LiteLLM's): ``input_cost_per_token``,
``cache_read_input_token_cost``, ``input_cost_per_token_above_200k_tokens``, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

GENERATES = {"chat", "completion", "responses"}
TIER_FIELD = re.compile(r"^(?P<base>.+)_above_(?P<k>\d+)k_tokens$")
RATE_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "reasoning": "output_cost_per_reasoning_token",
}


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token. Cached reads, cache writes and reasoning default to the plain rates."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    cache_write_1h: float
    reasoning: float

    @classmethod
    def of(cls, fields: Mapping[str, Any], fallback: Rates | None = None) -> Rates:
        def rate(name: str, default: float) -> float:
            value = fields.get(RATE_FIELDS[name])
            return float(value) if value is not None else default

        base = fallback
        input_ = rate("input", base.input if base else 0.0)
        output = rate("output", base.output if base else 0.0)
        cache_write = rate("cache_write", base.cache_write if base else input_)
        return cls(
            input=input_,
            output=output,
            cache_read=rate("cache_read", base.cache_read if base else input_),
            cache_write=cache_write,
            cache_write_1h=rate("cache_write_1h", base.cache_write_1h if base else cache_write),
            reasoning=rate("reasoning", base.reasoning if base else output),
        )


@dataclass(frozen=True, slots=True)
class Tokens:
    """What one answer used, as billed: prompt includes cached reads and cache writes,
    completion includes reasoning (OpenAI's convention, which every adapter follows)."""

    prompt: int = 0
    completion: int = 0
    cached: int = 0
    written: int = 0
    written_1h: int = 0
    reasoning: int = 0


@dataclass(frozen=True, slots=True)
class Price:
    """Base rates and long-context tiers ``(threshold, rates)``, highest threshold first: a
    tier applies to the whole request once its prompt exceeds the threshold (Gemini, Claude)."""

    base: Rates
    tiers: tuple[tuple[int, Rates], ...] = ()

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> Price | None:
        """The price an entry lists, or ``None`` when it lists none (e.g. billed by time)."""
        if entry.get("input_cost_per_token") is None:
            return None
        # An embedding model bills input only; a chat model without an output price is unpriced.
        if entry.get("output_cost_per_token") is None and entry.get("mode") in GENERATES:
            return None
        base = Rates.of(entry)
        by_threshold: dict[int, dict[str, Any]] = {}
        for key, value in entry.items():
            match = TIER_FIELD.match(key)
            if match and match["base"] in RATE_FIELDS.values() and value is not None:
                by_threshold.setdefault(int(match["k"]) * 1000, {})[match["base"]] = value
        tiers = tuple((threshold, Rates.of(fields, base))
                      for threshold, fields in sorted(by_threshold.items(), reverse=True))
        return cls(base, tiers)

    def rates(self, prompt_tokens: int) -> Rates:
        for threshold, rates in self.tiers:
            if prompt_tokens > threshold:
                return rates
        return self.base

    def cost(self, tokens: Tokens) -> float:
        rates = self.rates(tokens.prompt)
        prompt = tokens.prompt
        cached = min(tokens.cached, prompt)
        written = min(tokens.written, prompt - cached)
        written_1h = min(tokens.written_1h, written)
        reasoning = min(tokens.reasoning, tokens.completion)
        return (
            (prompt - cached - written) * rates.input
            + cached * rates.cache_read
            + (written - written_1h) * rates.cache_write
            + written_1h * rates.cache_write_1h
            + (tokens.completion - reasoning) * rates.output
            + reasoning * rates.reasoning
        )
