"""Gemini embeddings: ``POST {base}/v1beta/models/{model}:batchEmbedContents`` behind OpenAI's
embeddings shapes (https://ai.google.dev/api/embeddings).

One request entry per input, each repeating ``models/{model}``; ``task_type`` is Gemini's
``taskType`` (``RETRIEVAL_QUERY``, ``RETRIEVAL_DOCUMENT``, ``SEMANTIC_SIMILARITY``, ...; case does
not matter here), ``title`` goes with ``RETRIEVAL_DOCUMENT``, ``dimensions`` is
``outputDimensionality``. At most 100 entries a request.
"""

from __future__ import annotations

from typing import Any

from ...capabilities import EmbeddingFamily
from ...config import ProviderSettings
from ...embedding_types import (
    EMBEDDING_PARAMS,
    EmbeddingRequest,
    EmbeddingResponse,
    base64_of,
    embedding_response,
)
from ...exceptions import APIError
from ..base import EmbeddingAdapter, HTTPRequest
from .request import model_url

# Extras under the OpenAI-world name -> Gemini's field of a request entry.
EXTRA_NAMES = {"task_type": "taskType", "output_dimensionality": "outputDimensionality"}

# Gemini's embedding models (gemini-embedding-*, text-embedding-004, embedding-001) take 100
# inputs a request; its chat models do not embed.
EMBEDDING_FAMILIES: tuple[EmbeddingFamily, ...] = (
    EmbeddingFamily("*embedding*", batch_limit=100, unsupported=frozenset({"user"})),
    EmbeddingFamily("*"),
)


def entry(model: str, text: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "content": {"parts": [{"text": text}]}, **fields}


def build_request(request: EmbeddingRequest, settings: ProviderSettings) -> HTTPRequest:
    """The ``batchEmbedContents`` call for one batch.

    >>> build_request({"model": "gemini-embedding-001", "input": ["hi"], "dimensions": 768,
    ...                "task_type": "retrieval_query"}, settings).json
    {'requests': [{'model': 'models/gemini-embedding-001', 'content': {'parts': [{'text': 'hi'}]},
                   'outputDimensionality': 768, 'taskType': 'RETRIEVAL_QUERY'}]}
    """
    model = request["model"].removeprefix("models/")
    fields: dict[str, Any] = {}
    if request.get("dimensions") is not None:
        fields["outputDimensionality"] = request["dimensions"]
    for key, value in request.items():
        if key in EMBEDDING_PARAMS or key in ("model", "input") or value is None:
            continue
        name = EXTRA_NAMES.get(key, key)
        fields[name] = value.upper() if name == "taskType" and isinstance(value, str) else value
    body = {"requests": [entry(f"models/{model}", text, fields) for text in request["input"]]}
    headers = {"x-goog-api-key": settings.api_key or "", "content-type": "application/json"}
    return HTTPRequest("POST", model_url(settings.base_url, model, "batchEmbedContents"), headers,
                       body)


def parse_response(body: Any, request: EmbeddingRequest) -> EmbeddingResponse:
    """``embeddings[].values`` in request order -> OpenAI's list.

    The Gemini API (AI Studio) counts no tokens for embeddings; ``usageMetadata`` is read where
    it is sent, else the usage is left unknown (the core shows zeros and prices nothing)."""
    embeddings = body["embeddings"]
    if not isinstance(embeddings, list):
        raise APIError(f"gemini embeddings answer has no embeddings list: {body!r:.300}",
                       response=body)
    encode = request.get("encoding_format") == "base64"
    tokens = (body.get("usageMetadata") or {}).get("promptTokenCount")
    return embedding_response({
        "model": request["model"].removeprefix("models/"),
        "data": [{"index": i, "embedding": base64_of(e["values"]) if encode else e["values"]}
                 for i, e in enumerate(embeddings)],
        "usage": None if tokens is None else {"prompt_tokens": tokens, "total_tokens": tokens},
    })


EMBEDDINGS = EmbeddingAdapter(build_request, parse_response, EMBEDDING_FAMILIES)
