"""A minimal Redis connection for the request path: RESP2 over one asyncio protocol.

Measured (bench/gateway.py): redis-py's asyncio client costs about 80 µs of CPU per round trip
on this machine, most of it its own machinery; the gateway makes two or three per request.
This connection writes whole pipelines at once and parses the small replies the gateway's
commands get, in a few µs. redis-py stays for everything off the request path.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["ReplyError", "RespConnection", "pack"]


class ReplyError(Exception):
    """An error reply from Redis (``-ERR ...``, ``-NOSCRIPT ...``)."""


class _Incomplete(Exception):
    pass


def pack(args: Sequence[Any]) -> bytes:
    """One command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Parser:
    def __init__(self) -> None:
        self.buf = bytearray()

    def replies(self, data: bytes) -> list[Any]:
        self.buf += data
        out: list[Any] = []
        pos = 0
        try:
            while pos < len(self.buf):
                value, pos = self._parse(pos)
                out.append(value)
        except _Incomplete:
            pass
        del self.buf[:pos]
        return out

    def _parse(self, pos: int) -> tuple[Any, int]:
        buf = self.buf
        end = buf.find(b"\r\n", pos)
        if end < 0:
            raise _Incomplete
        kind, line, nxt = buf[pos], bytes(buf[pos + 1:end]), end + 2
        if kind == 0x2B:  # +simple
            return line, nxt
        if kind == 0x2D:  # -error
            return ReplyError(line.decode(errors="replace")), nxt
        if kind == 0x3A:  # :integer
            return int(line), nxt
        if kind == 0x24:  # $bulk
            size = int(line)
            if size < 0:
                return None, nxt
            if len(buf) < nxt + size + 2:
                raise _Incomplete
            return bytes(buf[nxt:nxt + size]), nxt + size + 2
        if kind == 0x2A:  # *array
            count = int(line)
            if count < 0:
                return None, nxt
            items = []
            for _ in range(count):
                item, nxt = self._parse(nxt)
                items.append(item)
            return items, nxt
        raise ReplyError(f"unexpected reply type {chr(kind)!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[tuple[int, list[Any], asyncio.Future[list[Any]]]] = deque()
        self.parser = _Parser()
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            replies = self.parser.replies(data)
        except (ValueError, ReplyError) as exc:  # a stream we cannot read: give up on it
            self.connection_lost(exc)
            if self.transport is not None:
                self.transport.close()
            return
        for reply in replies:
            if not self.waiting:
                break
            count, got, future = self.waiting[0]
            got.append(reply)
            if len(got) == count:
                self.waiting.popleft()
                if not future.done():
                    future.set_result(got)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc or ConnectionError("Redis closed the connection")
        while self.waiting:
            _, _, future = self.waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError(str(self.lost)))


class RespConnection:
    """One connection to the Redis of ``url`` (``redis://``, ``rediss://``, ``unix://``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self._scheme = parts.scheme
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._path = unquote(parts.path) if parts.scheme == "unix" else ""
        db = (parts.path.lstrip("/") if parts.scheme != "unix" else "") or query.get("db", ["0"])[0]
        self._db = int(db or 0)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._proto: _Protocol | None = None

    def __repr__(self) -> str:  # the URL may hold a password
        return "RespConnection()"

    @property
    def open(self) -> bool:
        return self._proto is not None and self._proto.lost is None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        if self._scheme == "unix":
            _, proto = await loop.create_unix_connection(_Protocol, self._path)
        else:
            context = ssl.create_default_context() if self._scheme == "rediss" else None
            _, proto = await loop.create_connection(_Protocol, self._host, self._port, ssl=context)
        self._proto = proto
        setup: list[Sequence[Any]] = []
        if self._password is not None:
            setup.append(("AUTH", self._user, self._password) if self._user else ("AUTH", self._password))
        if self._db:
            setup.append(("SELECT", self._db))
        for reply in await self.send(setup) if setup else []:
            if isinstance(reply, ReplyError):
                self.close()
                raise ConnectionError(f"Redis refused the connection setup: {reply}")

    def send(self, commands: Sequence[Sequence[Any]]) -> asyncio.Future[list[Any]]:
        """Write every command at once; the future gets their replies in order (an error
        reply is a ``ReplyError`` in the list, not raised)."""
        proto = self._proto
        if proto is None or proto.transport is None or proto.lost is not None:
            raise ConnectionError("not connected to Redis")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        proto.waiting.append((len(commands), [], future))
        proto.transport.write(b"".join(pack(c) for c in commands))
        return future

    def close(self) -> None:
        proto, self._proto = self._proto, None
        if proto is not None and proto.transport is not None:
            proto.transport.close()
