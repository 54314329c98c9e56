"""Sends ``HTTPRequest`` values over pooled connections: httpcore for sync calls, aiohttp for async.

Nothing else lives here. HTTP-library exceptions become ``APIConnectionError`` / ``Timeout``
once, at this boundary. Clients are created on first use, never at import.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import weakref
import zlib
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Iterator, Mapping, Union

import httpcore
import httpx
from pydantic_core import PydanticSerializationError, to_json

from .exceptions import APIConnectionError, Timeout

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from .providers.base import HTTPRequest

TimeoutTypes = Union[float, httpx.Timeout, None]

DEFAULT_TIMEOUT = 600.0

# Everything httpcore raises for a connection that failed (timeouts are told apart first).
_CONNECTION_ERRORS = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ProxyError,
                      httpcore.UnsupportedProtocol)

__all__ = ["AsyncResponse", "Response", "TimeoutTypes", "aclose", "asend", "close", "pause",
           "replayed", "replaying", "send", "set_interceptor"]


def encode_body(body: Any) -> bytes | None:
    """Compact UTF-8 JSON, as ``json.dumps(body, ensure_ascii=False, separators=(",", ":"))``
    writes it (floats may be spelled otherwise, ``1e-7`` for ``1e-07``: the same numbers).
    pydantic-core's encoder: ~0.3 us where the stdlib's takes ~3 us a request."""
    if body is None:
        return None
    try:
        return to_json(body)
    except PydanticSerializationError as exc:
        # Something the caller passed through (extra_body, a provider extra, a lone surrogate
        # in a string) that JSON cannot carry: refused before anything is sent.
        from .exceptions import BadRequestError

        where = _unencodable(body, "")
        raise BadRequestError(
            f"The request cannot be sent as JSON: {where or 'a value'} is not JSON-serialisable"
            f" ({exc})", code="invalid_request") from None


def _unencodable(value: Any, path: str) -> str | None:
    """Where in ``value`` the first part JSON cannot encode is (an error path only)."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unencodable(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _unencodable(item, f"{path}[{i}]")
            if found:
                return found
        return None
    try:
        to_json(value)
    except PydanticSerializationError:
        return path or "the body"
    return None


class Response:
    """A sync response: ``content`` is read unless the request streamed with status 200.

    ``headers`` is a dict with lower-case names, built on first access (the hot path of a
    successful call never reads it).
    """

    __slots__ = ("_headers", "_raw", "_raw_headers", "content", "status")

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], content: bytes,
                 raw: Any) -> None:
        self.status = status
        self._raw_headers = raw_headers
        self._headers: dict[str, str] | None = None
        self.content = content
        self._raw = raw

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                             for k, v in self._raw_headers}
        return self._headers

    def iter_bytes(self) -> Iterator[bytes]:
        decoder = _decoder(self._raw_headers)
        try:
            for chunk in self._raw.stream:
                yield decoder.decompress(chunk) if decoder is not None else chunk
        except httpcore.TimeoutException as exc:
            raise Timeout(f"Timed out reading the stream: {exc!r}") from exc
        except _CONNECTION_ERRORS as exc:
            raise APIConnectionError(f"Connection failed mid-stream: {exc!r}") from exc

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


class AsyncResponse:
    """The async twin of ``Response``; ``headers`` likewise built on first access."""

    __slots__ = ("_headers", "_raw", "_raw_headers", "content", "status")

    def __init__(self, status: int, raw_headers: Mapping[str, str], content: bytes,
                 raw: Any) -> None:
        self.status = status
        self._raw_headers = raw_headers
        self._headers: dict[str, str] | None = None
        self.content = content
        self._raw = raw

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = {k.lower(): v for k, v in self._raw_headers.items()}
        return self._headers

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._raw.content.iter_any():
                yield chunk
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise Timeout(f"Timed out reading the stream: {exc!r}") from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"Connection failed mid-stream: {exc!r}") from exc

    async def aclose(self) -> None:
        if self._raw is not None:
            self._raw.release()


class _SyncPools:
    """httpcore connection pools for sync calls: one direct, one per proxy in the environment.

    httpcore is the connection layer under httpx; calling it directly skips httpx's request and
    response models, ~90 us a call on loopback. What httpx would take from the environment
    is taken here too: proxies (``HTTP(S)_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and the CA
    bundle (``httpx.create_ssl_context``, which honours ``SSL_CERT_FILE``).
    """

    def __init__(self) -> None:
        import urllib.request

        options: dict[str, Any] = {
            "ssl_context": _ssl_context(),
            "max_connections": 200,
            "max_keepalive_connections": 50,
            "keepalive_expiry": 5.0,
        }
        self.direct = httpcore.ConnectionPool(**options)
        self.proxies: dict[str, Any] = {
            scheme: _proxy_pool(url, options)
            for scheme, url in urllib.request.getproxies_environment().items()
            if scheme in ("http", "https", "all") and url
        }

    def for_url(self, url: Any) -> Any:
        if not self.proxies:
            return self.direct
        import urllib.request

        scheme, host = url.scheme.decode("ascii"), url.host.decode("ascii")
        proxy = self.proxies.get(scheme) or self.proxies.get("all")
        if proxy is None or urllib.request.proxy_bypass_environment(host):  # type: ignore[attr-defined]
            return self.direct
        return proxy

    def close(self) -> None:
        for pool in (self.direct, *self.proxies.values()):
            pool.close()


def _proxy_pool(url: str, options: dict[str, Any]) -> Any:
    if "://" not in url:
        url = f"http://{url}"
    if url.startswith("socks"):
        try:
            return httpcore.SOCKSProxy(proxy_url=url, **options)
        except ImportError as exc:
            raise APIConnectionError(
                f"A SOCKS proxy is configured ({url!r}); install socksio to use it"
            ) from exc
    return httpcore.HTTPProxy(proxy_url=url, **options)


_sync_pools: _SyncPools | None = None
_sync_lock = threading.Lock()
_ssl: "ssl.SSLContext | None" = None


def _ssl_context() -> "ssl.SSLContext":
    """One TLS context for sync and async calls: httpx's (certifi, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``). Building one takes ~20 ms, so it is made once, until ``close()``."""
    global _ssl
    if _ssl is None:
        _ssl = httpx.create_ssl_context()
    return _ssl


def _pools() -> _SyncPools:
    global _sync_pools
    pools = _sync_pools
    if pools is None:
        with _sync_lock:
            if _sync_pools is None:
                _sync_pools = _SyncPools()
            pools = _sync_pools
    return pools


def timeout_key(timeout: TimeoutTypes) -> Any:
    """A hashable stand-in for ``timeout`` (``httpx.Timeout`` is not hashable)."""
    if isinstance(timeout, httpx.Timeout):
        return ("httpx", timeout.connect, timeout.read, timeout.write, timeout.pool)
    return timeout


_httpcore_timeouts: dict[Any, dict[str, float | None]] = {}


def _httpcore_timeout(timeout: TimeoutTypes) -> dict[str, float | None]:
    """httpcore's per-request timeouts for ours, made once per distinct value. A field of an
    ``httpx.Timeout`` that is ``None`` means no limit, as in httpx."""
    key = timeout_key(timeout)
    found = _httpcore_timeouts.get(key)
    if found is not None:
        return found
    if isinstance(timeout, httpx.Timeout):
        made = {"connect": timeout.connect, "read": timeout.read, "write": timeout.write,
                "pool": timeout.pool}
    else:
        value = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        made = {"connect": value, "read": value, "write": value, "pool": value}
    if len(_httpcore_timeouts) < 256:
        _httpcore_timeouts[key] = made
    return made


def _decoder(raw_headers: list[tuple[bytes, bytes]]) -> Any:
    """A zlib decompressor when the body is gzip/deflate encoded (we never ask for it, a proxy
    might still send it); ``None`` for the usual identity body."""
    for name, value in raw_headers:
        if len(name) == 16 and name.lower() == b"content-encoding":
            encoding = value.strip().lower()
            if encoding in (b"gzip", b"x-gzip"):
                return zlib.decompressobj(16 + zlib.MAX_WBITS)
            if encoding == b"deflate":
                return zlib.decompressobj()
    return None


_DEFAULT_PORTS = {b"http": 80, b"https": 443}


class _Request(httpcore.Request):
    """An ``httpcore.Request`` made from parts already in httpcore's types (bytes, ``URL``, a
    header list, a body): the base ``__init__`` re-checks each through ``typing`` ABCs, ~7 us
    a request."""

    def __init__(self, method: bytes, url: httpcore.URL, headers: list[tuple[bytes, bytes]],
                 body: bytes | None, extensions: dict[str, Any]) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.stream = (body,) if body else ()  # iterable bytes, re-readable for a retry
        self.extensions = extensions


# Parsed once each, as a client calls the same few endpoints with the same few headers (parsing
# a URL costs ~6 us): URL string -> (httpcore URL, its Host header value), and (URL, headers) ->
# (encoded header block, whether a Content-Length must be added).
_targets: dict[str, tuple[httpcore.URL, bytes]] = {}
_heads: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[tuple[bytes, bytes]], bool]] = {}


def _target_of(url: str) -> tuple[httpcore.URL, bytes]:
    found = _targets.get(url)
    if found is None:
        parsed = httpcore.URL(url)
        port = parsed.port
        host = parsed.host if port is None or port == _DEFAULT_PORTS.get(parsed.scheme) \
            else b"%b:%d" % (parsed.host, port)
        found = (parsed, host)
        if len(_targets) >= 1024:
            _targets.clear()
        _targets[url] = found
    return found


def _wire_headers(headers: Mapping[str, str], url: str,
                  body: bytes | None) -> list[tuple[bytes, bytes]]:
    """The request's headers plus the two HTTP/1.1 needs: ``Host`` and ``Content-Length``
    (each only when the request does not set it). The encoded block is kept per URL and
    header values; only the length is added per request."""
    key = (url, tuple(headers.items()))
    found = _heads.get(key)
    if found is None:
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        names = {k.lower() for k, _ in out}
        if b"host" not in names:
            out.insert(0, (b"Host", _target_of(url)[1]))
        found = (out, b"content-length" not in names)
        if len(_heads) >= 256:
            _heads.clear()  # signed headers (SigV4) change every second: keep only recent ones
        _heads[key] = found
    head, add_length = found
    if body is not None and add_length:
        return [*head, (b"Content-Length", b"%d" % len(body))]
    return list(head)


# What every request goes through instead of the network when set: a cassette
# (``llmrelay.testing.cassette``) recording or replaying. A global, not a context variable, so
# the threads of an ``n > 1`` fan-out see it too.
_interceptor: Any = None


def set_interceptor(interceptor: Any) -> Any:
    """Route every ``send`` / ``asend`` through ``interceptor`` (``None``: the network again);
    returns the one it replaces. An interceptor has ``send(request, timeout)``,
    ``async asend(request, timeout)`` and ``replaying`` (true when nothing reaches the network)."""
    global _interceptor
    previous, _interceptor = _interceptor, interceptor
    return previous


def replaying() -> bool:
    """True while an interceptor answers every request itself (a cassette replaying)."""
    return _interceptor is not None and bool(_interceptor.replaying)


def pause(delay: float) -> float:
    """How long to really wait before a retry or a poll: nothing while a cassette replays."""
    return 0.0 if _interceptor is not None and _interceptor.replaying else delay


def send(request: "HTTPRequest", timeout: TimeoutTypes = None) -> Response:
    """Send one request (through the interceptor, when one is set)."""
    if _interceptor is not None:
        return _interceptor.send(request, timeout)  # type: ignore[no-any-return]
    return network_send(request, timeout)


def network_send(request: "HTTPRequest", timeout: TimeoutTypes = None) -> Response:
    """Send one request on the shared sync pool.

    A streaming request with status 200 returns with its body unread; read it with
    ``iter_bytes`` and ``close`` it. Every other response is read and closed.
    """
    body = request.content if request.content is not None else encode_body(request.json)
    raw = _Request(
        request.method.encode("ascii"),
        _target_of(request.url)[0],
        _wire_headers(request.headers, request.url, body),
        body,
        {"timeout": _httpcore_timeout(timeout)},
    )
    try:
        response = _pools().for_url(raw.url).handle_request(raw)
        if request.stream and response.status == 200:
            return Response(200, response.headers, b"", response)
        try:
            content = response.read()
        finally:
            response.close()
        decoder = _decoder(response.headers)
        if decoder is not None:
            content = decoder.decompress(content) + decoder.flush()
        return Response(response.status, response.headers, content, None)
    except httpcore.TimeoutException as exc:
        raise Timeout(f"Request timed out: {exc!r}") from exc
    except _CONNECTION_ERRORS as exc:
        raise APIConnectionError(f"Connection error: {exc!r}") from exc
    except zlib.error as exc:
        raise APIConnectionError(f"Could not decode the response body: {exc!r}") from exc


_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, Any]]" = (
    weakref.WeakKeyDictionary()
)


async def _session() -> "aiohttp.ClientSession":
    """The pooled aiohttp session of the running event loop (sessions cannot cross loops)."""
    loop = asyncio.get_running_loop()
    entry = _sessions.get(loop)
    if entry is not None and not entry[0].closed:
        return entry[0]
    import urllib.request

    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, ttl_dns_cache=300, ssl=_ssl_context()),
        timeout=aiohttp.ClientTimeout(total=None),
        # Proxies from the environment, as for sync calls; aiohttp looks them up per request,
        # so only when there are any.
        trust_env=bool(urllib.request.getproxies_environment()),
    )
    keeper = _close_with_loop(session)
    await keeper.__anext__()
    _sessions[loop] = (session, keeper)
    return session


async def _close_with_loop(session: "aiohttp.ClientSession") -> AsyncIterator[None]:
    """Parked async generator: ``loop.shutdown_asyncgens()`` (run by ``asyncio.run``) closes
    it, and so the session, before the loop goes away."""
    try:
        yield
    finally:
        await session.close()


_timeouts: dict[Any, "aiohttp.ClientTimeout"] = {}


def _aiohttp_timeout(timeout: TimeoutTypes) -> "aiohttp.ClientTimeout":
    """aiohttp's timeout for ours, made once per distinct value. aiohttp has no write timeout;
    ``pool`` bounds the wait for a free connection."""
    key = timeout_key(timeout)
    found = _timeouts.get(key)
    if found is not None:
        return found
    import aiohttp

    if isinstance(timeout, httpx.Timeout):
        made = aiohttp.ClientTimeout(total=None, connect=timeout.pool,
                                     sock_connect=timeout.connect, sock_read=timeout.read)
    else:
        value = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        made = aiohttp.ClientTimeout(total=None, sock_connect=value, sock_read=value)
    if len(_timeouts) < 256:
        _timeouts[key] = made
    return made


def asend(request: "HTTPRequest", timeout: TimeoutTypes = None) -> Awaitable[AsyncResponse]:
    """The async twin of ``send``: an awaitable of the response (the sender's own coroutine,
    not one more wrapped around it)."""
    if _interceptor is not None:
        return _interceptor.asend(request, timeout)  # type: ignore[no-any-return]
    return network_asend(request, timeout)


# The loop that sent last (weakly) and its session, and yarl's parse of each URL sent, made once.
_last_session: "tuple[weakref.ref[asyncio.AbstractEventLoop], aiohttp.ClientSession] | None" = None
_yarl_urls: dict[str, Any] = {}


async def network_asend(request: "HTTPRequest", timeout: TimeoutTypes = None) -> AsyncResponse:
    """The async twin of ``network_send``, on the running loop's aiohttp session."""
    global _last_session
    loop = asyncio.get_running_loop()
    last = _last_session  # the common case, one loop: skips the weak-keyed lookup
    if last is not None and last[0]() is loop and not last[1].closed:
        session = last[1]
    else:
        entry = _sessions.get(loop)
        session = entry[0] if entry is not None and not entry[0].closed else await _session()
        _last_session = (weakref.ref(loop), session)
    aiohttp = sys.modules["aiohttp"]
    url = _yarl_urls.get(request.url)
    if url is None:
        # Sent as built, as the sync transport does: yarl would otherwise decode escapes it
        # deems needless (``%3A`` -> ``:``), changing a path a signature covers.
        url = sys.modules["yarl"].URL(request.url, encoded=True)
        if len(_yarl_urls) >= 1024:
            _yarl_urls.clear()
        _yarl_urls[request.url] = url
    try:
        response = await session.request(
            request.method,
            url,
            headers=request.headers,
            data=request.content if request.content is not None else encode_body(request.json),
            timeout=_aiohttp_timeout(timeout),
        )
        if request.stream and response.status == 200:
            return AsyncResponse(200, response.headers, b"", response)
        try:
            content = await response.read()
        finally:
            response.release()
        return AsyncResponse(response.status, response.headers, content, None)
    except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise Timeout(f"Request timed out: {exc!r}") from exc
    except aiohttp.ClientError as exc:
        raise APIConnectionError(f"Connection error: {exc!r}") from exc


class _Replayed:
    """The raw body of a replayed stream: its byte chunks as they were received, read by
    ``Response.iter_bytes`` / ``AsyncResponse.aiter_bytes`` exactly as from the network;
    ``error`` is raised after them (a stream that failed midway)."""

    def __init__(self, chunks: list[bytes], error: Exception | None) -> None:
        self.content = self
        self._chunks = chunks
        self._error = error

    @property
    def stream(self) -> Iterator[bytes]:
        yield from self._chunks
        if self._error is not None:
            raise self._error

    async def iter_any(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        pass

    def release(self) -> None:
        pass


def replayed(status: int, headers: Mapping[str, str], content: bytes,
             chunks: list[bytes] | None = None, error: Exception | None = None, *,
             asynchronous: bool = False) -> "Response | AsyncResponse":
    """A recorded answer as the transport's own response: ``content`` for a whole body, or the
    stream ``chunks`` (then ``error``, if the stream failed midway) for a streamed one."""
    raw = None if chunks is None else _Replayed(chunks, error)
    if asynchronous:
        return AsyncResponse(status, dict(headers), content, raw)
    pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return Response(status, pairs, content, raw)


def close() -> None:
    """Close the shared sync pools; the next call opens new ones (and reads the proxy and CA
    environment again)."""
    global _sync_pools, _ssl
    with _sync_lock:
        pools, _sync_pools, _ssl = _sync_pools, None, None
    if pools is not None:
        pools.close()


async def aclose() -> None:
    """Close the running loop's pooled aiohttp session."""
    global _last_session
    _last_session = None
    entry = _sessions.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()
