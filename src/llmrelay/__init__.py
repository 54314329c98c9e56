"""llmrelay: call any LLM provider with the OpenAI Chat Completions format.

Public names only. Everything heavier than the exception classes loads on first use, so
``import llmrelay`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    Timeout,
    UnknownModelError,
    UnsupportedParamsError,
)

if TYPE_CHECKING:
    from .api import acompletion, completion
    from .caching import Cache
    from .chunks import stream_chunk_builder
    from .embedding_types import EmbeddingResponse
    from .embeddings import aembedding, embedding
    from .observe import CallEvent, instrument_otel
    from .pricing import ModelInfo, completion_cost, model_info, register_model, token_counter
    from .registry import get_provider, supports
    from .router import NoDeploymentAvailableError, Router
    from .streaming import AsyncStream, Stream
    from .transport import aclose, close
    from .types import Message, ModelResponse, ModelResponseChunk, Usage

__version__ = "0.1.0"

# Callbacks for every call in this process (API.md "Callbacks"): objects with ``on_success``
# and/or ``on_failure``. A plain list, read at the start of each call.
callbacks: list[Any] = []

# The response cache (API.md "Caching"): a ``llmrelay.Cache`` or ``None`` (off). A plain
# attribute, read once at the start of each call.
cache: Any = None

_LAZY = {
    "Router": "router",
    "NoDeploymentAvailableError": "router",
    "Cache": "caching",
    "completion": "api",
    "acompletion": "api",
    "stream_chunk_builder": "chunks",
    "embedding": "embeddings",
    "aembedding": "embeddings",
    "EmbeddingResponse": "embedding_types",
    "get_provider": "registry",
    "supports": "registry",
    "Stream": "streaming",
    "AsyncStream": "streaming",
    "close": "transport",
    "aclose": "transport",
    "ModelResponse": "types",
    "ModelResponseChunk": "types",
    "Message": "types",
    "Usage": "types",
    "CallEvent": "observe",
    "instrument_otel": "observe",
    "completion_cost": "pricing",
    "model_info": "pricing",
    "register_model": "pricing",
    "token_counter": "pricing",
    "ModelInfo": "pricing",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Cache",
    "CallEvent",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "EmbeddingResponse",
    "InternalServerError",
    "Message",
    "ModelInfo",
    "ModelResponse",
    "ModelResponseChunk",
    "NoDeploymentAvailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Router",
    "ServiceUnavailableError",
    "Stream",
    "Timeout",
    "UnknownModelError",
    "UnsupportedParamsError",
    "Usage",
    "aclose",
    "acompletion",
    "aembedding",
    "cache",
    "callbacks",
    "close",
    "completion",
    "completion_cost",
    "embedding",
    "get_provider",
    "instrument_otel",
    "model_info",
    "register_model",
    "stream_chunk_builder",
    "supports",
    "token_counter",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmrelay' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
