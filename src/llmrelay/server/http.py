"""Raw ASGI plumbing: the request as the handlers see it, and the ways to answer it.

The app is plain ASGI (no framework): measured in bench/server_stack.py, Starlette's layers
cost about 15 % of the throughput for routing this gateway does with one dict lookup.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl

from pydantic_core import from_json

from .errors import GatewayError

__all__ = ["Receive", "Request", "Scope", "Send", "json_headers", "new_request_id"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON_TYPE = (b"content-type", b"application/json")


_PREFIX = "req_" + os.urandom(8).hex()
_COUNTER = itertools.count(1)


def _reseed() -> None:
    global _PREFIX
    _PREFIX = "req_" + os.urandom(8).hex()  # a forked child must never repeat its parent's ids


os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A fresh id for ``x-request-id`` and the spend row (never taken from the client: it is
    the row's unique key): this process's random prefix and a counter, no syscall per request."""
    return f"{_PREFIX}{next(_COUNTER):010x}"


def json_headers(request_id: str, extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
    headers = [JSON_TYPE, (b"x-request-id", request_id.encode())]
    if extra:
        headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    return headers


class Request:
    """One HTTP request: its scope, its body (read on demand, within a size limit) and its id."""

    __slots__ = ("_headers", "method", "path", "receive", "request_id", "scope", "send",
                 "started", "wall_start")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.started = time.perf_counter()
        self.wall_start = time.time()
        self.request_id = new_request_id()
        self._headers: dict[bytes, bytes] | None = None

    def header(self, name: bytes) -> str | None:
        if self._headers is None:
            self._headers = dict(self.scope["headers"])
        value = self._headers.get(name)
        return None if value is None else value.decode("latin-1")

    def bearer(self) -> str | None:
        """The key the client sent: ``Authorization: Bearer ...`` (or Azure's ``api-key``)."""
        auth = self.header(b"authorization")
        if auth:
            scheme, _, token = auth.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
        return self.header(b"api-key") or None

    def query(self) -> dict[str, str]:
        raw = self.scope.get("query_string", b"").decode("latin-1")
        return dict(parse_qsl(raw, keep_blank_values=True))

    async def body(self, limit: int) -> bytes:
        """The whole body, or 413 as soon as it is known to be larger than ``limit`` bytes."""
        length = self.header(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise GatewayError.bad_request("Content-Length is not a number.") from None
            if declared > limit:
                raise _too_large(limit)
        parts: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                parts.append(chunk)
            if not message.get("more_body", False):
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def json(self, limit: int) -> Any:
        data = await self.body(limit)
        if not data:
            raise GatewayError.bad_request("The request body is empty; send a JSON object.",
                                           code="invalid_json")
        try:
            return from_json(data)
        except ValueError as exc:
            raise GatewayError.bad_request(f"The request body is not valid JSON: {exc}",
                                           code="invalid_json") from None

    async def json_object(self, limit: int) -> dict[str, Any]:
        body = await self.json(limit)
        if not isinstance(body, dict):
            raise GatewayError.bad_request("The request body must be a JSON object.",
                                           code="invalid_json")
        return body

    async def respond(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


class ClientGone(Exception):
    """The client went away before its request was read."""


def _too_large(limit: int) -> GatewayError:
    mb = limit / (1024 * 1024)
    return GatewayError(413, "invalid_request_error", "request_too_large",
                        f"The request body is larger than the gateway's limit of {mb:g} MB "
                        "(general_settings.max_request_size_mb).")
