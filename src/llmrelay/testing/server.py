"""A loopback HTTP server that speaks each provider's wire protocol, deterministically.

One ``Emulator`` serves every registered provider on one ephemeral port. Tests script failures
(statuses with the provider's real error bodies, ``Retry-After``, slow answers, dropped
connections, malformed bodies) and read back every request it received. Standard library only.
"""

from __future__ import annotations

import gzip
import importlib
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

DEFAULT_API_KEY = "sk-emulator-key"


@dataclass
class Exchange:
    """One request as a handler sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    match: "re.Match[str]"
    emulator: "Emulator"
    client_port: int = 0

    @property
    def api_key(self) -> str:
        return self.emulator.api_key


@dataclass
class JSONReply:
    """A JSON answer; ``body`` may be ``bytes`` already encoded as JSON."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RawReply:
    """Bytes as they are: malformed bodies, HTML from a proxy."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class SSEReply:
    """A streamed body. ``events`` are already-encoded SSE text blocks (or raw byte pieces of
    another framing, with its ``content-type`` in ``headers``), sent one at a time;
    ``interval`` seconds pass between them; ``drop_after`` cuts the connection after that many;
    ``corrupt_at`` flips the first byte of that piece."""

    events: Iterable[str | bytes]
    headers: Mapping[str, str] = field(default_factory=dict)
    interval: float = 0.0
    drop_after: int | None = None
    corrupt_at: int | None = None


Reply = JSONReply | RawReply | SSEReply
Handler = Callable[[Exchange], Reply]


@dataclass
class Route:
    provider: str
    method: str
    pattern: "re.Pattern[str]"
    handler: Handler


@dataclass
class Fault:
    """A scripted misbehaviour, used by the next matching request(s).

    ``kind``: ``"status"`` (the provider's real error body for ``status``, or ``body``),
    ``"drop"`` (close the socket without answering), ``"malformed"`` (200 with a broken body),
    ``"slow"`` (wait ``delay`` seconds, then answer normally), ``"stream_error"`` (a stream
    that fails after its first events, as the provider does mid-stream), ``"stream_drop"``
    (a stream whose connection is cut after ``status`` events), ``"stream_slow"`` (a stream
    whose events come ``delay`` seconds apart), ``"stream_corrupt"`` (a stream whose piece
    number ``status`` arrives with a damaged byte). ``provider``, ``path`` (a regex) and
    ``text`` (a string the request body must contain) say which requests it applies to.
    """

    kind: str
    status: int = 500
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    provider: str | None = None
    path: str | None = None
    text: str | None = None


@dataclass
class RecordedRequest:
    provider: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    client_port: int
    raw_body: bytes = b""


ROUTES: list[Route] = []
ERROR_BODIES: dict[str, Callable[[int, str], tuple[Any, dict[str, str]]]] = {}
GATES: dict[str, Callable[[Exchange], Reply | None]] = {}


def route(provider: str, method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` on paths matching ``pattern`` (a full-match regex)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(provider, method, re.compile(pattern), handler))
        return handler

    return register


def gate(provider: str) -> Callable[[Callable[[Exchange], Reply | None]], Any]:
    """Register ``provider``'s front-end check (authentication): it runs on every request
    before scripted faults, as a real front end refuses a bad signature before anything else.
    It returns a refusal, or ``None`` to let the request through."""

    def register(fn: Callable[[Exchange], Reply | None]) -> Any:
        GATES[provider] = fn
        return fn

    return register


def error_body(provider: str) -> Callable[[Callable[[int, str], tuple[Any, dict[str, str]]]], Any]:
    """Register how ``provider`` words an error: ``(status, message) -> (body, headers)``."""

    def register(fn: Callable[[int, str], tuple[Any, dict[str, str]]]) -> Any:
        ERROR_BODIES[provider] = fn
        return fn

    return register


def provider_error(provider: str, status: int, message: str) -> JSONReply:
    body, headers = ERROR_BODIES[provider](status, message)
    return JSONReply(status, body, headers)


def sse(data: Any, event: str | None = None) -> str:
    """One SSE block; dicts are sent as compact JSON."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"


# The emulator modules; importing one registers its routes and error bodies.
PROVIDER_MODULES = ("openai", "cohere", "anthropic", "azure", "openrouter", "replicate", "bedrock",
                    "compat", "gemini")


def _load_providers() -> None:
    for name in PROVIDER_MODULES:
        importlib.import_module(f"{__package__}.{name}")


STATUS_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    408: "Request timeout",
    409: "Conflict",
    413: "Request too large",
    422: "Unprocessable entity",
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
    529: "Overloaded",
}


class Emulator:
    """Every provider's API on ``http://127.0.0.1:<port>``.

    >>> with Emulator() as emu:
    ...     llmrelay.completion(model="gpt-4o-mini", messages=msgs,
    ...                         api_base=emu.base_url("openai"), api_key=emu.api_key)
    """

    BASE_PATHS = {
        "openai": "/v1",
        "azure": "",
        "anthropic": "",
        "cohere": "",
        "replicate": "/v1",
        "openrouter": "/api/v1",
        "bedrock": "",
        # The OpenAI-compatible family (testing/compat/): each real base path,
        # under a host-like first segment where two would collide on one port.
        "mistral": "/mistral/v1",
        "groq": "/openai/v1",
        "deepseek": "",
        "xai": "/xai/v1",
        "together_ai": "/together/v1",
        "fireworks_ai": "/inference/v1",
        "perplexity": "/perplexity",
        "ollama": "/ollama/v1",
        "hosted_vllm": "/vllm/v1",
        "gemini": "",
    }

    def __init__(self, *, api_key: str = DEFAULT_API_KEY, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: "ssl.SSLContext | None" = None):
        """``ssl_context`` (a server context with a certificate loaded) serves HTTPS."""
        _load_providers()
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.state: dict[str, Any] = {}
        # Requests being answered right now, and the most there ever were at once.
        self.in_flight = 0
        self.peak_in_flight = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = _Server((host, port), _handler_for(self))
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._scheme = "https" if ssl_context is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    def base_url(self, provider: str) -> str:
        return self.url + self.BASE_PATHS[provider]

    def start(self) -> "Emulator":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.state.clear()
            self.peak_in_flight = self.in_flight

    def fail(
        self,
        status: int,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        provider: str | None = None,
        path: str | None = None,
        text: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and the provider's error body
        (only requests whose body contains ``text``, when given)."""
        self._add(Fault("status", status, body, headers or {}, 0, times, provider, path, text))

    def drop(self, *, times: int = 1, provider: str | None = None) -> None:
        """Close the connection without an answer."""
        self._add(Fault("drop", times=times, provider=provider))

    def malformed(self, *, body: bytes = b'{"id": "broken", ', times: int = 1,
                  provider: str | None = None, status: int = 200) -> None:
        """Answer 200 with a body that is not the documented shape."""
        self._add(Fault("malformed", status=status, body=body, times=times, provider=provider))

    def slow(self, delay: float, *, times: int = 1, provider: str | None = None,
             text: str | None = None) -> None:
        """Wait ``delay`` seconds before answering (streams: before the first event too)."""
        self._add(Fault("slow", delay=delay, times=times, provider=provider, text=text))

    def drop_stream(self, *, after: int = 2, times: int = 1, provider: str | None = None) -> None:
        """Cut the next stream's connection after ``after`` events, without a terminator."""
        self._add(Fault("stream_drop", status=after, times=times, provider=provider))

    def slow_stream(self, interval: float, *, times: int = 1, provider: str | None = None) -> None:
        """Send the next stream's events ``interval`` seconds apart."""
        self._add(Fault("stream_slow", delay=interval, times=times, provider=provider))

    def corrupt_stream(self, *, at: int = 2, times: int = 1, provider: str | None = None) -> None:
        """Damage one byte of the next stream: the first of its piece number ``at``."""
        self._add(Fault("stream_corrupt", status=at, times=times, provider=provider))

    def stream_error(self, *, status: int = 529, times: int = 1, provider: str | None = None) -> None:
        """Fail the next stream after its first events, the way the provider does mid-stream."""
        self._add(Fault("stream_error", status=status, times=times, provider=provider))

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, provider: str, path: str, kinds: tuple[str, ...],
                   raw: bytes = b"") -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds:
                    continue
                if fault.provider not in (None, provider):
                    continue
                if fault.path is not None and not re.search(fault.path, path):
                    continue
                if fault.text is not None and fault.text.encode() not in raw:
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def count(self, provider: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (provider is None or r.provider == provider)
            and (path is None or re.search(path, r.path))
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that resets its connection (tests do, on purpose) is not a server error."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "llmrelay-emulator"
        # Headers and body go out in separate writes: with Nagle on, the body waits for the
        # client's delayed ACK (~40 ms a request on Linux loopback).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            found = _find_route(self.command, url.path)
            if found is None:
                self._reply(JSONReply(404, {"error": {"message": f"No route {url.path}"}}))
                return
            target, match = found
            with emulator._lock:
                emulator.requests.append(
                    RecordedRequest(target.provider, self.command, url.path, query, headers, body,
                                    self.client_address[1], raw)
                )
                emulator.in_flight += 1
                emulator.peak_in_flight = max(emulator.peak_in_flight, emulator.in_flight)
            exchange = Exchange(self.command, url.path, query, headers, body, raw, match,
                                emulator, self.client_address[1])
            try:
                self._answer(target, exchange)
            finally:
                with emulator._lock:
                    emulator.in_flight -= 1

        def _answer(self, target: Route, exchange: Exchange) -> None:
            path, raw = exchange.path, exchange.raw_body
            check = GATES.get(target.provider)
            refused = check(exchange) if check is not None else None
            if refused is not None:
                self._reply(refused)
                return
            # A request's faults are taken when it arrives: one still sleeping must not take
            # faults scripted after it (by a later test).
            slow = emulator.take_fault(target.provider, path, ("slow",), raw)
            fault = emulator.take_fault(target.provider, path, ("status", "drop", "malformed"), raw)
            if slow is not None:
                time.sleep(slow.delay)
            if fault is not None and fault.kind == "drop":
                self._drop()
                return
            if fault is not None and fault.kind == "malformed":
                self._reply(RawReply(fault.status, fault.body, {"content-type": "application/json"}))
                return
            if fault is not None:
                reply: Reply = provider_error(
                    target.provider, fault.status, STATUS_MESSAGES.get(fault.status, "Error")
                )
                if fault.body is not None:
                    reply.body = fault.body  # type: ignore[union-attr]
                reply.headers = {**reply.headers, **fault.headers}
                self._reply(reply)
                return
            try:
                reply = target.handler(exchange)
            except Exception as exc:  # an input the emulator does not model: say so, never drop
                reply = provider_error(target.provider, 500,
                                       f"llmrelay emulator could not answer this request: "
                                       f"{type(exc).__name__}: {exc}")
            if isinstance(reply, SSEReply):
                cut = emulator.take_fault(target.provider, path, ("stream_drop",))
                if cut is not None:
                    reply.drop_after = cut.status
                pace = emulator.take_fault(target.provider, path, ("stream_slow",))
                if pace is not None:
                    reply.interval = pace.delay
                damage = emulator.take_fault(target.provider, path, ("stream_corrupt",))
                if damage is not None:
                    reply.corrupt_at = damage.status
            self._reply(reply)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _reply(self, reply: Reply) -> None:
            if isinstance(reply, SSEReply):
                self._stream(reply)
                return
            if isinstance(reply, RawReply) or isinstance(reply.body, bytes):
                data = reply.body  # raw bytes, or JSON encoded ahead (large embedding answers)
            else:
                data = json.dumps(reply.body).encode()
            headers = {"content-type": "application/json", **reply.headers}
            if isinstance(reply, JSONReply) and "gzip" in self.headers.get("accept-encoding", ""):
                # As the providers' front ends do for clients that ask (the official SDKs do).
                data = gzip.compress(data, compresslevel=1)  # fast: answers can be megabytes
                headers["content-encoding"] = "gzip"
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, reply: SSEReply) -> None:
            self.send_response(200)
            headers = {"content-type": "text/event-stream; charset=utf-8",
                       "cache-control": "no-cache", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                for i, event in enumerate(reply.events):
                    if reply.drop_after is not None and i >= reply.drop_after:
                        self.wfile.flush()
                        self._drop()
                        return
                    if i and reply.interval:
                        time.sleep(reply.interval)
                    data = event.encode() if isinstance(event, str) else event
                    if i == reply.corrupt_at and data:
                        data = bytes([data[0] ^ 0xFF]) + data[1:]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return _Handler


def _find_route(method: str, path: str) -> "tuple[Route, re.Match[str]] | None":
    for r in ROUTES:
        if r.method == method:
            match = r.pattern.fullmatch(path)
            if match:
                return r, match
    return None
