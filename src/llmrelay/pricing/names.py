"""Which names a model's price may be listed under, in the order they are tried.

Provider naming quirks are data here (a table of rewrites), not branches in the lookup.
"""

from __future__ import annotations

import re

# The price data's provider names (LiteLLM's) that mean one of llmrelay's providers.
DATA_PROVIDERS = {
    "bedrock_converse": "bedrock",
    "cohere_chat": "cohere",
    "text-completion-openai": "openai",
    "azure_text": "azure",
    "ollama_chat": "ollama",
}

# Tried after the exact names, on the provider's own model name. Each yields a name the data
# may list the same model under.
REWRITES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    # Cross-region inference profiles (us./eu./apac./global./...) cost what the base model
    # costs where the data lists no profile entry; ids are listed with and without ``:0``.
    "bedrock": (
        (re.compile(r"^(?:us|eu|apac|au|jp|ca|global|us-gov)\.(.+)$"), r"\1"),
        (re.compile(r"^(.+-v\d+)$"), r"\1:0"),
        (re.compile(r"^(.+):0$"), r"\1"),
        (re.compile(r"^(?:us|eu|apac|au|jp|ca|global|us-gov)\.(.+-v\d+)$"), r"\1:0"),
        (re.compile(r"^(?:us|eu|apac|au|jp|ca|global|us-gov)\.(.+):0$"), r"\1"),
    ),
    # Fireworks lists models by their full resource name.
    "fireworks_ai": ((re.compile(r"^(?!accounts/)(.+)$"), r"accounts/fireworks/models/\1"),),
}


def data_provider(name: object) -> str | None:
    """llmrelay's provider for a data entry's ``litellm_provider``."""
    if not isinstance(name, str):
        return None
    return DATA_PROVIDERS.get(name, name)


def split(provider: str | None, model: str) -> str:
    """``model`` without a leading ``provider/``."""
    if provider and model.startswith(provider + "/"):
        return model[len(provider) + 1:]
    return model


def candidates(provider: str | None, written: str | None, reported: str | None) -> list[str]:
    """Names to try, in order: as written, ``provider/model``, the bare model name, then the
    same for the name the response reports, then the provider's rewrites of each."""
    names: list[str] = []
    bare: list[str] = []
    for model in (written, reported):
        if not model:
            continue
        own = split(provider, model)
        bare.append(own)
        names.append(model)
        if provider:
            names.append(f"{provider}/{own}")
        names.append(own)
    for pattern, replacement in REWRITES.get(provider or "", ()):
        for own in bare:
            if pattern.match(own):
                rewritten = pattern.sub(replacement, own)
                names.extend((f"{provider}/{rewritten}", rewritten))
    return list(dict.fromkeys(names))
