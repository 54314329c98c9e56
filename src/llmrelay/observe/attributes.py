"""GenAI semantic-convention attributes of a call, as plain dicts (no OpenTelemetry import).

Names follow the OpenTelemetry GenAI conventions (client inference and embeddings spans,
``gen_ai.client.*`` metrics); values are only the types OpenTelemetry attributes accept.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ..hooks import CallStart
    from .event import CallEvent

__all__ = ["error_type", "operation", "provider_name", "request_attributes",
           "response_attributes", "server_of", "usage_counts"]

# The conventions' well-known ``gen_ai.provider.name`` values where llmrelay's provider key
# differs; any other provider is named by its llmrelay key.
_PROVIDER_NAMES = {"azure": "azure.ai.openai", "gemini": "gcp.gemini", "bedrock": "aws.bedrock",
                   "mistral": "mistral_ai", "xai": "x_ai"}
_OPERATIONS = {"completion": "chat", "embedding": "embeddings"}
_DEFAULT_PORTS = {"https": 443, "http": 80}


def provider_name(provider: str | None) -> str | None:
    return _PROVIDER_NAMES.get(provider, provider) if provider else None


def operation(call_type: str) -> str:
    return _OPERATIONS.get(call_type, call_type)


@lru_cache(maxsize=512)
def server_of(api_base: str) -> tuple[str, int] | None:
    """``(server.address, server.port)`` of a base URL (the scheme's port when none is written)."""
    try:
        parts = urlsplit(api_base)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.hostname, port


def error_type(error: BaseException) -> str:
    """A low-cardinality name for what went wrong: the exception class (``RateLimitError``)."""
    return type(error).__qualname__


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def request_attributes(info: "CallStart") -> dict[str, Any]:
    """What the request asked for, known when the call starts."""
    params = info.params
    attrs: dict[str, Any] = {}
    if info.call_type == "embedding":
        dimensions = _integer(params.get("dimensions"))
        if dimensions is not None:
            attrs["gen_ai.embeddings.dimension.count"] = dimensions
        if isinstance(params.get("encoding_format"), str):
            attrs["gen_ai.request.encoding_formats"] = [params["encoding_format"]]
        return attrs
    max_tokens = _integer(params.get("max_tokens", params.get("max_completion_tokens")))
    if max_tokens is not None:
        attrs["gen_ai.request.max_tokens"] = max_tokens
    for name in ("temperature", "top_p", "top_k", "frequency_penalty", "presence_penalty"):
        number = _number(params.get(name))
        if number is not None:
            attrs[f"gen_ai.request.{name}"] = number
    stop = params.get("stop")
    if isinstance(stop, str):
        attrs["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, (list, tuple)) and stop and all(isinstance(s, str) for s in stop):
        attrs["gen_ai.request.stop_sequences"] = list(stop)
    seed = _integer(params.get("seed"))
    if seed is not None:
        attrs["gen_ai.request.seed"] = seed
    n = _integer(params.get("n"))
    if n is not None and n != 1:
        attrs["gen_ai.request.choice.count"] = n
    if info.stream:
        attrs["gen_ai.request.stream"] = True
    fmt = params.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind in ("json_object", "json_schema"):
        attrs["gen_ai.output.type"] = "json"
    elif kind == "text":
        attrs["gen_ai.output.type"] = "text"
    return attrs


def usage_counts(event: "CallEvent") -> tuple[int | None, int | None]:
    """``(input, output)`` tokens the provider reported; output is ``None`` for embeddings."""
    usage = event.usage
    if usage is None:
        return None, None
    output = (None if event.call_type == "embedding"
              else _integer(getattr(usage, "completion_tokens", None)))
    return _integer(getattr(usage, "prompt_tokens", None)), output


def _answer(event: "CallEvent") -> tuple[Any, Any, list[str]]:
    """The answer's id, model and finish reasons (per choice, in order); read from a stream's
    chunks directly when nobody has rebuilt its response (that costs more than this)."""
    chunks = event._chunks
    if chunks is None:
        response = event.response
        if response is None:
            return None, None, []
        reasons = [c.finish_reason for c in getattr(response, "choices", None) or []
                   if isinstance(getattr(c, "finish_reason", None), str)]
        return getattr(response, "id", None), getattr(response, "model", None) or event.model, reasons
    finished: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            if choice.finish_reason:
                finished[choice.index] = choice.finish_reason
    first = chunks[0] if chunks else None
    return (getattr(first, "id", None), getattr(first, "model", None) or event.model,
            [finished[i] for i in sorted(finished)])


def response_attributes(event: "CallEvent") -> dict[str, Any]:
    """What the answer said: its id, model, finish reasons and token counts."""
    attrs: dict[str, Any] = {}
    response_id, model, reasons = _answer(event)
    if isinstance(response_id, str) and response_id:
        attrs["gen_ai.response.id"] = response_id
    if isinstance(model, str) and model:
        attrs["gen_ai.response.model"] = model
    if reasons:
        attrs["gen_ai.response.finish_reasons"] = reasons
    input_tokens, output_tokens = usage_counts(event)
    if input_tokens is not None:
        attrs["gen_ai.usage.input_tokens"] = input_tokens
    if output_tokens is not None:
        attrs["gen_ai.usage.output_tokens"] = output_tokens
    usage = event.usage
    if usage is not None:
        details = getattr(usage, "prompt_tokens_details", None)
        cached = _integer(details.cached_tokens) if details is not None else None
        if cached is not None:
            attrs["gen_ai.usage.cache_read.input_tokens"] = cached
        written = _integer(getattr(usage, "cache_creation_input_tokens", None))
        if written is not None:
            attrs["gen_ai.usage.cache_creation.input_tokens"] = written
        done = getattr(usage, "completion_tokens_details", None)
        reasoning = _integer(done.reasoning_tokens) if done is not None else None
        if reasoning is not None:
            attrs["gen_ai.usage.reasoning.output_tokens"] = reasoning
    if event.stream and event.time_to_first_token is not None:
        attrs["gen_ai.response.time_to_first_chunk"] = event.time_to_first_token
    return attrs
