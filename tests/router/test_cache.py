"""The response cache through a Router: keyed by the group, looked up before routing; a hit
sends nothing, names no deployment and uses no rpm/tpm."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

import llmrelay
from llmrelay.testing import Emulator

from .conftest import MESSAGES, MODES, azure, route, sent


@pytest.fixture
def cache() -> Iterator[Any]:
    saved = llmrelay.cache
    llmrelay.cache = llmrelay.Cache()
    yield llmrelay.cache
    llmrelay.cache = saved


def pair(emu: Emulator) -> llmrelay.Router:
    return llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b")])


@pytest.mark.parametrize("mode", MODES)
def test_a_hit_sends_nothing_and_counts_nothing(emu: Emulator, cache: Any, mode: str) -> None:
    router = pair(emu)
    first = route(mode, router, temperature=0.5)
    assert first.meta.cache_hit is False and first.meta.deployment in ("a", "b")
    for _ in range(3):
        again = route(mode, router, temperature=0.5)
        assert again.meta.cache_hit is True
        assert again.meta.deployment is None
        assert again.meta.cost == 0.0
        assert again.choices[0].message.content == first.choices[0].message.content
    assert len(emu.requests) == 1
    assert sum(d.rpm_used for d in router.deployments()) == 1
    route(mode, router, temperature=0.9)  # another request: another key
    assert len(emu.requests) == 2


def test_the_group_stands_for_its_deployments(emu: Emulator, cache: Any) -> None:
    router = pair(emu)
    router.completion(model="chat", messages=MESSAGES)
    served_by = emu.requests[0].path
    other = "b" if "/a/" in served_by else "a"
    solo = llmrelay.Router(model_list=[azure(emu, other)])  # same group name, other deployment
    assert solo.completion(model="chat", messages=MESSAGES).meta.cache_hit is True
    assert len(emu.requests) == 1
    direct = llmrelay.completion(model=f"azure/{other}", messages=MESSAGES, api_base=emu.url,
                                 api_key=emu.api_key, api_version="2024-10-21")
    assert direct.meta.cache_hit is False  # keyed by provider, model and api_base: not the group


@pytest.mark.parametrize("mode", MODES)
def test_streams_are_stored_once_complete_and_replayed(emu: Emulator, cache: Any,
                                                       mode: str) -> None:
    router = pair(emu)
    stream, chunks = route(mode, router, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert stream.meta.cache_hit is False
    replay, replayed = route(mode, router, stream=True)
    assert replay.meta.cache_hit is True and replay.meta.deployment is None
    assert "".join(c.choices[0].delta.content or "" for c in replayed if c.choices) == text
    assert route(mode, router).choices[0].message.content == text
    assert len(emu.requests) == 1


def test_a_stream_closed_early_is_not_stored(emu: Emulator, cache: Any) -> None:
    router = pair(emu)
    stream = router.completion(model="chat", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    assert router.completion(model="chat", messages=MESSAGES).meta.cache_hit is False
    assert len(emu.requests) == 2


def test_cache_controls(emu: Emulator, cache: Any) -> None:
    router = pair(emu)
    router.completion(model="chat", messages=MESSAGES, cache={"no-store": True})
    router.completion(model="chat", messages=MESSAGES, cache={"no-cache": True})
    assert len(emu.requests) == 2
    assert router.completion(model="chat", messages=MESSAGES).meta.cache_hit is True
    assert router.completion(model="chat", messages=MESSAGES,
                             cache={"namespace": "tenant-b"}).meta.cache_hit is False
    assert len(emu.requests) == 3
    with pytest.raises(llmrelay.BadRequestError, match="cache control"):
        router.completion(model="chat", messages=MESSAGES, cache={"bogus": 1})


def test_no_cache_set_ignores_controls(emu: Emulator) -> None:
    assert llmrelay.cache is None
    router = pair(emu)
    router.completion(model="chat", messages=MESSAGES, cache={"no-cache": True})
    router.completion(model="chat", messages=MESSAGES)
    assert len(emu.requests) == 2


def test_a_hit_reports_once_with_cache_hit(emu: Emulator, cache: Any) -> None:
    from tests.observe.conftest import Recorder

    router = pair(emu)
    router.completion(model="chat", messages=MESSAGES)
    recorder = Recorder()
    resp = router.completion(model="chat", messages=MESSAGES, callbacks=[recorder])
    event = recorder.one("success")
    assert event.response is resp
    assert (event.cache_hit, event.deployment, event.attempts, event.cost) == (True, None, 0, 0.0)


async def test_sync_and_async_share_hits(emu: Emulator, cache: Any) -> None:
    router = pair(emu)
    router.completion(model="chat", messages=MESSAGES)
    resp = await router.acompletion(model="chat", messages=MESSAGES)
    assert resp.meta.cache_hit is True
    await asyncio.sleep(0)
    assert sent(emu, "a") + sent(emu, "b") == 1


def test_embeddings_are_cached_by_group(emu: Emulator, cache: Any) -> None:
    router = llmrelay.Router(model_list=[
        azure(emu, "text-embedding-3-small", group="embed"),
        azure(emu, "text-embedding-3-large", group="embed", params={"dimensions": 1536}),
    ])
    first = router.embedding(model="embed", input=["x", "y"])
    again = router.embedding(model="embed", input=["x", "y"])
    assert (first.meta.cache_hit, again.meta.cache_hit, again.meta.deployment) == (False, True, None)
    assert again.data[1].embedding == first.data[1].embedding
    assert len(emu.requests) == 1
