"""Sends ``HTTPRequest`` values over pooled clients: httpx for sync calls, aiohttp for async.

Nothing else lives here. HTTP-library exceptions become ``APIConnectionError`` / ``Timeout``
once, at this boundary. Clients are created on first use, never at import.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator, Mapping, Union

import httpx

from .exceptions import APIConnectionError, Timeout

if TYPE_CHECKING:
    import aiohttp

    from .providers.base import HTTPRequest

TimeoutTypes = Union[float, httpx.Timeout, None]

DEFAULT_TIMEOUT = 600.0

__all__ = ["AsyncResponse", "Response", "TimeoutTypes", "aclose", "asend", "close", "send"]


# One encoder for every request: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_body(body: Any) -> bytes | None:
    if body is None:
        return None
    return _ENCODER.encode(body).encode()


class Response:
    """A sync response: ``content`` is read unless the request streamed with status 200."""

    __slots__ = ("_raw", "content", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes, raw: Any) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self._raw = raw

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            yield from self._raw.iter_bytes()
        except httpx.TimeoutException as exc:
            raise Timeout(f"Timed out reading the stream: {exc}") from exc
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise APIConnectionError(f"Connection failed mid-stream: {exc!r}") from exc

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


class AsyncResponse:
    """The async twin of ``Response``."""

    __slots__ = ("_raw", "content", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes, raw: Any) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self._raw = raw

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


_sync_client: httpx.Client | None = None
_sync_lock = threading.Lock()


def _client() -> httpx.Client:
    global _sync_client
    client = _sync_client
    if client is None or client.is_closed:
        with _sync_lock:
            if _sync_client is None or _sync_client.is_closed:
                _sync_client = httpx.Client(
                    timeout=DEFAULT_TIMEOUT,
                    limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                    follow_redirects=True,
                )
            client = _sync_client
    return client


def _httpx_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(DEFAULT_TIMEOUT if timeout is None else timeout)


def send(request: "HTTPRequest", timeout: TimeoutTypes = None) -> Response:
    """Send one request on the shared sync client.

    A streaming request with status 200 returns with its body unread; read it with
    ``iter_bytes`` and ``close`` it. Every other response is read and closed.
    """
    client = _client()
    raw = client.build_request(
        request.method,
        request.url,
        headers=request.headers,
        content=encode_body(request.json),
        timeout=_httpx_timeout(timeout),
    )
    try:
        response = client.send(raw, stream=request.stream)
        headers = response.headers
        if request.stream and response.status_code == 200:
            return Response(200, headers, b"", response)
        if request.stream:
            response.read()
            response.close()
        return Response(response.status_code, headers, response.content, None)
    except httpx.TimeoutException as exc:
        raise Timeout(f"Request timed out: {exc!r}") from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise APIConnectionError(f"Connection error: {exc!r}") from exc


_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, Any]]" = (
    weakref.WeakKeyDictionary()
)


async def _session() -> "aiohttp.ClientSession":
    """The pooled aiohttp session of the running event loop (sessions cannot cross loops)."""
    loop = asyncio.get_running_loop()
    entry = _sessions.get(loop)
    if entry is not None and not entry[0].closed:
        return entry[0]
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, ttl_dns_cache=300),
        timeout=aiohttp.ClientTimeout(total=None),
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
    """aiohttp's timeout for ours, made once per distinct value."""
    found = _timeouts.get(timeout)
    if found is not None:
        return found
    import aiohttp

    if isinstance(timeout, httpx.Timeout):
        made = aiohttp.ClientTimeout(total=None, sock_connect=timeout.connect,
                                     sock_read=timeout.read)
    else:
        value = DEFAULT_TIMEOUT if timeout is None else timeout
        made = aiohttp.ClientTimeout(total=None, sock_connect=value, sock_read=value)
    if len(_timeouts) < 256:
        _timeouts[timeout] = made
    return made


async def asend(request: "HTTPRequest", timeout: TimeoutTypes = None) -> AsyncResponse:
    """The async twin of ``send``, on the running loop's aiohttp session."""
    entry = _sessions.get(asyncio.get_running_loop())
    session = entry[0] if entry is not None and not entry[0].closed else await _session()
    aiohttp = sys.modules["aiohttp"]
    try:
        response = await session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=encode_body(request.json),
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


def close() -> None:
    """Close the shared sync client; the next call opens a new one."""
    global _sync_client
    if _sync_client is not None:
        _sync_client.close()
        _sync_client = None


async def aclose() -> None:
    """Close the running loop's pooled aiohttp session."""
    entry = _sessions.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[1].aclose()
