"""Perplexity: OpenAI's chat format at ``https://api.perplexity.ai`` (no ``/v1``).

No function calling, ``stop``, ``seed``, ``logit_bias``, logprobs or ``n``
(https://docs.perplexity.ai/guides/chat-completions-guide): those are refused (``n > 1``
becomes parallel requests). ``citations`` and ``search_results`` stay on the response. Stream
chunks say ``"object": "chat.completion"``, repeat the text so far as ``message`` and carry
running usage totals: they become OpenAI chunks with one usage chunk at the end.
"""

from __future__ import annotations

from typing import Any

from ...capabilities import ModelFamily
from ..openai.compatible import Dialect, compatible

FAMILIES = (
    ModelFamily("*", unsupported=frozenset({
        "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "stop",
        "seed", "logit_bias", "logprobs", "top_logprobs"})),
)


def as_openai_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    choices = [{k: v for k, v in c.items() if k != "message"} if isinstance(c, dict) else c
               for c in chunk.get("choices") or []]
    return {**chunk, "object": "chat.completion.chunk", "choices": choices}


ADAPTER = compatible(
    "perplexity",
    api_key_env=("PERPLEXITY_API_KEY",),
    default_base_url="https://api.perplexity.ai",
    base_url_env="PERPLEXITY_API_BASE",
    families=FAMILIES,
    native_n=False,
    dialect=Dialect(shape_chunk=as_openai_chunk, hold_usage=True),
)
