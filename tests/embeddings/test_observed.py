"""An embedding call as callbacks, OpenTelemetry and pricing see it: reported once (batches
and retries included) with ``call_type="embedding"``, one span, the cost summed per batch."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import llmrelay
from llmrelay.observe import flush
from llmrelay.scope import CallScope, scoped
from llmrelay.testing import Emulator
from tests.helpers import at, embed
from tests.observe.conftest import OTel, make_otel

MODES = ["sync", "async"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, llmrelay.CallEvent]] = []

    def on_success(self, event: llmrelay.CallEvent) -> None:
        self.events.append(("success", event))

    def on_failure(self, event: llmrelay.CallEvent) -> None:
        self.events.append(("failure", event))

    def one(self, kind: str) -> llmrelay.CallEvent:
        assert [k for k, _ in self.events] == [kind], self.events
        return self.events[0][1]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    saved = list(llmrelay.callbacks)
    llmrelay.callbacks.clear()
    yield Recorder()
    flush(5)
    llmrelay.callbacks[:] = saved


@pytest.fixture
def otel() -> Iterator[OTel]:
    from llmrelay.observe import uninstrument_otel

    yield make_otel()
    uninstrument_otel()


@pytest.mark.parametrize("mode", MODES)
def test_one_success_event_for_a_batched_call(mode: str, emulator: Emulator,
                                              recorder: Recorder) -> None:
    emulator.fail(503, headers={"retry-after-ms": "1"}, provider="cohere", text='"t100"')
    inputs = [f"t{i}" for i in range(200)]
    resp = embed(mode, model="cohere/embed-v4.0", input=inputs, dimensions=256,
                 input_type="search_query", callbacks=[recorder], **at(emulator, "cohere"))
    event = recorder.one("success")
    assert event.call_type == "embedding"
    assert (event.provider, event.model) == ("cohere", "embed-v4.0")
    assert event.params == {"dimensions": 256, "input_type": "search_query"}
    assert event.messages == inputs
    assert event.response is resp and event.meta is resp.meta
    assert event.usage is not None and event.usage.prompt_tokens == 200
    assert event.attempts == 4  # three batches, one retried
    assert event.stream is False and event.cache_hit is False
    assert event.cost == resp.meta.cost


@pytest.mark.parametrize("mode", MODES)
def test_one_failure_event(mode: str, emulator: Emulator, recorder: Recorder) -> None:
    emulator.fail(400, provider="cohere", text='"t150"')
    with pytest.raises(llmrelay.BadRequestError) as info:
        embed(mode, model="cohere/embed-v4.0", input=[f"t{i}" for i in range(200)],
              callbacks=[recorder], **at(emulator, "cohere"))
    event = recorder.one("failure")
    assert event.call_type == "embedding" and event.exception is info.value
    assert event.response is None


def test_refused_before_any_request_is_reported(recorder: Recorder, emulator: Emulator) -> None:
    llmrelay.callbacks.append(recorder)
    with pytest.raises(llmrelay.BadRequestError):
        llmrelay.embedding(model="claude-3-5-haiku-latest", input="x")
    event = recorder.one("failure")
    assert event.call_type == "embedding" and emulator.count() == 0


def test_a_wrapper_scope_names_the_deployment_and_silences_callbacks(
    emulator: Emulator, recorder: Recorder
) -> None:
    llmrelay.callbacks.append(recorder)
    with scoped(CallScope(deployment="eu-embed", report=False)):
        resp = llmrelay.embedding(model="text-embedding-3-small", input="x",
                                  **at(emulator, "openai"))
    assert resp.meta.deployment == "eu-embed" and recorder.events == []


def test_one_span_per_embedding_call(emulator: Emulator, otel: OTel) -> None:
    llmrelay.embedding(model="text-embedding-3-small", input=["a", "b"], dimensions=64,
                       **at(emulator, "openai"))
    span = otel.one_span()
    assert span.name == "embeddings text-embedding-3-small" and span.kind is SpanKind.CLIENT
    attrs: dict[str, Any] = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.embeddings.dimension.count"] == 64
    assert attrs["gen_ai.usage.input_tokens"] == 2


def test_a_failed_embedding_span(emulator: Emulator, otel: OTel) -> None:
    with pytest.raises(llmrelay.NotFoundError):
        llmrelay.embedding(model="openai/missing-embedder", input="x", **at(emulator, "openai"))
    span = otel.one_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "NotFoundError"


@pytest.mark.parametrize("mode", MODES)
def test_cost_is_summed_over_batches(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model="cohere/embed-v4.0", input=[f"t{i}" for i in range(200)],
                 **at(emulator, "cohere"))
    price = llmrelay.model_info("cohere/embed-v4.0").input_cost_per_token
    assert price is not None and len(resp.meta.parts) == 3
    assert resp.meta.cost == pytest.approx(200 * price)
    assert llmrelay.completion_cost(resp) == pytest.approx(200 * price)


def test_cost_of_a_single_openai_batch(emulator: Emulator) -> None:
    resp = llmrelay.embedding(model="text-embedding-3-small", input=["one two", "three"],
                              **at(emulator, "openai"))
    price = llmrelay.model_info("text-embedding-3-small").input_cost_per_token
    assert resp.meta.cost == pytest.approx(3 * price)  # type: ignore[operator]
