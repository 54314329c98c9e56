"""Which OpenAI parameters Cohere's Chat API v2 takes, as data.

Cohere has no ``logit_bias``, ``user`` or ``top_logprobs`` and always allows parallel tool
calls (https://docs.cohere.com/reference/chat). ``n`` is absent too; the core answers it
with parallel single-choice requests.
"""

from __future__ import annotations

from ...capabilities import ModelFamily

FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        "*",
        unsupported=frozenset({"logit_bias", "user", "top_logprobs"}),
        default_only={"parallel_tool_calls": True},
    ),
)
