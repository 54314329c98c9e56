"""Running user callbacks: in order, each guarded, ``async`` ones awaited or run to completion.

A callback that raises is logged on ``logging.getLogger("llmrelay")`` and never changes the
call's result. An ``async`` method reached from sync code (``completion()``, a stream's
``__next__``, a deferred report) runs on one private event loop thread and is waited for, so it
has finished before the call returns, whether or not the calling thread runs a loop of its own.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from typing import Any, Awaitable, Iterable

__all__ = ["LOG", "anotify", "notify", "run_to_completion"]

LOG = logging.getLogger("llmrelay")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_thread: threading.Thread | None = None


def notify(callbacks: Iterable[Any], method: str, event: Any) -> None:
    """Call ``callback.<method>(event)`` on each callback that has it, from sync code."""
    for callback in callbacks:
        fn = getattr(callback, method, None)
        if fn is None:
            continue
        try:
            result = fn(event)
            if inspect.isawaitable(result):
                run_to_completion(result)
        except Exception:
            log_raised(callback, method)


async def anotify(callbacks: Iterable[Any], method: str, event: Any) -> None:
    """``notify`` from async code: an ``async`` method is awaited in the caller's loop."""
    for callback in callbacks:
        fn = getattr(callback, method, None)
        if fn is None:
            continue
        try:
            result = fn(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log_raised(callback, method)


def log_raised(callback: Any, method: str) -> None:
    LOG.exception("llmrelay callback %s.%s raised; the call's result is unchanged",
                  _name(callback), method)


def _name(callback: Any) -> str:
    kind = callback if isinstance(callback, type) else type(callback)
    return getattr(kind, "__qualname__", repr(kind))


async def _wait(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def run_to_completion(awaitable: Awaitable[Any]) -> Any:
    """Run ``awaitable`` on the callbacks' loop thread and wait for it; its error is raised here."""
    loop = _callback_loop()
    if threading.current_thread() is _loop_thread:
        # A callback awaited there made a sync call of its own: that loop is busy with us.
        return _run_in_new_thread(awaitable)
    return asyncio.run_coroutine_threadsafe(_wait(awaitable), loop).result()


def _callback_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_thread
    with _lock:
        if _loop is None or _loop_thread is None or not _loop_thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="llmrelay-callbacks",
                                      daemon=True)
            thread.start()
            _loop, _loop_thread = loop, thread
        return _loop


def _run_in_new_thread(awaitable: Awaitable[Any]) -> Any:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(_wait(awaitable))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="llmrelay-callback")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
