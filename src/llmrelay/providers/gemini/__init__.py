"""Google Gemini API (``gemini/<model>``, bare ``gemini-*``): ``POST {base}/v1beta/models/{model}:generateContent``,
and ``:batchEmbedContents`` for embeddings."""

from __future__ import annotations

from ..base import Adapter, CallContext
from .capabilities import FAMILIES
from .embeddings import EMBEDDINGS
from .errors import parse_error
from .request import build_request
from .response import parse_response
from .stream import GeminiStreamDecoder, GeminiStreamTranslator


def stream_translator(ctx: CallContext) -> GeminiStreamTranslator:
    return GeminiStreamTranslator(ctx)


ADAPTER = Adapter(
    name="gemini",
    api_key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    default_base_url="https://generativelanguage.googleapis.com",
    base_url_env="GEMINI_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    stream_translator=stream_translator,
    parse_error=parse_error,
    families=FAMILIES,
    native_n=True,  # candidateCount: n candidates in one answer
    stream_decoder=GeminiStreamDecoder,
    embeddings=EMBEDDINGS,
)
