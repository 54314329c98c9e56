"""Cohere Chat API v2 (``POST /v2/chat``) and Embed API v2 (``POST /v2/embed``) behind the
OpenAI shapes."""

from __future__ import annotations

from ..base import Adapter, CallContext
from .capabilities import FAMILIES
from .embeddings import EMBEDDINGS
from .errors import parse_error
from .request import build_request
from .response import parse_response
from .stream import CohereStreamTranslator


def stream_translator(ctx: CallContext) -> CohereStreamTranslator:
    return CohereStreamTranslator(ctx)


ADAPTER = Adapter(
    name="cohere",
    api_key_env=("COHERE_API_KEY", "CO_API_KEY"),
    default_base_url="https://api.cohere.com",
    base_url_env="COHERE_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    stream_translator=stream_translator,
    parse_error=parse_error,
    families=FAMILIES,
    native_n=False,
    embeddings=EMBEDDINGS,
)
