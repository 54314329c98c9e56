"""OpenAI Chat Completions: the source format, so translation is nearly the identity."""

from __future__ import annotations

from ..base import Adapter, CallContext
from .capabilities import FAMILIES
from .embeddings import EMBEDDINGS
from .errors import parse_error
from .request import build_request
from .response import parse_raw, parse_response
from .stream import ChunkTranslator


def stream_translator(ctx: CallContext) -> ChunkTranslator:
    return ChunkTranslator(ctx, parse_error)


ADAPTER = Adapter(
    name="openai",
    api_key_env=("OPENAI_API_KEY",),
    default_base_url="https://api.openai.com/v1",
    base_url_env="OPENAI_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    parse_raw=parse_raw,
    stream_translator=stream_translator,
    parse_error=parse_error,
    families=FAMILIES,
    native_n=True,
    settings_env={"organization": "OPENAI_ORGANIZATION", "project": "OPENAI_PROJECT"},
    embeddings=EMBEDDINGS,
)
