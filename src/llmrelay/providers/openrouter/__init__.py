"""OpenRouter: OpenAI's chat format in front of many vendors' models.

``n`` is not native: OpenRouter ignores it and answers one choice (reported by users, e.g.
OpenRouterArchived/openrouter-runner#99), so the core sends ``n`` requests, as API.md asks.
OpenRouter forwards or silently drops every other parameter itself, so no capability rows
apply. It serves embeddings too (``openrouter/<vendor>/<embedding model>``).
"""

from __future__ import annotations

from ..base import Adapter, CallContext
from .embeddings import EMBEDDINGS
from .errors import parse_error
from .request import build_request
from .response import parse_response
from .stream import OpenRouterTranslator


def stream_translator(ctx: CallContext) -> OpenRouterTranslator:
    return OpenRouterTranslator(ctx)


ADAPTER = Adapter(
    name="openrouter",
    api_key_env=("OPENROUTER_API_KEY",),
    default_base_url="https://openrouter.ai/api/v1",
    base_url_env="OPENROUTER_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    stream_translator=stream_translator,
    parse_error=parse_error,
    native_n=False,
    settings_env={"site_url": "OR_SITE_URL", "app_name": "OR_APP_NAME"},
    embeddings=EMBEDDINGS,
)
