"""``instrument_otel``: turn on OpenTelemetry spans and metrics for every call in the process.

OpenTelemetry is imported here only when the function is called (extra ``llmrelay[otel]``).
"""

from __future__ import annotations

from typing import Any

from .. import hooks

__all__ = ["instrument_otel", "uninstrument_otel"]


def instrument_otel(tracer_provider: Any = None, meter_provider: Any = None,
                    capture_content: bool = False) -> None:
    """Emit GenAI semantic-convention spans and metrics for every call in this process.

    ``tracer_provider`` / ``meter_provider`` default to OpenTelemetry's global ones. With
    ``capture_content=True`` spans carry the messages sent and received (the
    ``gen_ai.input.messages`` / ``gen_ai.output.messages`` attributes, as JSON strings). Calling
    it again replaces the earlier instrumentation; ``uninstrument_otel()`` (in
    ``llmrelay.observe``) turns it off.

    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> llmrelay.instrument_otel(tracer_provider=TracerProvider())
    """
    try:
        from .spans import OTelObserver
    except ImportError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise ImportError("llmrelay.instrument_otel needs OpenTelemetry: "
                          "pip install 'llmrelay[otel]'") from exc
    observer = OTelObserver(tracer_provider, meter_provider, capture_content)
    hooks.HOOKS[:] = [*_others(), observer]


def uninstrument_otel() -> None:
    """Stop what ``instrument_otel`` started (calls already running still end their spans)."""
    hooks.HOOKS[:] = _others()


def _others() -> list[Any]:
    return [h for h in hooks.HOOKS if not getattr(h, "llmrelay_otel", False)]
