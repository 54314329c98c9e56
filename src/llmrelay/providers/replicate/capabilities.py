"""Which OpenAI parameters Replicate language models take.

Replicate models take a flat ``input`` object, not chat requests: no tools, structured output,
logit bias or log-probabilities. ``n > 1`` is answered by the core with parallel predictions.
Older models (Llama 2, Mistral) name the output limit ``max_new_tokens``
(https://replicate.com/meta/llama-2-70b-chat/api/schema).
"""

from __future__ import annotations

from ...capabilities import ModelFamily

NOT_TAKEN = frozenset({
    "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
    "logit_bias", "top_logprobs", "user",
})

# Sending these at their default changes nothing, so they are left out silently.
DEFAULTS = {"logprobs": False, "response_format": {"type": "text"}}

NEW_TOKENS = {"max_tokens": "max_new_tokens", "max_completion_tokens": "max_new_tokens"}

FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily("meta/llama-2-*", unsupported=NOT_TAKEN, default_only=DEFAULTS, renamed=NEW_TOKENS),
    ModelFamily("mistralai/*", unsupported=NOT_TAKEN, default_only=DEFAULTS, renamed=NEW_TOKENS),
    ModelFamily("*", unsupported=NOT_TAKEN, default_only=DEFAULTS,
                renamed={"max_completion_tokens": "max_tokens"}),
)
