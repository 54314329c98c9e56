"""The OpenTelemetry observer: a CLIENT span per provider call, an INTERNAL ``router {group}``
span around a Router's attempts, and the GenAI client metrics. Imports OpenTelemetry (API only).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from opentelemetry import context, metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .attributes import (
    error_type,
    operation,
    provider_name,
    request_attributes,
    response_attributes,
    server_of,
    usage_counts,
)
from .content import input_messages, output_messages

if TYPE_CHECKING:
    from ..hooks import CallStart
    from .event import CallEvent

__all__ = ["OTelObserver"]

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
# The conventions' advisory bucket boundaries for the two client histograms.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class OTelObserver:
    """What ``instrument_otel`` puts in ``hooks.HOOKS``."""

    llmrelay_otel = True

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None,
                 capture_content: bool = False) -> None:
        from .. import __version__

        self.tracer = trace.get_tracer("llmrelay", __version__, tracer_provider,
                                       schema_url=SCHEMA_URL)
        meter = metrics.get_meter("llmrelay", __version__, meter_provider, schema_url=SCHEMA_URL)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS)
        self.capture_content = capture_content

    def begin(self, info: "CallStart") -> "ClientSpan | RouterSpan":
        router = info.extra.get("router")
        if router is None or router is False:
            return ClientSpan(self, info)
        group = info.extra.get("group") if router is True else router
        return RouterSpan(self, info, str(group if group is not None else info.model))

    def content(self, info: "CallStart") -> dict[str, Any]:
        if not self.capture_content or info.call_type == "embedding":
            return {}
        return {"gen_ai.input.messages": _json(input_messages(info.messages))}

    def outcome(self, span: Any, event: "CallEvent", attrs: dict[str, Any]) -> None:
        """Set what the call's end says on ``span`` and end it at the call's end time."""
        error = event.exception
        if error is not None:
            attrs["error.type"] = error_type(error)
            span.set_status(Status(StatusCode.ERROR, str(error)))
        elif self.capture_content and event.call_type != "embedding" and event.response is not None:
            attrs["gen_ai.output.messages"] = _json(output_messages(event.response))
        span.set_attributes(attrs)
        span.end(end_time=_ns(event.end_time))


class ClientSpan:
    """One provider call: span ``{operation} {model}`` (kind CLIENT) and its metrics."""

    __slots__ = ("base", "observer", "span")

    def __init__(self, observer: OTelObserver, info: "CallStart") -> None:
        self.observer = observer
        op = operation(info.call_type)
        model = info.provider_model or info.model
        base: dict[str, Any] = {"gen_ai.operation.name": op}
        provider = provider_name(info.provider)
        if provider:
            base["gen_ai.provider.name"] = provider
        if model:
            base["gen_ai.request.model"] = model
        server = server_of(info.api_base) if info.api_base else None
        if server is not None:
            base["server.address"], base["server.port"] = server
        self.base = base
        attrs = {**base, **request_attributes(info), **observer.content(info)}
        deployment = info.scope.deployment if info.scope is not None else None
        if deployment:
            attrs["llmrelay.deployment"] = deployment
        self.span = observer.tracer.start_span(f"{op} {model}", kind=SpanKind.CLIENT,
                                               attributes=attrs, start_time=_ns(info.start_time))

    def release(self) -> None:
        """Nothing was made current for a provider call."""

    def end(self, event: "CallEvent") -> None:
        attrs = response_attributes(event)
        if "gen_ai.provider.name" not in self.base and event.provider:
            # Refused before routing: the provider is known only from the error.
            self.base["gen_ai.provider.name"] = attrs["gen_ai.provider.name"] = provider_name(
                event.provider)
        if self.span.is_recording():
            self.observer.outcome(self.span, event, attrs)
        else:
            self.span.end(end_time=_ns(event.end_time))
        self.record(event, attrs.get("gen_ai.response.model"))

    def record(self, event: "CallEvent", response_model: str | None) -> None:
        labels = dict(self.base)
        if response_model:
            labels["gen_ai.response.model"] = response_model
        if event.exception is not None:
            labels["error.type"] = error_type(event.exception)
        observer = self.observer
        if event.latency is not None:
            observer.duration.record(event.latency, labels)
        input_tokens, output_tokens = usage_counts(event)
        if input_tokens is not None:
            observer.tokens.record(input_tokens, {**labels, "gen_ai.token.type": "input"})
        if output_tokens is not None:
            observer.tokens.record(output_tokens, {**labels, "gen_ai.token.type": "output"})


class RouterSpan:
    """A Router call: span ``router {group}`` (kind INTERNAL), made current from the start of the
    routed call until it returns, so each attempt's CLIENT span is its child."""

    __slots__ = ("observer", "span", "token")

    def __init__(self, observer: OTelObserver, info: "CallStart", group: str) -> None:
        self.observer = observer
        attrs = {"gen_ai.operation.name": operation(info.call_type),
                 "gen_ai.request.model": group, "llmrelay.router.group": group,
                 **request_attributes(info), **observer.content(info)}
        self.span = observer.tracer.start_span(f"router {group}", kind=SpanKind.INTERNAL,
                                               attributes=attrs, start_time=_ns(info.start_time))
        self.token: Any = context.attach(trace.set_span_in_context(self.span))

    def release(self) -> None:
        token, self.token = self.token, None
        # Only where it was made current: a Router that returned a stream without saying so
        # (``stream_open``) may end it from another context, where there is nothing to undo.
        if token is not None and trace.get_current_span() is self.span:
            context.detach(token)

    def end(self, event: "CallEvent") -> None:
        self.release()
        attrs = response_attributes(event)
        provider = provider_name(event.provider)
        if provider:
            attrs["gen_ai.provider.name"] = provider
        if event.deployment:
            attrs["llmrelay.deployment"] = event.deployment
        attrs["llmrelay.attempts"] = event.attempts
        if self.span.is_recording():
            self.observer.outcome(self.span, event, attrs)
        else:
            self.span.end(end_time=_ns(event.end_time))
