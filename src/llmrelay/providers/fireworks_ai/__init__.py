"""Fireworks AI: OpenAI's chat format at ``https://api.fireworks.ai/inference/v1``.

Model ids are paths (``fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct``);
extras such as ``top_k``, ``min_p``, ``context_length_exceeded_behavior`` pass through.
Reasoning models answer ``reasoning_content`` already.
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily
from ..openai.compatible import Dialect, compatible

ADAPTER = compatible(
    "fireworks_ai",
    api_key_env=("FIREWORKS_API_KEY",),
    default_base_url="https://api.fireworks.ai/inference/v1",
    base_url_env="FIREWORKS_API_BASE",
    dialect=Dialect(hold_usage=True),
    # /inference/v1/embeddings in OpenAI's shape; ``dimensions`` for Matryoshka models
    # (nomic-embed-text-v1.5). No documented batch limit: OpenAI's 2,048 (unverified).
    embeddings=(EmbeddingFamily("*", batch_limit=2048),),
)
