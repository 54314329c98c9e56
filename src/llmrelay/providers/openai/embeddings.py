"""OpenAI ``POST /v1/embeddings``: the request is already ours and the answer already OpenAI's
list (shared by Azure, OpenRouter and the OpenAI-compatible family).

https://platform.openai.com/docs/api-reference/embeddings/create
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from ...config import ProviderSettings
from ...embedding_types import EmbeddingRequest, EmbeddingResponse, base64_of, embedding_response
from ...exceptions import APIError
from ..base import EmbeddingAdapter, HTTPRequest
from .capabilities import EMBEDDING_FAMILIES
from .request import openai_headers

# The keys of OpenAI's answer; others are dropped so that every provider's answer dumps alike.
SHAPE = frozenset({"object", "data", "model", "usage"})


def embeddings_body(request: EmbeddingRequest) -> dict[str, Any]:
    """The wire body: every set field (provider extras included), in OpenAI's shape."""
    return {k: v for k, v in request.items() if v is not None}


def build_request(request: EmbeddingRequest, settings: ProviderSettings) -> HTTPRequest:
    """``POST {base}/embeddings``.

    >>> build_request({"model": "text-embedding-3-small", "input": ["a"]}, settings).json
    {'model': 'text-embedding-3-small', 'input': ['a']}
    """
    return HTTPRequest("POST", f"{settings.base_url}/embeddings", openai_headers(settings),
                       embeddings_body(request))


def parse_response(body: Any, request: EmbeddingRequest) -> EmbeddingResponse:
    """An OpenAI-shaped list (OpenAI's keys only), put in input order, its vectors in the
    format asked for.

    Servers that answer floats to a ``base64`` request (because llmrelay asked them for floats)
    get their vectors encoded here; a body already in order with nothing to encode is taken
    as it is (the common case, and the fast one for large batches)."""
    if not isinstance(body, dict) or body.get("error"):
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        raise APIError(f"embeddings answer is not a list of embeddings: {message or body!r:.300}",
                       response=body)
    data = body["data"]
    encode = request.get("encoding_format") == "base64"
    in_order = list(map(itemgetter("index"), data)) == list(range(len(data)))
    if encode or not in_order:
        items = data
        if not in_order:
            items = sorted(data, key=itemgetter("index"))
            indexes = [item["index"] for item in items]
            if indexes != list(range(len(items))):
                # Not a permutation of the inputs: which vector answers which input is unknown.
                raise APIError(f"embeddings answer has indexes {indexes!r:.200} for "
                               f"{len(items)} vectors", response=body)
        data = [{**item, "embedding": _encoded(item["embedding"]) if encode else item["embedding"]}
                for item in items]
        body = {**body, "data": data}
    if not body.get("model") or not SHAPE.issuperset(body):
        # OpenAI's keys only (Mistral adds an ``id``); the request's model where none is named.
        body = {"object": "list", "data": body["data"],
                "model": body.get("model") or request["model"], "usage": body.get("usage")}
    return embedding_response(body)


def _encoded(vector: Any) -> Any:
    return base64_of(vector) if isinstance(vector, list) else vector


EMBEDDINGS = EmbeddingAdapter(build_request, parse_response, EMBEDDING_FAMILIES)
