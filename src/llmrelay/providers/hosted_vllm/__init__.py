"""Any OpenAI-compatible server (vLLM, TGI, LM Studio, llama.cpp) at ``api_base=`` or
``HOSTED_VLLM_API_BASE`` (required; ``/v1`` is added when missing).

The key is optional (``HOSTED_VLLM_API_KEY``, for servers started with ``--api-key``).
Reasoning comes as ``reasoning_content`` (older vLLM) or ``reasoning`` (newer).
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily
from ..openai.compatible import Dialect, compatible

ADAPTER = compatible(
    "hosted_vllm",
    api_key_env=("HOSTED_VLLM_API_KEY",),
    default_base_url=None,
    base_url_env="HOSTED_VLLM_API_BASE",
    api_key_optional=True,
    dialect=Dialect(reasoning_field="reasoning", append_v1=True),
    # /v1/embeddings of a server running an embedding model: strings or token ids, as OpenAI's.
    # The limit is the server's own; OpenAI's 2,048 keeps requests sane.
    embeddings=(EmbeddingFamily("*", batch_limit=2048, token_ids=True),),
)
