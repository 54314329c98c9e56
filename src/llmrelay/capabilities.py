"""Which OpenAI parameters each model takes, as data, and the one function that applies it.

Each adapter lists ``ModelFamily`` rows (first match wins). Translation, ``drop_params``,
``UnsupportedParamsError`` and ``llmrelay.supports()`` (in ``registry``) all read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any, Mapping

from .exceptions import UnsupportedParamsError


@dataclass(frozen=True)
class ModelFamily:
    """A group of a provider's models, by glob over the provider's model name.

    ``unsupported``: parameters the models cannot take at all.
    ``default_only``: parameters taken only at this value (sending it changes nothing, so
    it is left out; any other value is unsupported).
    ``renamed``: OpenAI name -> the name these models take (``max_tokens`` ->
    ``max_completion_tokens`` on reasoning models).
    ``exclusive``: groups of which at most one parameter may be sent.
    """

    pattern: str
    unsupported: frozenset[str] = frozenset()
    default_only: Mapping[str, Any] = field(default_factory=dict)
    renamed: Mapping[str, str] = field(default_factory=dict)
    exclusive: tuple[frozenset[str], ...] = ()

    def matches(self, model: str) -> bool:
        return fnmatchcase(model.lower(), self.pattern)

    def supports(self, param: str) -> bool:
        return param not in self.unsupported and param not in self.default_only

    @cached_property
    def governed(self) -> frozenset[str]:
        """Every parameter a row of this family says something about."""
        return self.unsupported.union(self.default_only, self.renamed, *self.exclusive)


ANY_MODEL = ModelFamily("*")


_found: dict[tuple[int, str], ModelFamily] = {}


def find_family(families: tuple[ModelFamily, ...], model: str) -> ModelFamily:
    """The first family whose glob matches ``model`` (every model matches the empty table).

    Remembered per table and model: globbing every row on every call showed in profiles.
    """
    key = (id(families), model)
    family = _found.get(key)
    if family is None:
        family = next((f for f in families if f.matches(model)), ANY_MODEL)
        if len(_found) < 4096:
            _found[key] = family
    return family


def apply_capabilities(
    family: ModelFamily,
    params: dict[str, Any],
    *,
    drop_params: bool,
    provider: str,
    model: str,
) -> dict[str, Any]:
    """Return ``params`` fitted to ``family``: renamed, default-only values left out.

    A parameter the family cannot take raises ``UnsupportedParamsError`` naming it and the
    provider, or is dropped when ``drop_params`` is true.
    """

    if family.governed.isdisjoint(params):
        return dict(params)  # nothing here for the table to change (the usual call)

    def refuse(param: str, why: str) -> None:
        if not drop_params:
            raise UnsupportedParamsError(
                f"{provider} does not support {param}={out[param]!r} for model {model!r}"
                f" ({why}). Pass drop_params=True to drop it.",
                param=param,
                provider=provider,
                model=model,
            )

    out = dict(params)
    for param in list(out):
        value = out[param]
        if param in family.unsupported:
            refuse(param, "not supported")
            del out[param]
        elif param in family.default_only:
            if value != family.default_only[param]:
                refuse(param, f"only the default {family.default_only[param]!r} is accepted")
            del out[param]
        elif param in family.renamed:
            target = family.renamed[param]
            del out[param]
            out.setdefault(target, value)
    for group in family.exclusive:
        present = [p for p in out if p in group]
        for param in present[1:]:
            refuse(param, f"cannot be combined with {present[0]}")
            del out[param]
    return out


@dataclass(frozen=True)
class EmbeddingFamily(ModelFamily):
    """A group of a provider's models as its embeddings endpoint sees them.

    ``batch_limit``: most inputs one request may carry (a longer input list is split into
    several requests); ``0`` says these models do not embed, so the call is refused before any
    request. ``token_ids``: inputs may be lists of token ids. ``native_base64``: the provider
    answers ``encoding_format="base64"`` itself; otherwise floats are asked for and llmrelay
    encodes them. ``unsupported`` (and the other ``ModelFamily`` fields) apply to the OpenAI
    embedding parameters (``dimensions``, ``user``).
    """

    batch_limit: int = 0
    token_ids: bool = False
    native_base64: bool = False

    @property
    def embeds(self) -> bool:
        return self.batch_limit > 0
