"""One HTTP request of a call, sent with retries, and the ``force_timeout`` bound of an async
call: the loop every kind of call (chat, embeddings) shares.

Every decision (per-attempt timeout, whether and how long to wait, which error) is a method of
``Call``; this module only drives it, sync and async alike.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from . import transport
from .exceptions import APIConnectionError, APIError, Timeout

if TYPE_CHECKING:
    from .call import Call
    from .providers.base import HTTPRequest
    from .transport import AsyncResponse, Response

__all__ = ["asend_with_retries", "send_with_retries", "with_deadline"]


def send_with_retries(call: "Call", request: "HTTPRequest") -> "Response":
    """One request with retries; returns a 2xx response, raises the contract's error."""
    attempt = 0
    first = request is call.request
    while True:
        if first:
            call.attempts += 1
        sent = call.sign(request)  # each attempt signed anew (a fresh timestamp)
        call.log.before(sent.method, sent.url, sent.headers, sent.json, attempt)
        started = time.perf_counter()
        try:
            response = transport.send(sent, call.attempt_timeout())
        except APIConnectionError as exc:
            error: APIError = call.enrich(exc)
            call.log.after(status=None, latency=time.perf_counter() - started,
                           attempt=attempt, exception=error)
        else:
            if response.status < 400:
                if call.log.active:
                    call.log.after(status=response.status, attempt=attempt,
                                   latency=time.perf_counter() - started,
                                   response=response.content.decode("utf-8", "replace") or None)
                call.response = response
                return response
            error = call.error_from(response)
            call.log.after(status=response.status, latency=time.perf_counter() - started,
                           attempt=attempt, response=error.response, exception=error)
        delay = call.retry_delay(error, attempt)
        if delay is None:
            raise error
        time.sleep(delay)
        attempt += 1


async def asend_with_retries(call: "Call", request: "HTTPRequest") -> "AsyncResponse":
    """The async twin of ``send_with_retries``."""
    attempt = 0
    first = request is call.request
    while True:
        if first:
            call.attempts += 1
        sent = call.sign(request)
        call.log.before(sent.method, sent.url, sent.headers, sent.json, attempt)
        started = time.perf_counter()
        try:
            response = await transport.asend(sent, call.attempt_timeout())
        except APIConnectionError as exc:
            error: APIError = call.enrich(exc)
            call.log.after(status=None, latency=time.perf_counter() - started,
                           attempt=attempt, exception=error)
        else:
            if response.status < 400:
                if call.log.active:
                    call.log.after(status=response.status, attempt=attempt,
                                   latency=time.perf_counter() - started,
                                   response=response.content.decode("utf-8", "replace") or None)
                call.response = response
                return response
            error = call.error_from(response)
            call.log.after(status=response.status, latency=time.perf_counter() - started,
                           attempt=attempt, response=error.response, exception=error)
        delay = call.retry_delay(error, attempt)
        if delay is None:
            raise error
        await asyncio.sleep(delay)
        attempt += 1


async def with_deadline(call: "Call", coro: Any) -> Any:
    """Await ``coro`` within what is left of ``call``'s ``force_timeout`` (cancelling it at the
    deadline); ``Timeout`` when it runs out."""
    remaining = call.remaining()
    if remaining is None:
        return await coro
    try:
        return await asyncio.wait_for(coro, max(remaining, 0.0))
    except asyncio.TimeoutError:
        raise call.enrich(Timeout("force_timeout reached before the call finished")) from None
