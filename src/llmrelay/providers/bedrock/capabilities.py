"""Which OpenAI parameters the models behind Bedrock take, by model id.

Model ids carry the vendor (``anthropic.``, ``amazon.nova``, ``meta.llama``), optionally behind
an inference-profile prefix (``us.``, ``eu.``, ``apac.``, ``global.``) or inside an ARN, so
families match with a leading ``*``. Claude keeps its own sampling rules on Bedrock
(PROVIDERS.md §3.7); an ARN that does not name its model gets the rules every model shares.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from ...capabilities import ModelFamily

# No Converse field and no model-specific field carries these.
NEVER = frozenset({"logit_bias", "seed", "top_logprobs", "user"})
# Taken at the value that changes nothing (OpenAI clients often send them); refused otherwise.
# Converse cannot ask a model for one tool call at a time, so ``parallel_tool_calls`` too.
NO_OP_VALUES: Mapping[str, Any] = MappingProxyType(
    {"presence_penalty": 0, "frequency_penalty": 0, "logprobs": False, "parallel_tool_calls": True}
)
ONE_OF_TEMPERATURE_TOP_P = (frozenset({"temperature", "top_p"}),)


def family(pattern: str, **rules: Any) -> ModelFamily:
    rules["unsupported"] = NEVER | rules.get("unsupported", frozenset())
    rules["default_only"] = {**NO_OP_VALUES, **rules.get("default_only", {})}
    return ModelFamily(pattern, **rules)


FAMILIES: tuple[ModelFamily, ...] = (
    family("*anthropic.claude-3*"),
    family("*anthropic.claude-v2*"),
    family("*anthropic.claude-instant*"),
    family("*anthropic.claude-sonnet-4-2*"),  # Claude 4.0: claude-sonnet-4-20250514-v1:0
    family("*anthropic.claude-opus-4-2*"),
    family("*anthropic.claude-opus-4-1*", exclusive=ONE_OF_TEMPERATURE_TOP_P),
    family("*anthropic.claude-*-4-5*", exclusive=ONE_OF_TEMPERATURE_TOP_P),
    # Claude models after 4.5 take only the default sampling.
    family("*anthropic.claude*", default_only={"temperature": 1, "top_p": 1},
           unsupported=frozenset({"top_k"})),
    family("*"),
)
