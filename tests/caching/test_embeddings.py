"""``embedding()`` / ``aembedding()`` through the cache on every backend: one entry per whole
input (however many batches it takes), hits equal and free, the controls, sync and async; and
embeddings recorded and replayed by a cassette."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator, cassette
from tests.helpers import at

MODES = ["sync", "async"]


def embed(mode: str, **kwargs: Any) -> Any:
    if mode == "sync":
        return llmrelay.embedding(**kwargs)
    return asyncio.run(llmrelay.aembedding(**kwargs))


def texts(n: int) -> list[str]:
    return [f"text number {i}" for i in range(n)]


@pytest.mark.parametrize("mode", MODES)
def test_an_embedding_hit(emulator: Emulator, cache: llmrelay.Cache, mode: str) -> None:
    kwargs = {"model": "text-embedding-3-small", "input": ["a", "b"], **at(emulator, "openai")}
    first = embed(mode, **kwargs)
    again = embed(mode, **kwargs)
    assert emulator.count() == 1
    assert again == first and again.model_dump() == first.model_dump()
    assert (again.meta.cache_hit, again.meta.cost, again.meta.attempts) == (True, 0.0, 0)
    assert not first.meta.cache_hit and again.meta.usage == first.meta.usage
    embed(mode, **{**kwargs, "input": ["b", "a"]})
    embed(mode, **kwargs, dimensions=8)
    embed(mode, **kwargs, cache={"no-cache": True})
    assert emulator.count() == 4
    other = "async" if mode == "sync" else "sync"
    assert embed(other, **kwargs).meta.cache_hit  # sync and async share the entry


@pytest.mark.parametrize("mode", MODES)
def test_a_batched_input_is_one_entry(emulator: Emulator, cache: llmrelay.Cache,
                                      mode: str) -> None:
    kwargs = {"model": "cohere/embed-v4.0", "input": texts(100), **at(emulator, "cohere")}
    first = embed(mode, **kwargs)
    assert emulator.count() == 2  # Cohere takes 96 inputs a request
    again = embed(mode, **kwargs)
    assert emulator.count() == 2 and again.meta.cache_hit
    assert [d.index for d in again.data] == list(range(100))
    assert again.data == first.data and again.usage == first.usage


def test_embedding_errors_are_not_stored(emulator: Emulator, cache: llmrelay.Cache) -> None:
    kwargs = {"model": "text-embedding-3-small", "input": "x", **at(emulator, "openai"),
              "num_retries": 0}
    emulator.fail(500)
    with pytest.raises(llmrelay.InternalServerError):
        llmrelay.embedding(**kwargs)
    assert not llmrelay.embedding(**kwargs).meta.cache_hit
    assert llmrelay.embedding(**kwargs).meta.cache_hit
    assert emulator.count() == 2


@pytest.mark.parametrize("mode", MODES)
def test_embeddings_on_a_cassette(emulator: Emulator, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "vectors.json"
    kwargs = {"model": "cohere/embed-v4.0", "input": texts(100),
              "api_base": emulator.base_url("cohere")}
    with cassette(path, mode="record"):
        recorded = embed(mode, **kwargs, api_key=emulator.api_key)
    with cassette(path, mode="replay"):
        replayed = embed(mode, **kwargs)  # no key
    assert replayed.data == recorded.data and emulator.count() == 2
    assert emulator.api_key not in path.read_text()
