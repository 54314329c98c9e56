"""Which OpenAI models take which parameters.

Reasoning models (o-series, gpt-5 family) take ``max_completion_tokens`` instead of
``max_tokens`` and only the default sampling values
(https://platform.openai.com/docs/guides/reasoning).
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily, ModelFamily

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

# /v1/embeddings takes at most 2,048 inputs, strings or token-id lists, and answers base64
# itself; only the text-embedding-3 models take ``dimensions``
# (https://platform.openai.com/docs/api-reference/embeddings/create). Chat, image and audio
# models do not embed. Other names are let through: ``openai/<model>`` with ``api_base`` is how
# OpenAI-compatible servers are reached.
EMBEDDING_FAMILIES: tuple[EmbeddingFamily, ...] = (
    EmbeddingFamily("text-embedding-3-*", batch_limit=2048, token_ids=True, native_base64=True),
    EmbeddingFamily("text-embedding-*", unsupported=frozenset({"dimensions"}), batch_limit=2048,
                    token_ids=True, native_base64=True),
    *(EmbeddingFamily(pattern) for pattern in (
        "gpt-*", "chatgpt-*", "o1*", "o3*", "o4*", "codex-*", "computer-use-*", "dall-e-*",
        "whisper-*", "tts-*", "*-moderation-*", "davinci-*", "babbage-*")),
    EmbeddingFamily("*", batch_limit=2048, token_ids=True, native_base64=True),
)
