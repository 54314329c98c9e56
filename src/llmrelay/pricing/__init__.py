"""Prices, context windows and token counts, offline: ``completion_cost``, ``model_info``,
``register_model``, ``token_counter``, and ``cost_of_parts`` behind ``resp.meta.cost``.

Importing this package reads no data: the price table loads on the first lookup, each
tokenizer on its first count.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import UnknownModelError
from .catalog import CATALOG
from .cost import completion_cost, cost_of_parts
from .info import ModelInfo, model_info
from .tokens import token_counter

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "completion_cost",
    "cost_of_parts",
    "model_info",
    "register_model",
    "token_counter",
]


def register_model(name: str, *, base_model: str | None = None, **fields: Any) -> None:
    """Price ``name`` like a known model, or give it its own prices and limits.

    >>> llmrelay.register_model("azure/my-deployment", base_model="gpt-4o")
    >>> llmrelay.register_model("hosted_vllm/my-llama", input_cost_per_token=1e-7,
    ...                         output_cost_per_token=2e-7, max_input_tokens=8192)

    Fields: ``input_cost_per_token``, ``output_cost_per_token``,
    ``cache_read_input_cost_per_token``, ``cache_write_input_cost_per_token``,
    ``max_input_tokens``, ``max_output_tokens``, ``mode``, ``provider``, and LiteLLM's field
    names (e.g. ``input_cost_per_token_above_200k_tokens``). A later call merges over an earlier
    one; a name without ``base_model`` merges over the shipped entry of that name, if any.
    """
    if base_model is not None:
        fields["base_model"] = base_model
    CATALOG.register(name, fields)
