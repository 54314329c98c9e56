"""A routed call reports once to the callbacks (the attempts report nothing themselves) and is
one INTERNAL ``router {group}`` span with a CLIENT child per attempt."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import llmrelay
from llmrelay.testing import Emulator
from tests.observe.conftest import OTel, Recorder, make_otel

from .conftest import MESSAGES, MODES, azure, fail, route


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    from llmrelay.observe import flush

    saved = list(llmrelay.callbacks)
    llmrelay.callbacks[:] = []
    yield Recorder()
    flush(5)
    llmrelay.callbacks[:] = saved


@pytest.fixture
def otel() -> Iterator[OTel]:
    from llmrelay.observe import uninstrument_otel

    yield make_otel()
    uninstrument_otel()


def pair(emu: Emulator, **settings: Any) -> llmrelay.Router:
    return llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)],
                           **settings)


@pytest.mark.parametrize("mode", MODES)
def test_one_success_event_with_the_answering_deployment(emu: Emulator, recorder: Recorder,
                                                         mode: str) -> None:
    fail(emu, "a", 500)
    resp = route(mode, pair(emu), callbacks=[recorder], temperature=0.2)
    event = recorder.one("success")
    assert event.response is resp
    assert (event.deployment, event.attempts, event.provider) == ("b", 2, "azure")
    assert event.params == {"temperature": 0.2}
    assert event.latency == resp.meta.latency
    assert event.cost == resp.meta.cost


@pytest.mark.parametrize("mode", MODES)
def test_one_failure_event_with_the_deployment_tried_last(emu: Emulator, recorder: Recorder,
                                                          mode: str) -> None:
    llmrelay.callbacks.append(recorder)
    fail(emu, "a", 500)
    fail(emu, "b", 503)
    with pytest.raises(llmrelay.ServiceUnavailableError):
        route(mode, pair(emu, num_retries=1))
    event = recorder.one("failure")
    assert isinstance(event.exception, llmrelay.ServiceUnavailableError)
    assert (event.deployment, event.attempts) == ("b", 2)


def test_refusals_before_any_request_are_reported(emu: Emulator, recorder: Recorder) -> None:
    router = pair(emu, cooldown_time=30, num_retries=1)
    with pytest.raises(llmrelay.BadRequestError):
        router.completion(model="nope", messages=MESSAGES, callbacks=[recorder])
    assert recorder.one("failure").attempts == 0
    recorder.events.clear()
    fail(emu, "a", 429)
    fail(emu, "b", 429)
    with pytest.raises(llmrelay.RateLimitError):
        router.completion(model="chat", messages=MESSAGES)
    with pytest.raises(llmrelay.NoDeploymentAvailableError):
        router.completion(model="chat", messages=MESSAGES, callbacks=[recorder])
    event = recorder.one("failure")
    assert (event.deployment, event.attempts) == (None, 0)


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_reports_once_at_its_end(emu: Emulator, recorder: Recorder, mode: str) -> None:
    fail(emu, "a", 500)
    stream, _ = route(mode, pair(emu), stream=True, callbacks=[recorder])
    event = recorder.one("success")
    assert (event.deployment, event.attempts, event.stream) == ("b", 2, True)
    assert event.usage is not None and event.usage.total_tokens > 0
    assert stream.meta.time_to_first_token is not None
    assert stream.meta.time_to_first_token <= stream.meta.latency


@pytest.mark.parametrize("mode", MODES)
def test_span_tree_router_then_one_client_span_per_attempt(emu: Emulator, otel: OTel,
                                                           mode: str) -> None:
    fail(emu, "a", 500)
    route(mode, pair(emu))
    spans = {s.name: s for s in otel.finished()}
    assert set(spans) == {"router chat", "chat a", "chat b"}
    routed, failed, answered = spans["router chat"], spans["chat a"], spans["chat b"]
    assert routed.kind is SpanKind.INTERNAL and routed.parent is None
    for child in (failed, answered):
        assert child.kind is SpanKind.CLIENT
        assert child.parent is not None and child.parent.span_id == routed.context.span_id
    assert failed.attributes["llmrelay.deployment"] == "a"
    assert failed.attributes["error.type"] == "InternalServerError"
    assert failed.status.status_code is StatusCode.ERROR
    assert routed.attributes["llmrelay.deployment"] == "b"
    assert routed.attributes["llmrelay.attempts"] == 2


async def test_routed_stream_span_ends_with_the_stream(emu: Emulator, otel: OTel) -> None:
    stream = await pair(emu).acompletion(model="chat", messages=MESSAGES, stream=True)
    assert [s.name for s in otel.finished()] == []
    chunks = [c async for c in stream]
    assert chunks
    await asyncio.sleep(0)
    assert {s.name for s in otel.finished()} == {"router chat", "chat a"}


def test_event_params_hold_no_credentials(emu: Emulator, recorder: Recorder) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a")])
    router.completion(model="chat", messages=MESSAGES, callbacks=[recorder], top_p=0.5,
                      aws_secret_access_key="s3cr3t", api_key="k",
                      extra_headers={"x-api-key": "k2"})
    assert recorder.one("success").params == {"top_p": 0.5}
