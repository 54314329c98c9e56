"""Replicate predictions behind the chat interface: render, create, wait or poll, stream, cancel."""

from __future__ import annotations

from ..base import Adapter
from .capabilities import FAMILIES
from .errors import parse_error
from .request import build_request
from .response import parse_response
from .stream import stream_translator

ADAPTER = Adapter(
    name="replicate",
    api_key_env=("REPLICATE_API_TOKEN", "REPLICATE_API_KEY"),
    default_base_url="https://api.replicate.com/v1",
    base_url_env="REPLICATE_API_BASE",
    build_request=build_request,
    parse_response=parse_response,
    stream_translator=stream_translator,
    parse_error=parse_error,
    families=FAMILIES,
    native_n=False,
)
