"""What a provider adapter is: the translation functions the core calls, and their values.

An adapter never performs I/O. The core sends the ``HTTPRequest`` values it builds and hands
the parsed bodies back to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Union

from ..masking import mask_headers
from ..streaming import SSEDecoder, StreamDecoder

if TYPE_CHECKING:
    from ..capabilities import EmbeddingFamily, ModelFamily
    from ..config import ProviderSettings
    from ..embedding_types import EmbeddingRequest, EmbeddingResponse
    from ..exceptions import APIError
    from ..types import ChatRequest, ModelResponse, ModelResponseChunk


@dataclass(frozen=True, init=False)
class HTTPRequest:
    """One HTTP request to send. ``json`` is the body; ``stream`` asks for a streamed response.

    ``content``, when set, is the body already encoded: it is sent byte for byte instead of
    ``json`` (a signature covers exact bytes); ``json`` is still what ``logger_fn`` shows.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    stream: bool = False
    content: bytes | None = None

    def __init__(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                 json: Any = None, stream: bool = False, content: bytes | None = None) -> None:
        # Frozen: the fields are written once, here, in one call (the generated __init__ makes
        # one object.__setattr__ call per field, ~2 us for a request).
        self.__dict__.update(method=method, url=url, headers={} if headers is None else headers,
                             json=json, stream=stream, content=content)

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


@dataclass(frozen=True, init=False)
class CallContext:
    """What a parser may need to know about the call it answers."""

    provider: str
    model: str
    request: "ChatRequest"
    settings: "ProviderSettings"
    state: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, provider: str, model: str, request: "ChatRequest",
                 settings: "ProviderSettings", state: Mapping[str, Any] | None = None) -> None:
        # One call for all fields, as in HTTPRequest.
        self.__dict__.update(provider=provider, model=model, request=request, settings=settings,
                             state={} if state is None else state)


Step = Union["ModelResponse", FollowUp]


class StreamTranslator(Protocol):
    """Turns a provider's stream events (what its ``stream_decoder`` yields: a
    ``ServerSentEvent`` by default) into OpenAI chunks; keeps the state a stream needs."""

    def feed(self, event: Any) -> "list[ModelResponseChunk]": ...

    def finish(self) -> "list[ModelResponseChunk]": ...


@dataclass(frozen=True)
class EmbeddingAdapter:
    """A provider's embeddings endpoint, as pure translation (``llmrelay.embedding()``).

    ``build_request(EmbeddingRequest, ProviderSettings) -> HTTPRequest`` makes one batch's
    request: ``request["input"]`` is a list (strings, or token-id lists where the family allows
    them) no longer than the family's ``batch_limit``; provider extras (``input_type``,
    ``task_type``) are further keys. ``parse_response(body, EmbeddingRequest) ->
    EmbeddingResponse`` reads that batch's answer: ``data[i].index == i`` within the batch,
    ``usage`` as an ``EmbeddingUsage``, each vector as floats, or as a base64 string when
    ``request["encoding_format"] == "base64"`` (``embedding_types.base64_of`` encodes floats).
    It raises ``APIError`` for a body of the wrong shape; the core maps HTTP errors with the
    adapter's ``parse_error``, splits the input, runs the batches, renumbers and sums.

    ``families``: ``EmbeddingFamily`` rows, first match wins; a model no row matches, or whose
    row has ``batch_limit == 0``, does not embed (``BadRequestError`` before any request).

    ``usage_header``: the response header that counts a batch's input tokens, read when the
    parsed body has no usage (Bedrock's ``InvokeModel`` answers count them only there).
    """

    build_request: Callable[["EmbeddingRequest", "ProviderSettings"], HTTPRequest]
    parse_response: Callable[[Any, "EmbeddingRequest"], "EmbeddingResponse"]
    families: tuple["EmbeddingFamily", ...]
    usage_header: str | None = None


@dataclass(frozen=True)
class Adapter:
    """Everything the core needs to know about one provider.

    ``build_request`` and the parsers are pure functions; ``families`` is the capability table
    (first matching family wins); ``native_n`` says the provider answers ``n > 1`` itself;
    ``settings_env`` names the env vars of provider options (``{"api_version": "AZURE_API_VERSION"}``);
    those names are also keyword arguments of ``completion()`` that go to the settings, never
    into the request body.

    Seams for providers that are not "one API key in a header, SSE streams":
    ``secret_options`` names options whose values are secrets (masked in logs, errors and
    reprs like the key). ``finish_settings`` replaces the "no API key" check: it gets the
    resolved settings and returns them completed (an endpoint derived from a region), or
    raises ``AuthenticationError`` naming what is missing. ``sign`` is called before every
    attempt (retries and cancel requests included) with the request about to be sent, and
    returns it signed. ``stream_decoder`` makes the decoder of a streamed body (SSE unless
    the provider frames its stream otherwise).

    ``embeddings`` is the provider's embeddings endpoint (``None``: it has none, and
    ``llmrelay.embedding()`` refuses it before any request).

    ``parse_raw`` is an optional fast path for a success body whose bytes are already the
    answer's shape (OpenAI's): it returns the ``Step`` straight from the bytes, or ``None``
    (or raises ``ValueError``) to send the body down ``parse_response``, which then says what
    is wrong with it.
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
    secret_options: tuple[str, ...] = ()
    finish_settings: Callable[["ProviderSettings"], "ProviderSettings"] | None = None
    sign: Callable[[HTTPRequest, "ProviderSettings"], HTTPRequest] | None = None
    stream_decoder: Callable[[], StreamDecoder] = SSEDecoder
    embeddings: EmbeddingAdapter | None = None
    parse_raw: Callable[[bytes, CallContext], "Step | None"] | None = None
