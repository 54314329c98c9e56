"""Ollama: its OpenAI-compatible endpoint, ``http://localhost:11434/v1`` by default.

No key is needed and none is sent unless given. ``OLLAMA_API_BASE`` is often the server's
root (``http://localhost:11434``): ``/v1`` is added when missing. Thinking models answer
``reasoning``. ``n``, ``logit_bias`` and a ``tool_choice`` other than ``auto`` are ignored
by Ollama (https://docs.ollama.com/api/openai-compatibility), so ``n > 1`` becomes parallel
requests and the others are refused.
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily, ModelFamily
from ..openai.compatible import Dialect, compatible

FAMILIES = (
    ModelFamily("*", unsupported=frozenset({"logit_bias"}), default_only={"tool_choice": "auto"}),
)

ADAPTER = compatible(
    "ollama",
    api_key_env=("OLLAMA_API_KEY",),
    default_base_url="http://localhost:11434/v1",
    base_url_env="OLLAMA_API_BASE",
    families=FAMILIES,
    native_n=False,
    api_key_optional=True,
    dialect=Dialect(reasoning_field="reasoning", append_v1=True),
    # /v1/embeddings (strings; no limit of its own, so OpenAI's 2,048 keeps requests sane).
    embeddings=(EmbeddingFamily("*", batch_limit=2048),),
)
