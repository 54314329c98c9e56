"""Reports that may not run where they arise: a stream garbage-collected unfinished is reported
from its finalizer, where no user code may run, so the report waits on a queue for a worker.

The finalizer only puts on a ``SimpleQueue`` (safe there: its ``put`` is reentrant); one daemon
thread, started by the first observed stream, delivers the reports in order. ``flush()`` waits
for everything queued before it (tests use it; it also runs at interpreter exit).
"""

from __future__ import annotations

import atexit
import queue
import threading
from typing import Callable

from .dispatch import LOG

__all__ = ["defer", "flush", "start_worker"]

_jobs: "queue.SimpleQueue[Callable[[], None]]" = queue.SimpleQueue()
_lock = threading.Lock()
_worker: threading.Thread | None = None


def defer(job: Callable[[], None]) -> None:
    """Run ``job`` on the worker thread, soon. Safe to call from ``__del__``."""
    _jobs.put(job)


def start_worker() -> None:
    """Make sure the worker runs (called when a stream is opened, never from a finalizer)."""
    global _worker
    if _worker is not None and _worker.is_alive():
        return
    with _lock:
        if _worker is None or not _worker.is_alive():
            first = _worker is None
            _worker = threading.Thread(target=_work, name="llmrelay-deferred", daemon=True)
            _worker.start()
            if first:
                atexit.register(flush, 2.0)


def flush(timeout: float | None = None) -> bool:
    """Wait until every report deferred before this call has been delivered; ``False`` if
    ``timeout`` seconds passed first.

    >>> from llmrelay.observe import flush
    >>> del stream                       # an unfinished stream, garbage-collected
    >>> flush()                          # its on_success has run
    """
    worker = _worker
    if worker is None or threading.current_thread() is worker:
        return worker is None
    done = threading.Event()
    _jobs.put(done.set)
    return done.wait(timeout)


def _work() -> None:
    while True:
        job = _jobs.get()
        try:
            job()
        except Exception:
            LOG.exception("llmrelay: a deferred call report failed")
