"""Fixtures for callbacks and OpenTelemetry: a recording callback, in-memory span exporter and
metric reader (the OpenTelemetry SDK, test-only), and a clean global callback list."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmrelay
from llmrelay.observe import flush, instrument_otel, uninstrument_otel


class Recorder:
    """A callback that keeps every event, with where and how it was called."""

    def __init__(self) -> None:
        self.events: list[tuple[str, llmrelay.CallEvent]] = []
        self.threads: list[str] = []

    def on_success(self, event: llmrelay.CallEvent) -> None:
        self.events.append(("success", event))
        self.threads.append(threading.current_thread().name)

    def on_failure(self, event: llmrelay.CallEvent) -> None:
        self.events.append(("failure", event))
        self.threads.append(threading.current_thread().name)

    def one(self, kind: str) -> llmrelay.CallEvent:
        assert [k for k, _ in self.events] == [kind], self.events
        return self.events[0][1]


class AsyncRecorder(Recorder):
    """``async def`` methods that really wait before they record."""

    async def on_success(self, event: llmrelay.CallEvent) -> None:  # type: ignore[override]
        await asyncio.sleep(0.01)
        super().on_success(event)

    async def on_failure(self, event: llmrelay.CallEvent) -> None:  # type: ignore[override]
        await asyncio.sleep(0.01)
        super().on_failure(event)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(autouse=True)
def _clean_callbacks() -> Iterator[None]:
    saved = list(llmrelay.callbacks)
    llmrelay.callbacks.clear()
    yield
    flush(5)
    llmrelay.callbacks[:] = saved


@dataclass
class OTel:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    metrics_seen: dict[str, Any] = field(default_factory=dict)

    def finished(self) -> list[ReadableSpan]:
        flush(5)
        return list(self.spans.get_finished_spans())

    def one_span(self) -> ReadableSpan:
        spans = self.finished()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def points(self, name: str) -> list[Any]:
        """Histogram data points of metric ``name`` (cumulative since the fixture started)."""
        data = self.reader.get_metrics_data()
        out: list[Any] = []
        for resource in data.resource_metrics if data is not None else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        self.metrics_seen[name] = metric
                        out += list(metric.data.data_points)
        return out


def make_otel(capture_content: bool = False) -> OTel:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    instrument_otel(tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]),
                    capture_content=capture_content)
    return OTel(spans, reader, provider)


@pytest.fixture
def otel() -> Iterator[OTel]:
    yield make_otel()
    uninstrument_otel()


@pytest.fixture
def otel_content() -> Iterator[OTel]:
    yield make_otel(capture_content=True)
    uninstrument_otel()
