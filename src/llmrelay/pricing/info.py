"""``model_info(model)``: a model's context window and prices, from the same lookup as costs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from ..exceptions import UnknownModelError
from .catalog import CATALOG, Found, provider_of
from .names import data_provider
from .rates import RATE_FIELDS, TIER_FIELD


@dataclass(frozen=True)
class ModelInfo:
    """What llmrelay knows of a model. Costs are USD per token; ``None`` where unknown.

    ``tiers`` maps a prompt-size threshold to the per-token costs that apply to the whole
    request above it (e.g. Gemini 2.5 Pro above 200k prompt tokens). Dict access works too:
    ``info["max_input_tokens"]``.
    """

    model: str
    key: str
    source: str
    provider: str | None
    mode: str | None
    max_input_tokens: int | None
    max_output_tokens: int | None
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    cache_read_input_cost_per_token: float | None
    cache_write_input_cost_per_token: float | None
    cache_write_1h_input_cost_per_token: float | None = None
    output_cost_per_reasoning_token: float | None = None
    tiers: dict[int, dict[str, float]] = field(default_factory=dict)
    supports_function_calling: bool | None = None
    supports_vision: bool | None = None
    supports_reasoning: bool | None = None
    supports_prompt_caching: bool | None = None
    supports_response_schema: bool | None = None
    deprecation_date: str | None = None

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, model: str, found: Found) -> ModelInfo:
        entry = found.entry
        return cls(
            model=model,
            key=found.name,
            source=found.source,
            provider=data_provider(entry.get("litellm_provider")),
            mode=entry.get("mode"),
            max_input_tokens=entry.get("max_input_tokens") or entry.get("max_tokens"),
            max_output_tokens=entry.get("max_output_tokens") or entry.get("max_tokens"),
            input_cost_per_token=entry.get("input_cost_per_token"),
            output_cost_per_token=entry.get("output_cost_per_token"),
            cache_read_input_cost_per_token=entry.get("cache_read_input_token_cost"),
            cache_write_input_cost_per_token=entry.get("cache_creation_input_token_cost"),
            cache_write_1h_input_cost_per_token=entry.get(
                "cache_creation_input_token_cost_above_1hr"),
            output_cost_per_reasoning_token=entry.get("output_cost_per_reasoning_token"),
            tiers=tiers_of(entry),
            supports_function_calling=entry.get("supports_function_calling"),
            supports_vision=entry.get("supports_vision"),
            supports_reasoning=entry.get("supports_reasoning"),
            supports_prompt_caching=entry.get("supports_prompt_caching"),
            supports_response_schema=entry.get("supports_response_schema"),
            deprecation_date=entry.get("deprecation_date"),
        )


OUR_NAMES = {
    "input_cost_per_token": "input_cost_per_token",
    "output_cost_per_token": "output_cost_per_token",
    "cache_read_input_token_cost": "cache_read_input_cost_per_token",
    "cache_creation_input_token_cost": "cache_write_input_cost_per_token",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h_input_cost_per_token",
}


def tiers_of(entry: Mapping[str, Any]) -> dict[int, dict[str, float]]:
    tiers: dict[int, dict[str, float]] = {}
    for key, value in entry.items():
        match = TIER_FIELD.match(key)
        if match and match["base"] in RATE_FIELDS.values() and value is not None:
            name = OUR_NAMES.get(match["base"], match["base"])
            tiers.setdefault(int(match["k"]) * 1000, {})[name] = value
    return dict(sorted(tiers.items()))


def model_info(model: str, *, base_model: str | None = None) -> ModelInfo:
    """Context window, prices and capabilities of ``model``, offline.

    >>> info = llmrelay.model_info("anthropic/claude-3-5-sonnet-20241022")
    >>> info.max_input_tokens, info.input_cost_per_token
    (200000, 3e-06)

    Raises ``UnknownModelError`` when nothing is known of the model.
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model_info needs a model name, got {model!r}")
    found = CATALOG.find(provider_of(model), model, None, base_model)
    if found is None:
        raise UnknownModelError(model)
    return ModelInfo.of(model, found)
