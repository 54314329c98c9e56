"""OpenAI request: the Chat Completions body is already ours; add URL and auth."""

from __future__ import annotations

from typing import Any

from ...config import ProviderSettings
from ...types import ChatRequest
from ..base import HTTPRequest


def chat_body(request: ChatRequest) -> dict[str, Any]:
    """The wire body: every set field, in the OpenAI shape (shared by Azure and OpenRouter)."""
    return {k: v for k, v in request.items() if v is not None}


def openai_headers(settings: ProviderSettings) -> dict[str, str]:
    """Bearer auth, and the organization / project headers when they are set (a copy of the
    ones made for these settings before: settings are reused across calls)."""
    found = _headers.get(id(settings))
    if found is None or found[0] is not settings:
        headers = {"authorization": f"Bearer {settings.api_key}",
                   "content-type": "application/json"}
        for option, header in (("organization", "openai-organization"),
                               ("project", "openai-project")):
            if settings.options.get(option):
                headers[header] = settings.options[option]
        if len(_headers) >= 256:
            _headers.clear()
        found = _headers[id(settings)] = (settings, headers)
    return dict(found[1])


# id(settings) -> (settings, their headers); the settings are kept so a reused id is told apart.
_headers: dict[int, tuple[ProviderSettings, dict[str, str]]] = {}


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    return HTTPRequest(
        "POST",
        f"{settings.base_url}/chat/completions",
        openai_headers(settings),
        chat_body(request),
        stream=bool(request.get("stream")),
    )
