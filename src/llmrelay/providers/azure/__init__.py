"""Azure OpenAI chat completions: OpenAI's wire format behind a deployment URL.

Responses and streams are OpenAI's (content-filter annotations ride along as extras), so the
OpenAI parsers serve; the URL, auth and error envelope are Azure's own.
"""

from __future__ import annotations

from ..base import Adapter, CallContext
from ..openai.response import parse_raw, parse_response
from ..openai.stream import ChunkTranslator
from .capabilities import FAMILIES
from .embeddings import EMBEDDINGS
from .errors import parse_error
from .request import build_request


def stream_translator(ctx: CallContext) -> ChunkTranslator:
    return ChunkTranslator(ctx, parse_error)


ADAPTER = Adapter(
    name="azure",
    api_key_env=("AZURE_API_KEY",),
    default_base_url=None,
    base_url_env="AZURE_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    parse_raw=parse_raw,
    stream_translator=stream_translator,
    parse_error=parse_error,
    families=FAMILIES,
    native_n=True,
    settings_env={"api_version": "AZURE_API_VERSION"},
    embeddings=EMBEDDINGS,
    secret_options=("azure_ad_token",),
)
