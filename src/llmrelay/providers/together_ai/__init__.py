"""Together AI: OpenAI's chat format at ``https://api.together.xyz/v1``.

Model ids are ``<org>/<name>`` (``together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo``).
Extras such as ``top_k``, ``repetition_penalty``, ``min_p`` pass through. Reasoning models
may answer ``reasoning`` and older models finish with ``eos`` (both seen in third-party
reports, not in Together's docs).
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily
from ..openai.compatible import Dialect, compatible

ADAPTER = compatible(
    "together_ai",
    api_key_env=("TOGETHER_API_KEY", "TOGETHERAI_API_KEY"),
    default_base_url="https://api.together.xyz/v1",
    base_url_env="TOGETHER_API_BASE",
    dialect=Dialect(reasoning_field="reasoning", finish_reasons={"eos": "stop"},
                    hold_usage=True),
    # /v1/embeddings in OpenAI's shape (BAAI/bge-*, m2-bert, e5); its docs give no ``dimensions``
    # and no batch limit: OpenAI's 2,048 is assumed (unverified).
    embeddings=(EmbeddingFamily("*", batch_limit=2048, unsupported=frozenset({"dimensions"})),),
)
