"""A Router call through the hook seam (``tests/observe/minirouter.py`` uses it as
``llmrelay.Router`` must): callbacks once for the routed call with every attempt counted, and one
INTERNAL ``router {group}`` span with one CLIENT child per attempt."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, at
from tests.observe.conftest import OTel, Recorder
from tests.observe.minirouter import MiniRouter

MODES = ["sync", "async"]


def router(emulator: Emulator) -> MiniRouter:
    return MiniRouter("chat", [
        ("eu", {"model": "gpt-4o-mini", **at(emulator, "openai")}),
        ("backup", {"model": "claude-3-5-haiku-latest", **at(emulator, "anthropic")}),
    ])


def by_name(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


def check_tree(spans: list[ReadableSpan]) -> tuple[ReadableSpan, ReadableSpan, ReadableSpan]:
    named = by_name(spans)
    assert set(named) == {"router chat", "chat gpt-4o-mini", "chat claude-3-5-haiku-latest"}
    routed, failed, answered = (named["router chat"], named["chat gpt-4o-mini"],
                                named["chat claude-3-5-haiku-latest"])
    assert routed.kind is SpanKind.INTERNAL and routed.parent is None
    for child in (failed, answered):
        assert child.kind is SpanKind.CLIENT
        assert child.parent is not None
        assert child.parent.span_id == routed.context.span_id
        assert child.context.trace_id == routed.context.trace_id
    assert failed.attributes["error.type"] == "InternalServerError"
    assert failed.attributes["llmrelay.deployment"] == "eu"
    assert failed.status.status_code is StatusCode.ERROR
    assert "error.type" not in answered.attributes
    assert answered.attributes["llmrelay.deployment"] == "backup"
    assert answered.attributes["gen_ai.provider.name"] == "anthropic"
    assert routed.start_time <= failed.start_time <= answered.end_time <= routed.end_time
    return routed, failed, answered


@pytest.mark.parametrize("mode", MODES)
def test_routed_call_one_report_and_a_span_tree(
    emulator: Emulator, otel: OTel, recorder: Recorder, mode: str
) -> None:
    emulator.fail(500, provider="openai")
    llmrelay.callbacks.append(recorder)
    r = router(emulator)

    async def routed() -> Any:
        resp = await r.acompletion(MESSAGES, temperature=0.3)
        assert trace.get_current_span() is trace.INVALID_SPAN  # released when the call returned
        return resp

    if mode == "sync":
        resp = r.completion(MESSAGES, temperature=0.3)
    else:
        resp = asyncio.run(routed())
    assert trace.get_current_span() is trace.INVALID_SPAN
    event = recorder.one("success")  # once: the attempts report nothing themselves
    assert event.response is resp
    assert (event.deployment, event.provider, event.attempts) == ("backup", "anthropic", 2)
    assert event.params == {"temperature": 0.3}
    routed_span, _, _ = check_tree(otel.finished())
    assert dict(routed_span.attributes or {}) == {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "chat",
        "llmrelay.router.group": "chat", "gen_ai.request.temperature": 0.3,
        "gen_ai.provider.name": "anthropic", "llmrelay.deployment": "backup",
        "llmrelay.attempts": 2, "gen_ai.response.id": resp.id,
        "gen_ai.response.model": resp.model, "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 8,
        "gen_ai.usage.cache_read.input_tokens": 0, "gen_ai.usage.cache_creation.input_tokens": 0,
    }
    # Metrics count provider calls (the CLIENT spans), not the routed call on top of them.
    durations = otel.points("gen_ai.client.operation.duration")
    assert sorted(p.attributes["gen_ai.provider.name"] for p in durations) == ["anthropic", "openai"]


@pytest.mark.parametrize("mode", MODES)
def test_routed_call_that_fails_everywhere(
    emulator: Emulator, otel: OTel, recorder: Recorder, mode: str
) -> None:
    emulator.fail(500, provider="openai")
    emulator.fail(500, provider="anthropic")
    r = router(emulator)
    with pytest.raises(llmrelay.InternalServerError) as raised:
        if mode == "sync":
            r.completion(MESSAGES, callbacks=[recorder])
        else:
            asyncio.run(r.acompletion(MESSAGES, callbacks=[recorder]))
    event = recorder.one("failure")
    assert event.exception is raised.value
    assert (event.deployment, event.attempts) == ("backup", 2)
    named = by_name(otel.finished())
    routed = named["router chat"]
    assert routed.status.status_code is StatusCode.ERROR
    assert routed.attributes["error.type"] == "InternalServerError"
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_routed_stream_outlives_the_call(emulator: Emulator, otel: OTel, recorder: Recorder) -> None:
    emulator.fail(500, provider="openai")
    stream = router(emulator).completion(MESSAGES, stream=True, callbacks=[recorder])
    # The call returned: the router's span is no longer current, though the stream goes on.
    assert trace.get_current_span() is trace.INVALID_SPAN
    with otel.tracer_provider.get_tracer("app").start_as_current_span("unrelated") as unrelated:
        assert unrelated.get_span_context().trace_id != 0
    assert [s.name for s in otel.finished()] == ["chat gpt-4o-mini", "unrelated"]
    assert by_name(otel.finished())["unrelated"].parent is None
    chunks = list(stream)
    event = recorder.one("success")
    assert event.attempts == 2 and event.deployment == "backup" and event.stream
    assert event.response.choices[0].message.content == "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices)
    spans = [s for s in otel.finished() if s.name != "unrelated"]
    routed, _, answered = check_tree(spans)
    assert routed.attributes["llmrelay.attempts"] == 2
    assert answered.attributes["gen_ai.request.stream"] is True


async def test_routed_async_stream_outlives_the_call(
    emulator: Emulator, otel: OTel, recorder: Recorder
) -> None:
    emulator.fail(500, provider="openai")
    stream = await router(emulator).acompletion(MESSAGES, stream=True, callbacks=[recorder])
    assert trace.get_current_span() is trace.INVALID_SPAN

    async def consume() -> list[Any]:  # another task: the stream is read elsewhere
        return [c async for c in stream]

    chunks = await asyncio.create_task(consume())
    assert chunks
    assert recorder.one("success").attempts == 2
    check_tree(otel.finished())
