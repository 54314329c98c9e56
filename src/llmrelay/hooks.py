"""The hook seam of every call: who hears that a call started and how it ended.

User callbacks (``llmrelay.callbacks``, ``callbacks=``) and OpenTelemetry plug in here through
``llmrelay.observe``. With nothing registered, ``begin`` returns ``None`` after a few checks and
the call pays nothing more.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from .meta import CallMeta
    from .scope import CallScope

__all__ = ["HOOKS", "CallRun", "CallStart", "begin"]

# Process-wide observers that want every call, user callbacks or not (OpenTelemetry): objects
# with ``begin(info: CallStart)`` as ``llmrelay.observe.Observer`` describes.
HOOKS: list[Any] = []


@dataclass
class CallStart:
    """What is known when a call starts. ``params`` are the OpenAI parameters as sent (no
    credentials); ``messages`` is the conversation, or the input of an embedding call.

    ``extra={"router": group}`` marks a Router's routed call (its attempts are the calls made
    under it): observers such as OpenTelemetry make it the parent of the attempts until the
    routed call returns (``success`` / ``failure``, or ``stream_open`` for a stream).
    """

    call_type: str
    model: str
    provider: str
    provider_model: str
    params: dict[str, Any]
    messages: Any
    stream: bool
    api_base: str
    callbacks: list[Any]
    scope: "CallScope | None"
    start_time: float
    started: float
    extra: dict[str, Any] = field(default_factory=dict)


class CallRun(Protocol):
    """One observed call. Exactly one ending method is called, once.

    A call that returns a stream calls ``stream_open(stream)`` just before it returns it (the
    observers may keep the chunks it hands out, and release what they made current for the
    call); ``stream_end`` runs later, when the stream ends (``how``: ``"complete"``,
    ``"closed"``, ``"failed"`` with ``error``, or ``"collected"`` from a finalizer, where no
    user code may run inline).
    """

    def stream_open(self, stream: Any) -> None: ...
    def success(self, result: Any, meta: "CallMeta") -> None: ...
    async def asuccess(self, result: Any, meta: "CallMeta") -> None: ...
    def failure(self, error: BaseException, meta: "CallMeta") -> None: ...
    async def afailure(self, error: BaseException, meta: "CallMeta") -> None: ...
    def stream_end(self, meta: "CallMeta", how: str, error: BaseException | None) -> None: ...
    async def astream_end(self, meta: "CallMeta", how: str, error: BaseException | None) -> None: ...


def begin(callbacks: list[Any] | None, scope: "CallScope | None",
          start: Callable[[], CallStart]) -> CallRun | None:
    """The call's observer, or ``None`` when nobody listens. ``start`` builds the ``CallStart``
    only when someone does."""
    global_callbacks = sys.modules["llmrelay"].callbacks
    report = scope is None or scope.report
    if not HOOKS and not (report and (global_callbacks or callbacks)):
        return None
    from .observe import start_run

    info = start()
    info.callbacks = [*global_callbacks, *(callbacks or ())] if report else []
    run: CallRun = start_run(info)
    return run
