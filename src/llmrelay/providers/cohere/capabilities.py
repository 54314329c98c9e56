"""Which OpenAI parameters Cohere's Chat API v2 takes, as data.

Cohere has no ``logit_bias``, ``user`` or ``top_logprobs`` and always allows parallel tool
calls (https://docs.cohere.com/reference/chat). ``n`` is absent too; the core answers it
with parallel single-choice requests.
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily, ModelFamily

FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        "*",
        unsupported=frozenset({"logit_bias", "user", "top_logprobs"}),
        default_only={"parallel_tool_calls": True},
    ),
)

# /v2/embed takes at most 96 texts (https://docs.cohere.com/reference/embed) and no OpenAI
# ``user``; only embed-v4 and newer take ``output_dimension``. ``embedding_types`` is chosen by
# llmrelay (floats, encoded to base64 on request), so a caller's is refused. Chat and rerank
# models do not embed; other names (fine-tuned embed models) are let through.
EMBEDDING_FAMILIES: tuple[EmbeddingFamily, ...] = (
    *(EmbeddingFamily(pattern) for pattern in ("command*", "c4ai-*", "aya-*", "rerank-*")),
    EmbeddingFamily("embed-*v2*", batch_limit=96,
                    unsupported=frozenset({"user", "embedding_types", "dimensions"})),
    EmbeddingFamily("embed-*v3*", batch_limit=96,
                    unsupported=frozenset({"user", "embedding_types", "dimensions"})),
    EmbeddingFamily("*", batch_limit=96, unsupported=frozenset({"user", "embedding_types"})),
)
