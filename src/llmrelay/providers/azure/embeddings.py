"""Azure OpenAI embeddings: OpenAI's body and answer behind a deployment URL.

``POST {endpoint}/openai/deployments/{deployment}/embeddings?api-version=...``, at most 2,048
inputs on current API versions (https://learn.microsoft.com/azure/ai-services/openai/reference#embeddings).
A deployment's name says nothing sure about its model, so every deployment may embed; one
serving a chat model answers with Azure's own 400.
"""

from __future__ import annotations

from ...capabilities import EmbeddingFamily
from ...config import ProviderSettings
from ...embedding_types import EmbeddingRequest
from ..base import EmbeddingAdapter, HTTPRequest
from ..openai.embeddings import embeddings_body, parse_response
from .request import api_version, auth_headers, deployment_url

EMBEDDING_FAMILIES = (
    EmbeddingFamily("*", batch_limit=2048, token_ids=True, native_base64=True),
)


def build_request(request: EmbeddingRequest, settings: ProviderSettings) -> HTTPRequest:
    # The deployment in the path selects the model, so the body carries none.
    body = embeddings_body(request)
    body.pop("model", None)
    url = deployment_url(settings.base_url, request["model"], api_version(settings), "embeddings")
    return HTTPRequest("POST", url, {**auth_headers(settings), "content-type": "application/json"},
                       body)


EMBEDDINGS = EmbeddingAdapter(build_request, parse_response, EMBEDDING_FAMILIES)
