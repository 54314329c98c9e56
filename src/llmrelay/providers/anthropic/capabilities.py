"""Which OpenAI parameters each Claude model family takes, and which answer JSON natively.

Sampling changed across generations (PROVIDERS.md §3.7): Claude 3.x and 4.0 take
``temperature``, ``top_p`` and ``top_k`` freely; Opus 4.1 and the 4.5 models take each but answer
"`temperature` and `top_p` cannot both be specified for this model" to both; models after 4.5
take only the defaults. Families are matched by glob on the model id, first match wins, so new
snapshots of a known family need no edit and unknown future ``claude-*`` models get the
current rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from ...capabilities import ModelFamily

# Parameters no Claude model has. The penalties and ``logprobs`` are accepted at the value that
# changes nothing (OpenAI clients often send ``presence_penalty=0``); any other value is refused.
NEVER = frozenset({"logit_bias", "seed", "top_logprobs"})
NO_OP_VALUES: Mapping[str, Any] = MappingProxyType(
    {"presence_penalty": 0, "frequency_penalty": 0, "logprobs": False}
)


@dataclass(frozen=True)
class ClaudeFamily(ModelFamily):
    """A ``ModelFamily`` that also says whether the models take ``output_config.format``
    (structured outputs, https://docs.claude.com/en/docs/build-with-claude/structured-outputs)."""

    native_json_schema: bool = False


def family(pattern: str, *, native_json_schema: bool, **rules: Any) -> ClaudeFamily:
    rules["unsupported"] = NEVER | rules.get("unsupported", frozenset())
    rules["default_only"] = {**NO_OP_VALUES, **rules.get("default_only", {})}
    return ClaudeFamily(pattern, native_json_schema=native_json_schema, **rules)


ONE_OF_TEMPERATURE_TOP_P = (frozenset({"temperature", "top_p"}),)
CURRENT = dict(default_only={"temperature": 1, "top_p": 1}, unsupported=frozenset({"top_k"}))

FAMILIES: tuple[ModelFamily, ...] = (
    family("claude-3*", native_json_schema=False),
    family("claude-2*", native_json_schema=False),
    family("claude-instant*", native_json_schema=False),
    # Claude 4.0: claude-sonnet-4-20250514, claude-opus-4-0, ...
    family("claude-sonnet-4", native_json_schema=False),
    family("claude-opus-4", native_json_schema=False),
    family("claude-sonnet-4-0*", native_json_schema=False),
    family("claude-opus-4-0*", native_json_schema=False),
    family("claude-sonnet-4-20*", native_json_schema=False),
    family("claude-opus-4-20*", native_json_schema=False),
    family("claude-opus-4-1*", native_json_schema=False, exclusive=ONE_OF_TEMPERATURE_TOP_P),
    family("claude-*-4-5*", native_json_schema=True, exclusive=ONE_OF_TEMPERATURE_TOP_P),
    # Everything newer (4.6, 4.7, ...) and any claude-* not listed above.
    family("*", native_json_schema=True, **CURRENT),
)
