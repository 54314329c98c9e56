"""Cohere Embed API v2 (``POST /v2/embed``) behind OpenAI's embeddings shapes.

https://docs.cohere.com/reference/embed: ``texts`` (at most 96 a request), ``input_type``
(required by v3 and newer models), ``embedding_types``, ``output_dimension`` (v4);
usage is ``meta.billed_units.input_tokens``.
"""

from __future__ import annotations

from typing import Any

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
from .capabilities import EMBEDDING_FAMILIES

# Cohere requires an input type from v3 on, and OpenAI's API has none. Embedding documents for
# a store is the common use, so that is the default; pass input_type="search_query" for queries.
DEFAULT_INPUT_TYPE = "search_document"


def build_request(request: EmbeddingRequest, settings: ProviderSettings) -> HTTPRequest:
    """The ``/v2/embed`` call for one batch.

    >>> build_request({"model": "embed-v4.0", "input": ["hi"], "dimensions": 256}, settings).json
    {'model': 'embed-v4.0', 'texts': ['hi'], 'input_type': 'search_document',
     'embedding_types': ['float'], 'output_dimension': 256}
    """
    body: dict[str, Any] = {
        "model": request["model"],
        "texts": request["input"],
        "input_type": request.get("input_type") or DEFAULT_INPUT_TYPE,
        # Floats always: llmrelay encodes base64 itself, in OpenAI's byte layout.
        "embedding_types": ["float"],
    }
    if request.get("dimensions") is not None:
        body["output_dimension"] = request["dimensions"]
    body.update({k: v for k, v in request.items()
                 if k not in body and k not in EMBEDDING_PARAMS and k != "input"})
    headers = {"authorization": f"Bearer {settings.api_key}", "content-type": "application/json",
               "accept": "application/json"}
    return HTTPRequest("POST", f"{settings.base_url}/v2/embed", headers, body)


def parse_response(body: Any, request: EmbeddingRequest) -> EmbeddingResponse:
    """``embeddings.float`` (``embeddings_by_type``; v1's bare list too) -> OpenAI's list."""
    embeddings = body["embeddings"]
    vectors = embeddings["float"] if isinstance(embeddings, dict) else embeddings
    if not isinstance(vectors, list):
        raise APIError(f"cohere embed answer has no float embeddings: {body!r:.300}",
                       response=body)
    encode = request.get("encoding_format") == "base64"
    billed = ((body.get("meta") or {}).get("billed_units") or {}).get("input_tokens")
    return embedding_response({
        "model": request["model"],
        "data": [{"index": i, "embedding": base64_of(v) if encode else v}
                 for i, v in enumerate(vectors)],
        "usage": None if billed is None else {"prompt_tokens": billed, "total_tokens": billed},
    })


EMBEDDINGS = EmbeddingAdapter(build_request, parse_response, EMBEDDING_FAMILIES)
