"""Callbacks and OpenTelemetry: who hears how each call went (API.md "Callbacks and OpenTelemetry").

Loaded on first use: by ``hooks.begin`` when somebody listens, or for ``llmrelay.CallEvent`` /
``llmrelay.instrument_otel``. OpenTelemetry itself is imported only by ``instrument_otel``.
"""

from .deferred import flush
from .event import CallEvent
from .otel import instrument_otel, uninstrument_otel
from .run import Observer, ObserverCall, start_run

__all__ = ["CallEvent", "Observer", "ObserverCall", "flush", "instrument_otel", "start_run",
           "uninstrument_otel"]
