"""Which OpenAI parameters each Gemini model family takes, and how it is asked for schemas and
thinking (first matching family wins; unknown models get the Gemini 2.5 rules, which 3 accepts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...capabilities import ModelFamily

# Schemas: since November 2025 every served model takes JSON Schema (``parametersJsonSchema``,
# ``responseJsonSchema``); Gemini 1.x took only the OpenAPI subset. Thinking: Gemini 3 is steered
# by ``thinkingLevel`` and validates replayed calls' signatures
# (https://ai.google.dev/gemini-api/docs/thought-signatures); 2.5 by ``thinkingBudget``; 2.0 and
# 1.x do not think. Gemini 3 and 2.5 Pro cannot be made not to think: 2.5 Pro's budget runs
# 128..32768 and ``thinkingBudget: 0`` is a 400 ("Budget 0 is invalid. This model only works in
# thinking mode."; https://ai.google.dev/gemini-api/docs/thinking#set-budget).
ThinkingStyle = Literal["level", "budget", "none"]

# No Gemini model has these; parallel calls cannot be turned off (there is no such switch).
NEVER = frozenset({"logit_bias", "user"})
ALWAYS_PARALLEL = {"parallel_tool_calls": True}
NO_THINKING = frozenset({"reasoning_effort", "thinking"})


@dataclass(frozen=True)
class GeminiFamily(ModelFamily):
    """A ``ModelFamily`` plus how these models take schemas and thinking.

    ``json_schema``: function and response schemas go as JSON Schema (else the OpenAPI subset).
    ``thinking``: ``"level"`` (``thinkingLevel``), ``"budget"`` (``thinkingBudget``) or ``"none"``.
    ``signatures``: replayed function calls must carry a thought signature.
    ``thinking_off``: thinking can be turned off (``thinkingBudget: 0``).
    """

    json_schema: bool = True
    thinking: ThinkingStyle = "budget"
    signatures: bool = False
    thinking_off: bool = True


def family(pattern: str, **rules: Any) -> GeminiFamily:
    unsupported = NEVER | rules.pop("unsupported", frozenset())
    if rules.get("thinking") == "none":
        unsupported |= NO_THINKING
    return GeminiFamily(pattern, unsupported=unsupported, default_only=ALWAYS_PARALLEL, **rules)


FAMILIES: tuple[ModelFamily, ...] = (
    family("gemini-3*", thinking="level", signatures=True, thinking_off=False),
    family("gemini-2.5-pro*", thinking="budget", thinking_off=False),
    family("gemini-2.5*", thinking="budget"),
    family("gemini-2.0*", thinking="none"),
    family("gemini-1*", thinking="none", json_schema=False),
    family("gemini-pro", thinking="none", json_schema=False),
    family("gemini-pro-vision", thinking="none", json_schema=False),
    family("*", thinking="budget"),
)
