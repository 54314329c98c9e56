"""Hits and misses on every backend, sync and async: what a hit returns (an equal answer, its
stream replay), what is never stored (errors, partial streams), and the per-call controls."""

from __future__ import annotations

import time
from typing import Any

import pytest

import llmrelay
from llmrelay.scope import CallScope, scoped
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, at, call

MODES = ["sync", "async"]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


def openai(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, **at(emulator, "openai"), **extra}


def built(chunks: list[Any]) -> dict[str, Any]:
    return llmrelay.stream_chunk_builder(chunks).model_dump()


@pytest.mark.parametrize("mode", MODES)
def test_a_hit_sends_nothing_and_returns_an_equal_answer(emulator: Emulator, cache: llmrelay.Cache,
                                                         mode: str) -> None:
    first = call(mode, **openai(emulator))
    second = call(mode, **openai(emulator))
    assert emulator.count() == 1
    assert second == first and second.model_dump() == first.model_dump()
    assert second is not first
    assert first.meta.cache_hit is False and first.meta.attempts == 1 and first.meta.cost > 0
    meta = second.meta
    assert (meta.cache_hit, meta.cost, meta.attempts) == (True, 0.0, 0)
    assert (meta.provider, meta.model, meta.request_id) == ("openai", first.model, None)
    assert meta.usage == first.usage and meta.latency is not None and meta.latency < 0.5


def test_sync_and_async_share_the_cache(emulator: Emulator, cache: llmrelay.Cache) -> None:
    first = call("sync", **openai(emulator))
    assert call("async", **openai(emulator)) == first
    other = call("async", **openai(emulator, temperature=0.5))
    assert call("sync", **openai(emulator, temperature=0.5)) == other
    assert emulator.count() == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("include_usage", [True, False])
def test_a_streamed_hit_is_what_streaming_the_stored_answer_gives(
        emulator: Emulator, cache: llmrelay.Cache, mode: str, include_usage: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    original = call(mode, **openai(emulator, stream=True, **options))
    replayed = call(mode, **openai(emulator, stream=True, **options))
    assert emulator.count() == 1
    assert built(replayed) == built(original)
    text = "".join(c.choices[0].delta.content or "" for c in replayed if c.choices)
    assert text == "".join(c.choices[0].delta.content or "" for c in original if c.choices)
    assert replayed[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in replayed if c.choices][-1] == "stop"
    usage_chunks = [c for c in replayed if not c.choices]
    assert len(usage_chunks) == (1 if include_usage else 0)
    if include_usage:
        assert usage_chunks[0].usage == original[-1].usage
    # The stored answer keeps its usage even when the stream hid it from this caller.
    whole = call(mode, **openai(emulator))
    assert emulator.count() == 1 and whole.meta.cache_hit
    assert whole.usage is not None and whole.usage.total_tokens > 0
    assert whole.choices[0].message.content == text


@pytest.mark.parametrize("mode", MODES)
def test_stream_meta_on_a_hit(emulator: Emulator, cache: llmrelay.Cache, mode: str) -> None:
    call(mode, **openai(emulator))
    stream = llmrelay.completion(**openai(emulator, stream=True))
    chunks = list(stream)
    meta = stream.meta
    assert chunks and (meta.cache_hit, meta.cost, meta.attempts) == (True, 0.0, 0)
    assert meta.usage is not None and meta.time_to_first_token is not None
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_tool_calls_replay_as_a_stream(emulator: Emulator, cache: llmrelay.Cache,
                                       mode: str) -> None:
    original = call(mode, **openai(emulator, tools=TOOLS, stream=True))
    replayed = call(mode, **openai(emulator, tools=TOOLS, stream=True))
    assert emulator.count() == 1
    answer = built(replayed)
    assert answer == built(original)
    message = answer["choices"][0]["message"]
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    whole = call(mode, **openai(emulator, tools=TOOLS))
    assert whole.choices[0].message.tool_calls[0].function.arguments == \
        message["tool_calls"][0]["function"]["arguments"]


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_replays_as_a_stream(emulator: Emulator, cache: llmrelay.Cache,
                                       mode: str) -> None:
    kwargs = {"model": "claude-3-7-sonnet-latest", **at(emulator, "anthropic"),
              "thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048}
    whole = call(mode, **kwargs)
    assert whole.choices[0].message.reasoning_content
    replayed = call(mode, stream=True, **kwargs)
    streamed_fresh = call(mode, stream=True, **{**kwargs, "cache": {"no-cache": True}})
    assert emulator.count() == 2
    answer, fresh = built(replayed), built(streamed_fresh)
    message = answer["choices"][0]["message"]
    assert message["reasoning_content"] == whole.choices[0].message.reasoning_content
    assert message["thinking_blocks"] == whole.choices[0].message.thinking_blocks
    assert message["content"] == whole.choices[0].message.content
    for field in ("content", "reasoning_content", "thinking_blocks"):
        assert message[field] == fresh["choices"][0]["message"][field]
    assert answer["choices"][0]["finish_reason"] == fresh["choices"][0]["finish_reason"]


@pytest.mark.parametrize("mode", MODES)
def test_n_choices_by_fan_out_are_one_entry(emulator: Emulator, cache: llmrelay.Cache,
                                            mode: str) -> None:
    kwargs = {"model": "claude-3-5-haiku-latest", **at(emulator, "anthropic"), "n": 2}
    first = call(mode, **kwargs)
    second = call(mode, **kwargs)
    assert emulator.count() == 2  # two requests for the first call, none for the second
    assert len(second.choices) == 2 and second.model_dump() == first.model_dump()
    assert second.meta.attempts == 0 and second.meta.cost == 0.0


def test_a_stream_closed_early_is_not_stored(emulator: Emulator, cache: llmrelay.Cache) -> None:
    stream = llmrelay.completion(**openai(emulator, stream=True))
    next(stream), next(stream)
    stream.close()
    call("sync", **openai(emulator))
    assert emulator.count() == 2


async def test_an_async_stream_closed_early_is_not_stored(emulator: Emulator,
                                                          cache: llmrelay.Cache) -> None:
    stream = await llmrelay.acompletion(**openai(emulator, stream=True))
    await stream.__anext__()
    await stream.aclose()
    await llmrelay.acompletion(**openai(emulator))
    assert emulator.count() == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_dropped_or_failed_stream_is_not_stored(emulator: Emulator, cache: llmrelay.Cache,
                                                  mode: str) -> None:
    emulator.drop_stream(after=3)
    with pytest.raises(llmrelay.APIConnectionError):
        call(mode, **openai(emulator, stream=True))
    emulator.stream_error()
    with pytest.raises(llmrelay.APIError):
        call(mode, **openai(emulator, stream=True))
    call(mode, **openai(emulator, stream=True))
    assert emulator.count() == 3
    call(mode, **openai(emulator, stream=True))
    assert emulator.count() == 3


@pytest.mark.parametrize("mode", MODES)
def test_errors_are_never_stored(emulator: Emulator, cache: llmrelay.Cache, mode: str) -> None:
    emulator.fail(400)
    with pytest.raises(llmrelay.BadRequestError):
        call(mode, **openai(emulator))
    emulator.fail(500, times=5)
    with pytest.raises(llmrelay.InternalServerError):
        call(mode, **openai(emulator, num_retries=0))
    emulator.reset()
    answer = call(mode, **openai(emulator))
    assert not answer.meta.cache_hit
    assert call(mode, **openai(emulator)).meta.cache_hit
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_no_cache_reads_nothing_but_stores(emulator: Emulator, cache: llmrelay.Cache,
                                           mode: str) -> None:
    call(mode, **openai(emulator))
    fresh = call(mode, **openai(emulator, cache={"no-cache": True}))
    assert emulator.count() == 2 and not fresh.meta.cache_hit
    emulator.reset()
    new = call(mode, **openai(emulator, seed=7, cache={"no-cache": True}))
    assert call(mode, **openai(emulator, seed=7)) == new
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_no_store_stores_nothing_but_reads(emulator: Emulator, cache: llmrelay.Cache,
                                           mode: str) -> None:
    call(mode, **openai(emulator, cache={"no-store": True}))
    call(mode, **openai(emulator))
    assert emulator.count() == 2
    assert call(mode, **openai(emulator, cache={"no-store": True})).meta.cache_hit
    assert emulator.count() == 2
    call(mode, **openai(emulator, stream=True, seed=1, cache={"no-store": True}))
    call(mode, **openai(emulator, seed=1))
    assert emulator.count() == 4


@pytest.mark.parametrize("mode", MODES)
def test_a_call_sets_its_ttl_and_namespace(emulator: Emulator, cache: llmrelay.Cache,
                                           mode: str, namespace: str) -> None:
    call(mode, **openai(emulator, cache={"ttl": 0.3}))
    assert call(mode, **openai(emulator)).meta.cache_hit
    time.sleep(0.45)
    assert not call(mode, **openai(emulator)).meta.cache_hit
    assert emulator.count() == 2
    tenant = {"namespace": namespace + "-tenant-a"}
    assert not call(mode, **openai(emulator, cache=tenant)).meta.cache_hit
    assert call(mode, **openai(emulator, cache=tenant)).meta.cache_hit
    assert emulator.count() == 3


def test_the_cache_namespace_separates_entries(emulator: Emulator, backend: str, namespace: str,
                                               tmp_path: Any, request: pytest.FixtureRequest) -> None:
    from tests.caching.conftest import make_cache

    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    first = make_cache(backend, namespace + "-a", url, tmp_path)
    second = make_cache(backend, namespace + "-b", url, tmp_path) if backend != "memory" else \
        first
    llmrelay.cache = first
    call("sync", **openai(emulator))
    assert call("sync", **openai(emulator)).meta.cache_hit
    if backend != "memory":  # one store, two namespaces
        llmrelay.cache = second
        assert not call("sync", **openai(emulator)).meta.cache_hit
        assert call("sync", **openai(emulator)).meta.cache_hit
        first.clear()
        llmrelay.cache = first
        assert not call("sync", **openai(emulator)).meta.cache_hit
        llmrelay.cache = second
        assert call("sync", **openai(emulator)).meta.cache_hit
        second.close()
    first.close()


@pytest.mark.parametrize("mode", MODES)
def test_cache_controls_without_a_cache_are_ignored(emulator: Emulator, mode: str) -> None:
    assert llmrelay.cache is None
    call(mode, **openai(emulator, cache={"no-cache": True, "anything": 1}))
    call(mode, **openai(emulator, cache={"ttl": 60, "namespace": "tenant-a"}))
    assert emulator.count() == 2


@pytest.mark.parametrize("controls", [{"no_cache": True}, {"ttl": -1}, {"ttl": "60"},
                                      {"namespace": ""}, ["no-cache"]])
def test_malformed_controls_fail_before_any_request(emulator: Emulator, cache: llmrelay.Cache,
                                                    controls: Any) -> None:
    with pytest.raises(llmrelay.BadRequestError):
        llmrelay.completion(**openai(emulator, cache=controls))
    assert emulator.count() == 0


def test_callbacks_see_the_hit(emulator: Emulator, cache: llmrelay.Cache) -> None:
    events: list[Any] = []

    class Audit:
        def on_success(self, event: Any) -> None:
            events.append(event)

    call("sync", **openai(emulator, callbacks=[Audit()]))
    call("sync", **openai(emulator, callbacks=[Audit()]))
    list(llmrelay.completion(**openai(emulator, stream=True, callbacks=[Audit()])))
    assert [e.cache_hit for e in events] == [False, True, True]
    assert [e.attempts for e in events] == [1, 0, 0]
    assert events[1].cost == 0.0 and events[2].cost == 0.0
    assert events[2].response.choices[0].message.content == \
        events[0].response.choices[0].message.content


@pytest.mark.parametrize("mode", MODES)
def test_a_wrapper_that_keys_the_cache_itself_turns_the_core_cache_off(
        emulator: Emulator, cache: llmrelay.Cache, mode: str) -> None:
    with scoped(CallScope(cache=False)):
        call(mode, **openai(emulator))
        call(mode, **openai(emulator))
    assert emulator.count() == 2
    assert not call(mode, **openai(emulator)).meta.cache_hit


@pytest.mark.parametrize("mode", MODES)
def test_each_call_reads_the_setting_at_its_start(emulator: Emulator, cache: llmrelay.Cache,
                                                  mode: str) -> None:
    call(mode, **openai(emulator))
    llmrelay.cache = None
    assert not call(mode, **openai(emulator)).meta.cache_hit
    llmrelay.cache = cache
    assert call(mode, **openai(emulator)).meta.cache_hit
    assert emulator.count() == 2


def test_the_in_process_cache_evicts_the_least_recently_used(emulator: Emulator,
                                                             namespace: str) -> None:
    llmrelay.cache = llmrelay.Cache(size=2, namespace=namespace)
    for seed in (1, 2):
        call("sync", **openai(emulator, seed=seed))
    call("sync", **openai(emulator, seed=1))  # 1 is now the most recent
    call("sync", **openai(emulator, seed=3))  # evicts 2
    assert emulator.count() == 3
    assert call("sync", **openai(emulator, seed=1)).meta.cache_hit
    assert not call("sync", **openai(emulator, seed=2)).meta.cache_hit
    assert llmrelay.Cache().store.size == 1000  # type: ignore[attr-defined]
