"""``resp.meta`` and ``stream.meta``: how the call went, beside the OpenAI shape, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmrelay
from llmrelay.scope import CallScope, scoped
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, at, call

MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
def test_meta_of_a_plain_call(emulator: Emulator, mode: str) -> None:
    resp = call(mode, model="gpt-4o-mini", **at(emulator, "openai"))
    meta = resp.meta
    assert (meta.provider, meta.deployment, meta.cache_hit) == ("openai", None, False)
    assert meta.model == resp.model
    assert meta.attempts == 1
    assert meta.request_id == "req_emulator"
    assert meta.usage == resp.usage and meta.usage.total_tokens > 0
    assert 0 < meta.latency < 5
    assert meta.time_to_first_token is None
    assert "meta" not in resp.model_dump() and "_meta" not in resp.model_dump_json()


@pytest.mark.parametrize("mode", MODES)
def test_attempts_count_retries(emulator: Emulator, mode: str) -> None:
    emulator.fail(500, times=2, provider="anthropic", headers={"retry-after-ms": "1"})
    resp = call(mode, model="claude-3-5-haiku-latest", num_retries=2, **at(emulator, "anthropic"))
    assert resp.meta.attempts == 3 == emulator.count("anthropic")
    assert resp.meta.provider == "anthropic"
    assert resp.meta.request_id is not None


@pytest.mark.parametrize("mode", MODES)
def test_fan_out_sums_attempts_and_keeps_one_part_per_request(emulator: Emulator, mode: str) -> None:
    resp = call(mode, model="claude-3-5-haiku-latest", n=3, **at(emulator, "anthropic"))
    assert len(resp.choices) == 3
    assert resp.meta.attempts == 3
    assert len(resp.meta.parts) == 3
    assert resp.meta.usage == resp.usage


def collect_stream(mode: str, **kwargs: Any) -> tuple[list[Any], Any]:
    if mode == "sync":
        stream = llmrelay.completion(messages=MESSAGES, stream=True, **kwargs)
        return list(stream), stream.meta

    async def run() -> tuple[list[Any], Any]:
        stream = await llmrelay.acompletion(messages=MESSAGES, stream=True, **kwargs)
        return [c async for c in stream], stream.meta

    return asyncio.run(run())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("provider", "model"), [
    ("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku-latest"),
    ("cohere", "command-r-plus"), ("azure", "azure/gpt-4o"), ("openrouter", "openrouter/openai/gpt-4o"),
])
def test_stream_usage_reaches_meta_without_a_usage_chunk(
    emulator: Emulator, mode: str, provider: str, model: str
) -> None:
    kwargs = at(emulator, provider)
    if provider == "azure":
        kwargs["api_version"] = "2024-10-21"
    chunks, meta = collect_stream(mode, model=model, **kwargs)
    assert all(c.choices for c in chunks), "a usage-only chunk the caller did not ask for"
    assert meta.usage is not None and meta.usage.completion_tokens > 0
    assert meta.provider == provider
    assert 0 < meta.time_to_first_token <= meta.latency
    assert meta.attempts == 1
    assert meta.parts == [(meta.model, meta.usage)]


@pytest.mark.parametrize("mode", MODES)
def test_stream_usage_chunk_shown_when_asked(emulator: Emulator, mode: str) -> None:
    chunks, meta = collect_stream(mode, model="gpt-4o-mini", stream_options={"include_usage": True},
                                  **at(emulator, "openai"))
    assert not chunks[-1].choices and chunks[-1].usage == meta.usage
    assert emulator.requests[-1].body["stream_options"] == {"include_usage": True}


def test_stream_meta_is_complete_after_close(emulator: Emulator) -> None:
    stream = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                 **at(emulator, "openai"))
    next(stream)
    assert stream.meta.latency is None
    stream.close()
    assert stream.meta.latency is not None and stream.meta.time_to_first_token is not None
    assert stream.meta.usage is None  # closed before the provider sent it
    assert stream.meta.cost is None


@pytest.mark.parametrize("mode", MODES)
def test_scope_names_the_deployment(emulator: Emulator, mode: str) -> None:
    with scoped(CallScope(deployment="eu-1", base_model="gpt-4o")):
        resp = call(mode, model="gpt-4o-mini", **at(emulator, "openai"))
    assert (resp.meta.deployment, resp.meta.base_model) == ("eu-1", "gpt-4o")
    resp = call(mode, model="gpt-4o-mini", **at(emulator, "openai"))
    assert resp.meta.deployment is None


def test_a_provider_field_named_meta_does_not_replace_ours() -> None:
    resp = llmrelay.ModelResponse.model_validate(
        {"id": "x", "model": "m", "choices": [], "meta": {"provider": "theirs"}})
    assert isinstance(resp.meta, type(llmrelay.ModelResponse(id="y", model="m", choices=[]).meta))


def test_meta_survives_copies_and_stays_out_of_equality(emulator: Emulator) -> None:
    resp = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, **at(emulator, "openai"))
    copy = resp.model_copy()
    assert copy.meta is resp.meta
    rebuilt = llmrelay.ModelResponse.model_validate(resp.model_dump())
    assert rebuilt == resp
    assert rebuilt.meta.provider is None  # a response built by hand has empty metadata


def test_deep_copied_and_pickled_answers_keep_their_meta(emulator: Emulator) -> None:
    # Cost and request id are worked out on first read; a copy made before that read must
    # still work them out (the "not read yet" marker once came back from deepcopy/pickle as
    # a new object, and the copy's meta.cost was that object).
    import copy
    import pickle

    kw = at(emulator, "openai")
    for make in (
        lambda: llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, **kw),
        lambda: llmrelay.embedding(model="text-embedding-3-small", input=["a", "b"], **kw),
    ):
        for clone in (copy.deepcopy, lambda r: pickle.loads(pickle.dumps(r))):
            resp = make()
            cloned = clone(resp)
            assert cloned == resp
            assert isinstance(cloned.meta.cost, float) and cloned.meta.cost == resp.meta.cost > 0
            assert cloned.meta.request_id == resp.meta.request_id == "req_emulator"
            assert (cloned.meta.provider, cloned.meta.attempts) == ("openai", 1)
