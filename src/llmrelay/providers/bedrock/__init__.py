"""AWS Bedrock Runtime (``bedrock/<modelId>``): Converse and ConverseStream, SigV4 or Bearer.

``POST {base}/model/{modelId}/converse`` (``/converse-stream``: AWS event-stream framing, not
SSE), and ``/invoke`` for embeddings (Titan, Cohere Embed); ``{base}`` is
``https://bedrock-runtime.{region}.amazonaws.com`` unless given.
"""

from __future__ import annotations

from ...eventstream import EventStreamDecoder
from ..base import Adapter, CallContext
from .auth import SECRET_OPTIONS, SETTINGS_ENV, finish_settings, sign
from .capabilities import FAMILIES
from .embeddings import EMBEDDINGS
from .errors import parse_error
from .request import build_request
from .response import parse_response
from .stream import ConverseStreamTranslator


def stream_translator(ctx: CallContext) -> ConverseStreamTranslator:
    return ConverseStreamTranslator(ctx)


ADAPTER = Adapter(
    name="bedrock",
    api_key_env=("AWS_BEARER_TOKEN_BEDROCK",),
    default_base_url=None,  # derived from the region by finish_settings
    base_url_env="BEDROCK_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    stream_translator=stream_translator,
    parse_error=parse_error,
    families=FAMILIES,
    native_n=False,  # one choice per request: the core sends n requests and sums their usage
    settings_env=SETTINGS_ENV,
    secret_options=SECRET_OPTIONS,
    finish_settings=finish_settings,
    sign=sign,
    stream_decoder=EventStreamDecoder,
    embeddings=EMBEDDINGS,
)
