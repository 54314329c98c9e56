"""One observed call (``hooks.CallRun``): when it ends, build the ``CallEvent`` once and tell the
process-wide observers (``hooks.HOOKS``, e.g. OpenTelemetry), then the user callbacks.

``start_run`` is what ``hooks.begin`` imports, only when somebody listens.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from .. import hooks
from .deferred import defer, start_worker
from .dispatch import LOG, anotify, notify
from .event import CallEvent, public_params

if TYPE_CHECKING:
    from ..hooks import CallStart
    from ..meta import CallMeta

__all__ = ["Observer", "ObserverCall", "Run", "start_run"]


class ObserverCall(Protocol):
    """An observer's handle on one call."""

    def release(self) -> None:
        """The call returned a stream that goes on: undo what ``begin`` made current."""

    def end(self, event: CallEvent) -> None:
        """The call ended (for a stream: the stream did). Also releases, if not done yet."""


class Observer(Protocol):
    """What ``hooks.HOOKS`` holds: ``begin`` is called as each call starts (``None``: not
    interested in this one). It must not raise; if it does, the error is logged."""

    def begin(self, info: "CallStart") -> ObserverCall | None: ...


_warned: set[type] = set()


def start_run(info: "CallStart") -> "Run":
    observing = []
    for observer in tuple(hooks.HOOKS):
        try:
            handle = observer.begin(info)
        except Exception:
            LOG.exception("llmrelay: observer %r failed to start", observer)
            continue
        if handle is not None:
            observing.append(handle)
    for callback in info.callbacks:
        _check(callback)
    return Run(info, observing)


def _check(callback: Any) -> None:
    kind = type(callback)
    if kind not in _warned and not (hasattr(callback, "on_success")
                                    or hasattr(callback, "on_failure")):
        _warned.add(kind)
        LOG.warning("llmrelay callback %r has neither on_success nor on_failure; it is never "
                    "called", callback)


class Run:
    """``hooks.CallRun`` for one call. ``chunks`` holds what a stream handed out, and only
    while someone listens (a stream is tapped only when a run exists)."""

    __slots__ = ("chunks", "done", "info", "observing")

    def __init__(self, info: "CallStart", observing: list[ObserverCall]) -> None:
        self.info = info
        self.observing = observing
        self.chunks: list[Any] | None = None
        self.done = False

    # -- plain answers -------------------------------------------------------------------------

    def success(self, result: Any, meta: "CallMeta") -> None:
        if self._first_end():
            self._deliver(self._event(meta, result, None))

    async def asuccess(self, result: Any, meta: "CallMeta") -> None:
        if self._first_end():
            await self._adeliver(self._event(meta, result, None))

    def failure(self, error: BaseException, meta: "CallMeta") -> None:
        if self._first_end():
            self._deliver(self._event(meta, None, error))

    async def afailure(self, error: BaseException, meta: "CallMeta") -> None:
        if self._first_end():
            await self._adeliver(self._event(meta, None, error))

    # -- streams -------------------------------------------------------------------------------

    def stream_open(self, stream: Any) -> None:
        self.chunks = []
        stream.tap(self.chunks)
        start_worker()
        for handle in self.observing:
            try:
                handle.release()
            except Exception:
                LOG.exception("llmrelay: observer %r failed", handle)

    def stream_end(self, meta: "CallMeta", how: str, error: BaseException | None) -> None:
        if not self._first_end():
            return
        if how == "collected":
            # From a finalizer: no user code (nor exporters, which take locks) may run here.
            defer(lambda: self._deliver(self._stream_event(meta, error)))
        else:
            self._deliver(self._stream_event(meta, error))

    async def astream_end(self, meta: "CallMeta", how: str, error: BaseException | None) -> None:
        if self._first_end():
            await self._adeliver(self._stream_event(meta, error))

    # -- internals -----------------------------------------------------------------------------

    def _first_end(self) -> bool:
        if self.done:
            return False
        self.done = True
        return True

    def _stream_event(self, meta: "CallMeta", error: BaseException | None) -> CallEvent:
        chunks, self.chunks = self.chunks or [], None
        return self._event(meta, None, error, None if error is not None else chunks)

    def _event(self, meta: "CallMeta", response: Any, error: BaseException | None,
               chunks: list[Any] | None = None) -> CallEvent:
        info = self.info
        latency = meta.latency
        if latency is None:  # refused before any request: nothing settled the meta
            latency = max(time.time() - info.start_time, 0.0)
        return CallEvent(
            call_type=info.call_type, provider=meta.provider or info.provider or None,
            model=meta.model or info.provider_model or None, deployment=meta.deployment,
            params=public_params(info.params), messages=info.messages, response=response,
            exception=error, usage=meta.usage, latency=latency,
            time_to_first_token=meta.time_to_first_token, attempts=meta.attempts,
            cache_hit=meta.cache_hit, stream=info.stream, start_time=info.start_time,
            end_time=info.start_time + latency, meta=meta, chunks=chunks,
        )

    def _tell_observers(self, event: CallEvent) -> None:
        for handle in self.observing:
            try:
                handle.end(event)
            except Exception:
                LOG.exception("llmrelay: observer %r failed", handle)

    def _deliver(self, event: CallEvent) -> None:
        self._tell_observers(event)
        if self.info.callbacks:
            notify(self.info.callbacks, _method(event), event)

    async def _adeliver(self, event: CallEvent) -> None:
        self._tell_observers(event)
        if self.info.callbacks:
            await anotify(self.info.callbacks, _method(event), event)


def _method(event: CallEvent) -> str:
    return "on_success" if event.exception is None else "on_failure"
