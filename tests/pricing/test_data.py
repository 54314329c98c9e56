"""The shipped price file parses, holds what the lookup expects, and the refresh script's
filter and merge do what its docstring says."""

from __future__ import annotations

import importlib.util
import json
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from llmrelay.pricing.catalog import normalise
from llmrelay.pricing.names import data_provider
from llmrelay.pricing.rates import Price

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "refresh_prices.py"
OUR_PROVIDERS = {"openai", "azure", "anthropic", "cohere", "openrouter", "gemini", "bedrock",
                 "mistral", "groq", "deepseek", "xai", "together_ai", "fireworks_ai",
                 "perplexity", "ollama", "hosted_vllm"}


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    text = resources.files("llmrelay.pricing").joinpath("data/model_prices.json").read_text()
    loaded: dict[str, object] = json.loads(text)
    return loaded


@pytest.fixture(scope="module")
def refresh() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_prices", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_file_parses(document: dict[str, object]) -> None:
    source = document["source"]
    assert isinstance(source, dict)
    assert source["package"].startswith("litellm ") and source["retrieved"]
    models = document["models"]
    assert isinstance(models, dict) and len(models) > 1000
    for name, entry in models.items():
        assert isinstance(entry, dict), name
        assert data_provider(entry["litellm_provider"]) in OUR_PROVIDERS, name
        # every field is one register_model takes, so a user can copy an entry to a price file
        normalise({k: v for k, v in entry.items() if k != "retired"}, where=name)
        if entry.get("input_cost_per_token") is not None:
            assert Price.of(entry) is not None or entry.get("mode") in {"chat", "completion",
                                                                        "responses"}, name


def test_every_provider_is_covered(document: dict[str, object]) -> None:
    models = document["models"]
    assert isinstance(models, dict)
    providers = {data_provider(e["litellm_provider"]) for e in models.values()}
    # hosted_vllm models are the user's own: nothing to ship for them
    assert OUR_PROVIDERS - {"hosted_vllm"} <= providers
    assert not any(e["litellm_provider"] == "replicate" for e in models.values())


def test_refresh_filters_and_merges(refresh: ModuleType) -> None:
    base = {
        "old-model": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6,
                      "output_cost_per_token": 2e-6},
        "kept": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-6,
                 "output_cost_per_token": 15e-6, "input_cost_per_token_above_200k_tokens": 6e-6},
        "image": {"litellm_provider": "openai", "mode": "image_generation"},
    }
    newest = {
        "kept": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 2e-6,
                 "output_cost_per_token": 10e-6, "supports_vision": True, "source": "x"},
        "vertex": {"litellm_provider": "vertex_ai", "mode": "chat", "input_cost_per_token": 1},
        "replicate/x": {"litellm_provider": "replicate", "mode": "chat"},
    }
    merged = refresh.merge(newest, base)
    assert set(merged) == {"old-model", "kept"}
    assert merged["old-model"]["retired"] is True
    assert merged["kept"] == {
        "litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 2e-6,
        "output_cost_per_token": 10e-6, "supports_vision": True,
        "input_cost_per_token_above_200k_tokens": 6e-6,
    }
    rendered = refresh.render({"source": {"package": "litellm 0"}, "models": merged})
    assert json.loads(rendered)["models"] == merged
    assert len(rendered.splitlines()) == len(merged) + 3
