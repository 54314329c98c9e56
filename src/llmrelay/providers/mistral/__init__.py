"""Mistral La Plateforme: OpenAI's chat format at ``https://api.mistral.ai/v1``, with quirks.

``seed`` is ``random_seed`` and ``max_completion_tokens`` is ``max_tokens``; fields outside
Mistral's request model are refused with 422 (``user``, ``logit_bias``, the legacy
``functions``), and ``stream_options`` is never sent: streams always carry usage. The rest
(``tool_choice``, message fields, tool-call ids, content chunks) is in ``wire.py``.
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily, ModelFamily
from ..openai.compatible import Dialect, compatible
from .wire import shape_body, shape_part

FAMILIES = (
    ModelFamily(
        "*",
        renamed={"seed": "random_seed", "max_completion_tokens": "max_tokens"},
        unsupported=frozenset({"user", "logit_bias", "functions", "function_call"}),
    ),
)

# /v1/embeddings: at most 256 inputs (the API answers "Too many inputs in request, split into
# more batches." above), no ``user``; only codestral-embed takes a size, as ``output_dimension``
# (mistralai client-python ``EmbeddingRequest``). Chat models do not embed.
EMBEDDING_FAMILIES = (
    EmbeddingFamily("codestral-embed*", batch_limit=256, unsupported=frozenset({"user"}),
                    renamed={"dimensions": "output_dimension"}),
    EmbeddingFamily("*embed*", batch_limit=256, unsupported=frozenset({"user", "dimensions"})),
    EmbeddingFamily("*"),
)

ADAPTER = compatible(
    "mistral",
    api_key_env=("MISTRAL_API_KEY",),
    default_base_url="https://api.mistral.ai/v1",
    base_url_env="MISTRAL_API_BASE",
    families=FAMILIES,
    dialect=Dialect(
        omit=frozenset({"stream_options"}),
        shape_body=shape_body,
        shape_part=shape_part,
        finish_reasons={"model_length": "length"},
        hold_usage=True,
    ),
    embeddings=EMBEDDING_FAMILIES,
)
