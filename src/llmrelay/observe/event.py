"""``CallEvent``: what a callback is told about one finished call."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..meta import CallMeta
    from ..usage import Usage

__all__ = ["CallEvent", "built_response", "public_params"]

# Parameter names that carry credentials (``aws_secret_access_key``, ``azure_ad_token``, ...):
# they never reach a callback, whatever a provider takes as an extra.
_SECRET_NAME = re.compile(r"(^|_)(api_?key|secret|password|credentials?|token)($|_)|_key(_id)?$",
                          re.IGNORECASE)


def public_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without any credential-like name."""
    return {k: v for k, v in params.items() if not _SECRET_NAME.search(k)}


def built_response(chunks: list[Any], meta: "CallMeta") -> Any:
    """The response a stream stands for, from the chunks its caller was handed (a stream closed
    early has ``finish_reason`` ``None``); usage is what the provider sent, if it did."""
    from ..chunks import stream_chunk_builder
    from ..types import ModelResponse, attach_meta
    from .dispatch import LOG

    try:
        if chunks:
            response = stream_chunk_builder(chunks)
        else:
            response = ModelResponse(id="", model=meta.model or "", choices=[])
    except Exception:
        LOG.exception("llmrelay: could not rebuild the streamed response for the callbacks")
        return None
    response.usage = meta.usage
    attach_meta(response, meta)
    return response


class CallEvent:
    """One ``completion`` / ``acompletion`` / ``embedding`` call, told once when it has ended.

    ``response`` is the ``ModelResponse`` (``EmbeddingResponse`` for embeddings); for a stream it
    is built from the chunks the caller was handed (``stream_chunk_builder``, with the usage the
    provider sent). On failure ``exception`` is set and ``response`` is ``None``. ``cost`` and
    ``request_id`` are read from the call's ``meta`` when first asked (``cost == resp.meta.cost``).
    ``start_time`` / ``end_time`` are Unix timestamps in seconds; ``latency`` is their difference.

    >>> class Audit:
    ...     def on_success(self, event: llmrelay.CallEvent) -> None:
    ...         print(event.model, event.usage.total_tokens, event.latency)
    >>> llmrelay.callbacks.append(Audit())
    """

    __slots__ = ("_chunks", "_response", "attempts", "cache_hit", "call_type", "deployment",
                 "end_time", "exception", "latency", "messages", "meta", "model", "params",
                 "provider", "start_time", "stream", "time_to_first_token", "usage")

    def __init__(self, *, call_type: str, provider: str | None, model: str | None,
                 deployment: str | None, params: dict[str, Any], messages: Any, response: Any,
                 exception: BaseException | None, usage: "Usage | None", latency: float | None,
                 time_to_first_token: float | None, attempts: int, cache_hit: bool,
                 stream: bool, start_time: float, end_time: float, meta: "CallMeta",
                 chunks: list[Any] | None = None) -> None:
        self.call_type = call_type
        self.provider = provider
        self.model = model
        self.deployment = deployment
        self.params = params
        self.messages = messages
        self._response = response
        self._chunks = chunks  # a stream's delivered chunks: the response is built on first read
        self.exception = exception
        self.usage = usage
        self.latency = latency
        self.time_to_first_token = time_to_first_token
        self.attempts = attempts
        self.cache_hit = cache_hit
        self.stream = stream
        self.start_time = start_time
        self.end_time = end_time
        self.meta = meta

    @property
    def response(self) -> Any:
        """The answer (``None`` on failure); a stream's is rebuilt from its chunks when asked."""
        if self._chunks is not None:
            chunks, self._chunks = self._chunks, None
            self._response = built_response(chunks, self.meta)
        return self._response

    @response.setter
    def response(self, value: Any) -> None:
        self._chunks, self._response = None, value

    @property
    def cost(self) -> float | None:
        """USD the call spent (``resp.meta.cost``); ``None`` when the model has no known price."""
        return self.meta.cost

    @property
    def request_id(self) -> str | None:
        """The provider's request id header, when it sent one."""
        return self.meta.request_id

    def __repr__(self) -> str:
        outcome = ("ok" if self.exception is None
                   else f"{type(self.exception).__name__}")
        return (f"CallEvent({self.call_type}, provider={self.provider!r}, model={self.model!r}, "
                f"deployment={self.deployment!r}, stream={self.stream}, attempts={self.attempts}, "
                f"latency={self.latency!r}, {outcome})")
