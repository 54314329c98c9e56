"""Bedrock embeddings: ``POST {base}/model/{modelId}/invoke`` with the model's own JSON, behind
OpenAI's embeddings shapes.

Amazon Titan Text Embeddings (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html)
takes one ``inputText`` a request; Cohere Embed v3 / v4 (model-parameters-embed-v3.html,
-embed-v4.html) take up to 96 ``texts`` with a required ``input_type``. Titan counts tokens in
``inputTextTokenCount``; Cohere's body counts none, so the usage comes from the
``X-Amzn-Bedrock-Input-Token-Count`` header InvokeModel answers carry.
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
from .request import model_label

USAGE_HEADER = "x-amzn-bedrock-input-token-count"
# Cohere requires an input type and OpenAI's API has none: documents for a store, as the Cohere
# provider defaults too; pass input_type="search_query" for queries.
DEFAULT_INPUT_TYPE = "search_document"

# llmrelay asks for floats (and encodes base64 itself), so a caller's embedding types are
# refused: any other type would leave no float vector to answer with.
TYPES = frozenset({"user", "embedding_types", "embeddingTypes"})

# Model ids may stand behind an inference-profile prefix (``us.cohere.embed-v4:0``) or inside
# an ARN that names them, hence the leading ``*``. Titan's image model (G1 Multimodal), Nova's
# multimodal embeddings and application-inference-profile ARNs (which do not name their model)
# are not embedded here.
EMBEDDING_FAMILIES: tuple[EmbeddingFamily, ...] = (
    # One text a request; dimensions 256 / 512 / 1024; no input type.
    EmbeddingFamily("*amazon.titan-embed-text-v2*", batch_limit=1,
                    unsupported=TYPES | {"input_type"}),
    # Titan G1 - Text takes inputText and nothing else.
    EmbeddingFamily("*amazon.titan-embed-text-v1*", batch_limit=1,
                    unsupported=TYPES | {"input_type", "dimensions", "normalize"}),
    EmbeddingFamily("*cohere.embed-english-v3*", batch_limit=96,
                    unsupported=TYPES | {"dimensions"}),
    EmbeddingFamily("*cohere.embed-multilingual-v3*", batch_limit=96,
                    unsupported=TYPES | {"dimensions"}),
    # embed-v4 and later: dimensions are output_dimension (256 / 512 / 1024 / 1536).
    EmbeddingFamily("*cohere.embed-*", batch_limit=96, unsupported=TYPES),
    EmbeddingFamily("*"),
)


def is_titan(model: str) -> bool:
    return "titan-embed" in model.lower()


def build_request(request: EmbeddingRequest, settings: ProviderSettings) -> HTTPRequest:
    """The ``InvokeModel`` call for one batch (one text for Titan, up to 96 for Cohere).

    >>> build_request({"model": "amazon.titan-embed-text-v2:0", "input": ["hi"],
    ...                "dimensions": 256}, settings).json
    {'inputText': 'hi', 'dimensions': 256}
    >>> build_request({"model": "cohere.embed-v4:0", "input": ["a", "b"]}, settings).json
    {'texts': ['a', 'b'], 'input_type': 'search_document'}
    """
    model = request["model"]
    body: dict[str, Any]
    if is_titan(model):
        (text,) = request["input"]
        body = {"inputText": text}
        if request.get("dimensions") is not None:
            body["dimensions"] = request["dimensions"]
    else:
        body = {"texts": request["input"],
                "input_type": request.get("input_type") or DEFAULT_INPUT_TYPE}
        if request.get("dimensions") is not None:
            body["output_dimension"] = request["dimensions"]
    body.update({k: v for k, v in request.items()
                 if k not in body and k not in EMBEDDING_PARAMS and k not in ("model", "input")})
    headers = {"content-type": "application/json", "accept": "application/json"}
    if settings.api_key:  # a Bedrock API key; SigV4 requests are signed per attempt instead
        headers["authorization"] = f"Bearer {settings.api_key}"
    return HTTPRequest("POST", f"{settings.base_url}/model/{model_label(model)}/invoke", headers,
                       body)


def parse_response(body: Any, request: EmbeddingRequest) -> EmbeddingResponse:
    """Titan's ``embedding`` or Cohere's ``embeddings`` (a list, or ``{"float": [...]}`` by
    type) -> OpenAI's list. Cohere's usage is left to the token-count header."""
    vectors: Any
    if is_titan(request["model"]):
        vectors = [body["embedding"]]
        tokens = body.get("inputTextTokenCount")
    else:
        embeddings = body["embeddings"]
        vectors = embeddings.get("float") if isinstance(embeddings, dict) else embeddings
        tokens = None
    if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
        raise APIError(f"bedrock embeddings answer has no float vectors: {body!r:.300}",
                       response=body)
    encode = request.get("encoding_format") == "base64"
    return embedding_response({
        "model": request["model"],
        "data": [{"index": i, "embedding": base64_of(v) if encode else v}
                 for i, v in enumerate(vectors)],
        "usage": None if tokens is None else {"prompt_tokens": tokens, "total_tokens": tokens},
    })


EMBEDDINGS = EmbeddingAdapter(build_request, parse_response, EMBEDDING_FAMILIES,
                              usage_header=USAGE_HEADER)
