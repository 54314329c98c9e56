"""What a provider adapter is: the translation functions the core calls, and their values.

An adapter never performs I/O. The core sends the ``HTTPRequest`` values it builds and hands
the parsed bodies back to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Union

from ..masking import mask_headers

if TYPE_CHECKING:
    from ..capabilities import ModelFamily
    from ..config import ProviderSettings
    from ..exceptions import APIError
    from ..streaming import ServerSentEvent
    from ..types import ChatRequest, ModelResponse, ModelResponseChunk


@dataclass(frozen=True)
class HTTPRequest:
    """One HTTP request to send. ``json`` is the body; ``stream`` asks for an SSE response."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    stream: bool = False

    def __repr__(self) -> str:
        return (f"HTTPRequest({self.method} {self.url}, headers={mask_headers(self.headers, ())}, "
                f"stream={self.stream})")


@dataclass(frozen=True)
class FollowUp:
    """An answer that is not final yet: send ``request`` after ``delay`` seconds and parse again.

    ``cancel`` is the request that stops the remote work when the caller gives up (Replicate).
    When ``request.stream`` is set, the follow-up's SSE body is read with the stream translator.
    ``state``, when given, is what the next parse and the stream translator see as
    ``ctx.state``: what an earlier answer said that a later one does not repeat.
    """

    request: HTTPRequest
    delay: float = 0.0
    cancel: HTTPRequest | None = None
    state: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CallContext:
    """What a parser may need to know about the call it answers."""

    provider: str
    model: str
    request: "ChatRequest"
    settings: "ProviderSettings"
    state: Mapping[str, Any] = field(default_factory=dict)


Step = Union["ModelResponse", FollowUp]


class StreamDecoder(Protocol):
    """Turns a streamed body's bytes into events; ``SSEDecoder`` unless the adapter says else."""

    def feed(self, chunk: bytes) -> "list[ServerSentEvent]": ...

    def flush(self) -> "list[ServerSentEvent]": ...


class StreamTranslator(Protocol):
    """Turns a provider's SSE events into OpenAI chunks; keeps the state a stream needs."""

    def feed(self, event: "ServerSentEvent") -> "list[ModelResponseChunk]": ...

    def finish(self) -> "list[ModelResponseChunk]": ...


@dataclass(frozen=True)
class Adapter:
    """Everything the core needs to know about one provider.

    ``build_request`` and the parsers are pure functions; ``families`` is the capability table
    (first matching family wins); ``native_n`` says the provider answers ``n > 1`` itself;
    ``settings_env`` names the env vars of provider options (``{"api_version": "AZURE_API_VERSION"}``);
    ``stream_decoder`` makes the decoder of a streamed body (``None``: plain SSE).
    """

    name: str
    api_key_env: tuple[str, ...]
    default_base_url: str | None
    base_url_env: str
    build_request: Callable[["ChatRequest", "ProviderSettings"], HTTPRequest]
    parse_response: Callable[[Any, CallContext], Step]
    stream_translator: Callable[[CallContext], StreamTranslator]
    parse_error: Callable[[int, Any, Mapping[str, str], CallContext], "APIError"]
    families: tuple["ModelFamily", ...] = ()
    native_n: bool = False
    settings_env: Mapping[str, str] = field(default_factory=dict)
    stream_decoder: Callable[[], StreamDecoder] | None = None
