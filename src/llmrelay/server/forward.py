"""A Router stream forwarded to the client as SSE, chunk by chunk, noting what it delivered:
the text (what a disconnect is billed for), the usage if the provider sent it, how it ended.

A client that goes away cancels the forwarding (and with it the upstream call); so does the
end of the shutdown grace, which the caller re-raises once the row is written.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..exceptions import APIError
from .errors import GatewayError, from_upstream

if TYPE_CHECKING:
    from .http import Request

__all__ = ["Forwarded"]

log = logging.getLogger("llmrelay.server")


class Forwarded:
    """What one forwarded stream delivered. ``ending``: ``complete``, ``error`` (the provider
    failed midway: ``error`` holds the answer), ``disconnected`` (the client left) or ``cut``
    (the task was cancelled, by the shutdown)."""

    __slots__ = ("ending", "error", "include_usage", "model", "texts", "usage")

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.texts: list[str] = []
        self.usage: Any = None
        self.model: str | None = None
        self.error: GatewayError | None = None
        self.ending = "complete"

    @property
    def text(self) -> str:
        return "".join(self.texts)

    async def run(self, stream: Any, request: Request, secrets: tuple[str, ...]) -> None:
        """Send every chunk as it comes; returns however the stream ends (never raises for a
        provider error or a disconnect: the caller bills and ends the answer)."""
        handler = asyncio.current_task()
        state = {"done": False, "left": False}

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            if not state["done"] and handler is not None:
                state["left"] = True
                handler.cancel()

        watcher = asyncio.get_running_loop().create_task(watch())
        try:
            await self._forward(stream, request)
        except APIError as exc:
            self.ending, self.error = "error", from_upstream(exc, secrets)
        except asyncio.CancelledError:
            self.ending = "disconnected" if state["left"] else "cut"
            uncancel = getattr(handler, "uncancel", None)
            if state["left"] and uncancel is not None:
                uncancel()  # the client's leaving is handled here, not a cancellation to pass on
        finally:
            state["done"] = True
            watcher.cancel()
            if self.ending != "complete":  # the provider stops generating what nobody reads
                await _close(stream)

    async def _forward(self, stream: Any, request: Request) -> None:
        send = request.send
        async for chunk in stream:
            if self.model is None:
                self.model = chunk.model
            if chunk.usage is not None:
                self.usage = chunk.usage
            if chunk.choices:
                for choice in chunk.choices:
                    _collect(choice.delta, self.texts)
            elif chunk.usage is not None and not self.include_usage:
                continue  # the usage-only chunk the client did not ask for
            await send({"type": "http.response.body",
                        "body": b"data: " + chunk.model_dump_json().encode() + b"\n\n",
                        "more_body": True})


def _collect(delta: Any, texts: list[str]) -> None:
    """The text a delta adds (content, tool arguments, reasoning)."""
    if delta.content:
        texts.append(delta.content)
    for call in delta.tool_calls or ():
        if call.function is not None and call.function.arguments:
            texts.append(call.function.arguments)
    if delta.function_call is not None and delta.function_call.arguments:
        texts.append(delta.function_call.arguments)
    reasoning = getattr(delta, "reasoning_content", None)
    if isinstance(reasoning, str) and reasoning:
        texts.append(reasoning)


async def _close(stream: Any) -> None:
    """Close the upstream stream (its connection goes, the provider stops generating)."""
    try:
        await asyncio.shield(stream.aclose())
    except (APIError, OSError, asyncio.CancelledError):
        pass
    except Exception as exc:  # a close must never turn a billed answer into a 500
        log.debug("closing an upstream stream failed: %s", type(exc).__name__)
