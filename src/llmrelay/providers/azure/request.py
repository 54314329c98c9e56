"""Azure OpenAI request: the OpenAI body, sent to a deployment URL with Azure's auth.

https://learn.microsoft.com/azure/ai-services/openai/reference#chat-completions
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from ...config import ProviderSettings
from ...types import ChatRequest
from ..base import HTTPRequest
from ..openai.request import chat_body

# The latest GA version in Azure's REST spec tree; AZURE_API_VERSION or api_version= override it.
DEFAULT_API_VERSION = "2024-10-21"


def deployment_url(base_url: str, deployment: str, api_version: str,
                   operation: str = "chat/completions") -> str:
    """``{endpoint}/openai/deployments/{deployment}/{operation}?api-version=...``.

    The endpoint is the resource URL (``https://<resource>.openai.azure.com``); one that
    already ends in ``/openai`` (as some tools print it) is accepted too.
    """
    endpoint = base_url.removesuffix("/openai")
    query = urlencode({"api-version": api_version})
    return f"{endpoint}/openai/deployments/{quote(deployment, safe='')}/{operation}?{query}"


def auth_headers(settings: ProviderSettings) -> dict[str, str]:
    """A Microsoft Entra token (``azure_ad_token=``) wins over the key, as in the openai SDK."""
    token = settings.options.get("azure_ad_token")
    if token:
        return {"authorization": f"Bearer {token}"}
    return {"api-key": settings.api_key or ""}


def api_version(settings: ProviderSettings) -> str:
    return str(settings.options.get("api_version") or DEFAULT_API_VERSION)


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    # The deployment in the path selects the model, so the body carries none.
    body = chat_body(request)
    body.pop("model", None)
    return HTTPRequest(
        "POST",
        deployment_url(settings.base_url, request["model"], api_version(settings)),
        {**auth_headers(settings), "content-type": "application/json"},
        body,
        stream=bool(request.get("stream")),
    )
