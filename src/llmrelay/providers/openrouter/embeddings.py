"""OpenRouter embeddings: ``POST /api/v1/embeddings``, OpenAI's body and answer in front of
several vendors' embedding models (https://openrouter.ai/docs/api-reference/embeddings).

Its routing options (``provider``, ``input_type``) pass through as extras. Whether every
upstream honours ``encoding_format: base64`` is not documented, so floats are asked for and
llmrelay encodes them. The batch limit follows the upstream APIs' largest (OpenAI's 2,048).
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily
from ...config import ProviderSettings
from ...embedding_types import EmbeddingRequest
from ..base import EmbeddingAdapter, HTTPRequest
from ..openai.embeddings import embeddings_body, parse_response
from .request import openrouter_headers

# Vendors and model lines that serve chat only.
EMBEDDING_FAMILIES: tuple[EmbeddingFamily, ...] = (
    *(EmbeddingFamily(pattern) for pattern in (
        "anthropic/*", "openai/gpt-*", "openai/o1*", "openai/o3*", "openai/o4*", "x-ai/*",
        "deepseek/*", "perplexity/*", "openrouter/*")),
    EmbeddingFamily("*", batch_limit=2048, token_ids=True),
)


def build_request(request: EmbeddingRequest, settings: ProviderSettings) -> HTTPRequest:
    return HTTPRequest("POST", f"{settings.base_url}/embeddings", openrouter_headers(settings),
                       embeddings_body(request))


EMBEDDINGS = EmbeddingAdapter(build_request, parse_response, EMBEDDING_FAMILIES)
