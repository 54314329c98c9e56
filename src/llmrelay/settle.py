"""How a call ended, written down: ``resp.meta`` filled from the requests that answered, and the
hooks told. One place for plain answers, fan-outs and streams alike.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import hooks
from .fanout import sum_usage
from .hooks import CallStart
from .meta import CallMeta

if TYPE_CHECKING:
    from .call import Call
    from .exceptions import APIError
    from .hooks import CallRun
    from .scope import CallScope

__all__ = ["StreamSettle", "areport_unprepared", "call_start", "new_meta", "report_unprepared",
           "settle"]


def new_meta(calls: "list[Call]", written: str, scope: "CallScope | None") -> CallMeta:
    call = calls[0]
    if scope is None:
        return CallMeta(call.adapter.name, call.ctx.model, written=written)
    return CallMeta(call.adapter.name, call.ctx.model, written=written,
                    deployment=scope.deployment, base_model=scope.base_model)


def settle(meta: CallMeta, calls: "list[Call]", started: float) -> None:
    """Fill ``meta`` from what the calls' answers said (a failed call leaves no part)."""
    call = calls[0]
    latency = time.perf_counter() - started
    if len(calls) == 1:
        model, usage = call.model, call.usage
        answered = model is not None or usage is not None
        meta.settle(latency, call.attempts, usage, [(model, usage)] if answered else [],
                    model or call.ctx.model, call.first_chunk_at, started, call.response)
        return
    meta.settle(latency, sum(c.attempts for c in calls), sum_usage([c.usage for c in calls]),
                [(c.model, c.usage) for c in calls if c.model is not None or c.usage is not None],
                call.model or call.ctx.model, call.first_chunk_at, started, call.response)


def call_start(call_type: str, written: str, calls: "list[Call]", messages: Any,
               params: dict[str, Any], scope: "CallScope | None", started: float) -> CallStart:
    """The ``CallStart`` the hooks get (built only when somebody listens)."""
    call = calls[0]
    return CallStart(
        call_type=call_type, model=written, provider=call.provider,
        provider_model=call.ctx.model,
        params={k: v for k, v in params.items() if v is not None}, messages=messages,
        stream=call.stream, api_base=call.ctx.settings.base_url, callbacks=[], scope=scope,
        start_time=time.time() - (time.perf_counter() - started), started=started,
    )


class StreamSettle:
    """A stream's ``on_end``: settles ``meta`` and tells the call's observer, once."""

    __slots__ = ("calls", "meta", "run", "started")

    def __init__(self, meta: CallMeta, calls: "list[Call]", started: float,
                 run: "CallRun | None") -> None:
        self.meta = meta
        self.calls = calls
        self.started = started
        self.run = run

    def end(self, how: str, error: BaseException | None) -> None:
        settle(self.meta, self.calls, self.started)
        if self.run is not None:
            self.run.stream_end(self.meta, how, error)

    async def aend(self, how: str, error: BaseException | None) -> None:
        settle(self.meta, self.calls, self.started)
        if self.run is not None:
            await self.run.astream_end(self.meta, how, error)


def _unprepared_start(call_type: str, model: str, callbacks: list[Any] | None,
                      scope: "CallScope | None") -> "CallRun | None":
    """A call refused before any request (bad input, no key) is still reported as failed."""

    def start() -> CallStart:
        now = time.perf_counter()
        return CallStart(call_type, model, "", model, {}, None, False, "", [], scope,
                         time.time(), now)

    return hooks.begin(callbacks, scope, start)


def report_unprepared(call_type: str, exc: "APIError", model: str,
                      callbacks: list[Any] | None, scope: "CallScope | None") -> None:
    run = _unprepared_start(call_type, model, callbacks, scope)
    if run is not None:
        run.failure(exc, CallMeta(exc.provider, exc.model, written=model))


async def areport_unprepared(call_type: str, exc: "APIError", model: str,
                             callbacks: list[Any] | None, scope: "CallScope | None") -> None:
    run = _unprepared_start(call_type, model, callbacks, scope)
    if run is not None:
        await run.afailure(exc, CallMeta(exc.provider, exc.model, written=model))
