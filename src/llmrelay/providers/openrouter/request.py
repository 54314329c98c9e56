"""OpenRouter request: the OpenAI body (OpenRouter-only fields ride along), Bearer auth and
the optional app-attribution headers. https://openrouter.ai/docs/api-reference/overview
"""

from __future__ import annotations

from ...config import ProviderSettings
from ...types import ChatRequest
from ..base import HTTPRequest
from ..openai.request import chat_body

# Provider option (from OR_SITE_URL / OR_APP_NAME) -> attribution header.
# https://openrouter.ai/docs/app-attribution
ATTRIBUTION_HEADERS = {"site_url": "http-referer", "app_name": "x-title"}


def openrouter_headers(settings: ProviderSettings) -> dict[str, str]:
    """Bearer auth and the app-attribution headers that are set."""
    headers = {"authorization": f"Bearer {settings.api_key}", "content-type": "application/json"}
    for option, header in ATTRIBUTION_HEADERS.items():
        if settings.options.get(option):
            headers[header] = str(settings.options[option])
    return headers


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    headers = openrouter_headers(settings)
    # models, route, provider, plugins, reasoning, transforms, top_k, ... are extra keys of
    # the request and pass through unchanged.
    return HTTPRequest(
        "POST",
        f"{settings.base_url}/chat/completions",
        headers,
        chat_body(request),
        stream=bool(request.get("stream")),
    )
