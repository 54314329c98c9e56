"""Where a model's entry comes from: a ``base_model``, ``register_model``, the file named by
``LLMRELAY_MODEL_PRICES``, then the data shipped in ``data/model_prices.json`` (loaded once,
on first use). Entries use the shipped data's (LiteLLM's) field names.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

from .names import candidates, data_provider
from .rates import TIER_FIELD

ENV_VAR = "LLMRELAY_MODEL_PRICES"
MAX_BASE_DEPTH = 8

# register_model's names (API.md's) -> the data's names. The data's own names are accepted too,
# so a LiteLLM-style price file works unchanged.
ALIASES = {
    "cache_read_input_cost_per_token": "cache_read_input_token_cost",
    "cache_write_input_cost_per_token": "cache_creation_input_token_cost",
    "cache_write_1h_input_cost_per_token": "cache_creation_input_token_cost_above_1hr",
    "provider": "litellm_provider",
}
COSTS = {
    "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
    "cache_creation_input_token_cost", "cache_creation_input_token_cost_above_1hr",
    "output_cost_per_reasoning_token",
}
COUNTS = {"max_input_tokens", "max_output_tokens", "max_tokens"}
TEXTS = {"mode", "litellm_provider", "base_model", "deprecation_date"}
FLAGS = {
    "supports_function_calling", "supports_vision", "supports_reasoning",
    "supports_prompt_caching", "supports_response_schema",
}


@dataclass(frozen=True)
class Found:
    """A resolved entry: the name it was found under, where, and its fields (a registered
    ``base_model`` already merged in)."""

    name: str
    source: str
    entry: Mapping[str, Any]


class Catalog:
    """The layers of price entries. Thread-safe: writes take the lock, reads see whole dicts."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._shipped: dict[str, dict[str, Any]] | None = None
        self._shipped_lower: dict[str, str] = {}
        self.source: dict[str, Any] = {}
        self._registered: dict[str, dict[str, Any]] = {}
        self._env: dict[str, dict[str, Any]] | None = None
        self._env_error: Exception | None = None
        self.generation = 0

    def shipped(self) -> dict[str, dict[str, Any]]:
        if self._shipped is None:
            with self._lock:
                if self._shipped is None:
                    text = resources.files(__package__).joinpath("data/model_prices.json")
                    document = json.loads(text.read_text(encoding="utf-8"))
                    self.source = document["source"]
                    models: dict[str, dict[str, Any]] = document["models"]
                    self._shipped_lower = {name.lower(): name for name in models}
                    self._shipped = models
        return self._shipped

    def env(self) -> dict[str, dict[str, Any]]:
        """The entries of ``LLMRELAY_MODEL_PRICES``, read once; a bad file raises every time."""
        if self._env is None and self._env_error is None:
            with self._lock:
                if self._env is None and self._env_error is None:
                    try:
                        self._env = read_price_file(os.environ.get(ENV_VAR))
                    except ValueError as exc:
                        self._env_error = exc
        if self._env_error is not None:
            raise self._env_error
        assert self._env is not None
        return self._env

    def register(self, name: str, fields: dict[str, Any]) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"register_model needs a model name, got {name!r}")
        entry = normalise(fields, where="register_model()")
        with self._lock:
            self._registered[name] = {**self._registered.get(name, {}), **entry}
            self.generation += 1

    def reset(self) -> None:
        """Forget registered entries and the price file, so it is read again (for tests)."""
        with self._lock:
            self._registered = {}
            self._env = None
            self._env_error = None
            self.generation += 1

    def find(self, provider: str | None, written: str | None, reported: str | None,
             base_model: str | None = None) -> Found | None:
        """The lookup order of API.md: ``base_model``, then registered, price file, shipped;
        each layer tried with every candidate name."""
        if base_model:
            found = self.find(provider_of(base_model), base_model, None, None)
            if found is not None:
                return Found(found.name, "base_model", found.entry)
        return self._find(provider, candidates(provider, written, reported), 0)

    def _find(self, provider: str | None, names: list[str], depth: int) -> Found | None:
        for layer, source in ((self._registered, "registered"), (self.env(), "env")):
            for name in names:
                if name in layer:
                    return self._expand(name, source, layer[name], depth)
        return self._find_shipped(provider, names)

    def _find_shipped(self, provider: str | None, names: list[str]) -> Found | None:
        shipped = self.shipped()
        for name in names:
            key = name if name in shipped else self._shipped_lower.get(name.lower())
            entry = shipped.get(key) if key else None
            # A bare name belongs to the provider the data lists it under: ``hosted_vllm/gpt-4o``
            # is not priced like OpenAI's gpt-4o.
            if entry is not None and key and (
                    provider is None or data_provider(entry.get("litellm_provider")) == provider):
                return Found(key, "shipped", entry)
        return None

    def _expand(self, name: str, source: str, entry: dict[str, Any], depth: int) -> Found | None:
        """A user entry over its ``base_model`` (or over the lower layers' entry of its name)."""
        own = {k: v for k, v in entry.items() if k != "base_model"}
        base_model = entry.get("base_model")
        if depth >= MAX_BASE_DEPTH:
            return None
        if base_model:
            base = self._find(provider_of(base_model),
                              candidates(provider_of(base_model), base_model, None), depth + 1)
            if base is None:
                return Found(name, source, own) if "input_cost_per_token" in own else None
            return Found(name, source, {**base.entry, **own})
        lower = self._below(source, name, depth)
        return Found(name, source, {**(lower.entry if lower else {}), **own})

    def _below(self, source: str, name: str, depth: int) -> Found | None:
        if source == "registered" and name in self.env():
            return self._expand(name, "env", self.env()[name], depth + 1)
        return self._find_shipped(None, [name])

    def user_entry(self, name: str) -> dict[str, Any] | None:
        """The registered or price-file entry named exactly ``name`` (for error messages)."""
        return self._registered.get(name) or self.env().get(name)


def provider_of(model: str) -> str | None:
    """The provider a model string routes to, when llmrelay knows it."""
    from ..exceptions import BadRequestError
    from ..registry import get_provider

    try:
        return get_provider(model)[0]
    except BadRequestError:
        prefix, sep, _ = model.partition("/")
        return prefix if sep else None


def normalise(fields: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """``register_model`` keyword arguments -> an entry in the data's names, checked."""
    entry: dict[str, Any] = {}
    for key, value in fields.items():
        name = ALIASES.get(key, key)
        if name in COSTS or TIER_FIELD.match(name):
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value) and value >= 0)
            expected = "a non-negative number (USD per token)"
        elif name in COUNTS:
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
            expected = "a positive integer"
        elif name in TEXTS:
            ok = isinstance(value, str) and bool(value.strip())
            expected = "a non-empty string"
        elif name in FLAGS:
            ok = isinstance(value, bool)
            expected = "true or false"
        else:
            accepted = sorted({*ALIASES, *COSTS, *COUNTS, *TEXTS, *FLAGS} - set(ALIASES.values()))
            raise ValueError(f"{where}: unknown field {key!r}; accepted: {', '.join(accepted)}, "
                             "and long-context tiers such as input_cost_per_token_above_200k_tokens")
        if not ok:
            raise ValueError(f"{where}: {key!r} must be {expected}, got {value!r}")
        entry[name] = value
    return entry


def read_price_file(path: str | None) -> dict[str, dict[str, Any]]:
    """A JSON object of model name -> ``register_model`` keyword arguments."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except OSError as exc:
        raise ValueError(f"{ENV_VAR}={path}: cannot read the file: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{ENV_VAR}={path}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{ENV_VAR}={path}: expected a JSON object of model name -> prices, "
                         f"got {type(document).__name__}")
    entries: dict[str, dict[str, Any]] = {}
    for name, fields in document.items():
        if not isinstance(fields, dict):
            raise ValueError(f"{ENV_VAR}={path}: entry {name!r} must be an object of "
                             f"register_model arguments, got {type(fields).__name__}")
        entries[name] = normalise(fields, where=f"{ENV_VAR}={path}: entry {name!r}")
    return entries


CATALOG = Catalog()
