"""Anthropic Messages API (``claude-*``, ``anthropic/<model>``): ``POST {base}/v1/messages``."""

from __future__ import annotations

from ..base import Adapter, CallContext
from .capabilities import FAMILIES
from .errors import parse_error
from .request import build_request
from .response import parse_response
from .stream import MessageStreamTranslator


def stream_translator(ctx: CallContext) -> MessageStreamTranslator:
    return MessageStreamTranslator(ctx)


ADAPTER = Adapter(
    name="anthropic",
    api_key_env=("ANTHROPIC_API_KEY",),
    default_base_url="https://api.anthropic.com",
    base_url_env="ANTHROPIC_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    stream_translator=stream_translator,
    parse_error=parse_error,
    families=FAMILIES,
    native_n=False,  # one choice per request: the core sends n requests and sums their usage
)
