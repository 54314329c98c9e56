"""The provider registry: name -> adapter module, and model string -> (adapter, model).

Adapters are imported on first use, so ``import llmrelay`` loads none of them.
"""

from __future__ import annotations

import importlib
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from .capabilities import find_family
from .exceptions import BadRequestError

if TYPE_CHECKING:
    from .providers.base import Adapter

# Provider key -> module holding ``ADAPTER``. The key is also the model prefix (``anthropic/...``).
PROVIDERS: dict[str, str] = {
    "openai": "llmrelay.providers.openai",
    "azure": "llmrelay.providers.azure",
    "anthropic": "llmrelay.providers.anthropic",
    "cohere": "llmrelay.providers.cohere",
    "replicate": "llmrelay.providers.replicate",
    "openrouter": "llmrelay.providers.openrouter",
    "mistral": "llmrelay.providers.mistral",
    "groq": "llmrelay.providers.groq",
    "deepseek": "llmrelay.providers.deepseek",
    "xai": "llmrelay.providers.xai",
    "together_ai": "llmrelay.providers.together_ai",
    "fireworks_ai": "llmrelay.providers.fireworks_ai",
    "perplexity": "llmrelay.providers.perplexity",
    "ollama": "llmrelay.providers.ollama",
    "hosted_vllm": "llmrelay.providers.hosted_vllm",
    "bedrock": "llmrelay.providers.bedrock",
    "gemini": "llmrelay.providers.gemini",
}

# Bare model names routed without a prefix (checked in order). Kept here, not in the adapters,
# so routing never imports a provider module.
BARE_MODELS: tuple[tuple[str, str], ...] = (
    ("gpt-*", "openai"),
    ("chatgpt-*", "openai"),
    ("o1", "openai"),
    ("o1-*", "openai"),
    ("o3", "openai"),
    ("o3-*", "openai"),
    ("o4-*", "openai"),
    ("claude-*", "anthropic"),
    ("command", "cohere"),
    ("command-*", "cohere"),
    ("c4ai-*", "cohere"),
    ("gemini-*", "gemini"),
    ("text-embedding-*", "openai"),
    ("embed-*", "cohere"),
)

_loaded: dict[str, "Adapter"] = {}


def get_adapter(provider: str) -> "Adapter":
    """The adapter registered under ``provider``; imports its module the first time."""
    adapter = _loaded.get(provider)
    if adapter is None:
        if provider not in PROVIDERS:
            raise BadRequestError(
                f"Unknown provider {provider!r}. Known providers: {', '.join(PROVIDERS)}"
            )
        adapter = importlib.import_module(PROVIDERS[provider]).ADAPTER
        _loaded[provider] = adapter
    return adapter


def get_provider(model: str, *, azure: bool = False) -> tuple[str, str]:
    """Split a model string into (provider, the provider's own model name).

    >>> get_provider("anthropic/claude-3-5-sonnet-20241022")
    ('anthropic', 'claude-3-5-sonnet-20241022')
    >>> get_provider("gpt-4o-mini")
    ('openai', 'gpt-4o-mini')
    """
    if isinstance(model, str):
        found = _routes.get((model, azure))
        if found is not None:
            return found
    found = _route(model, azure)
    if len(_routes) < 4096:
        _routes[(model, azure)] = found
    return found


_routes: dict[tuple[str, bool], tuple[str, str]] = {}


def _route(model: str, azure: bool) -> tuple[str, str]:
    if not isinstance(model, str) or not model.strip():
        raise BadRequestError(f"model must be a non-empty string, got {model!r}")
    if azure:
        return "azure", model.removeprefix("azure/")
    prefix, sep, rest = model.partition("/")
    if sep and prefix in PROVIDERS:
        if not rest:
            raise BadRequestError(f"Model {model!r} names a provider but no model")
        return prefix, rest
    lowered = model.lower()
    for pattern, provider in BARE_MODELS:
        if fnmatchcase(lowered, pattern):
            return provider, model
    raise BadRequestError(
        f"Unknown model {model!r}: prefix it with a provider ("
        + ", ".join(f"{p}/" for p in PROVIDERS)
        + ") or use a known name (gpt-*, o1/o3/o4-*, claude-*, command-*, gemini-*, "
        "text-embedding-*, embed-*)"
    )


def supports(model: str, param: str, *, azure: bool = False) -> bool:
    """Whether ``model`` takes the OpenAI parameter ``param`` at a non-default value.

    >>> llmrelay.supports("o3-mini", "temperature")
    False
    >>> llmrelay.supports("gpt-4o", "temperature")
    True
    """
    provider, provider_model = get_provider(model, azure=azure)
    return find_family(get_adapter(provider).families, provider_model).supports(param)
