"""Which OpenAI models take which parameters.

Reasoning models (o-series, gpt-5 family) take ``max_completion_tokens`` instead of
``max_tokens`` and only the default sampling values
(https://platform.openai.com/docs/guides/reasoning).
"""

from __future__ import annotations

from ...capabilities import ModelFamily

REASONING = dict(
    renamed={"max_tokens": "max_completion_tokens"},
    default_only={"temperature": 1, "top_p": 1, "presence_penalty": 0, "frequency_penalty": 0},
    unsupported=frozenset({"logprobs", "top_logprobs", "logit_bias"}),
)

FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily("gpt-5-chat*"),
    ModelFamily("o1*", **REASONING),  # type: ignore[arg-type]
    ModelFamily("o3*", **REASONING),  # type: ignore[arg-type]
    ModelFamily("o4*", **REASONING),  # type: ignore[arg-type]
    ModelFamily("gpt-5*", **REASONING),  # type: ignore[arg-type]
    ModelFamily("*"),
)
