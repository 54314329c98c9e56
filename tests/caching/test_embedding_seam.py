"""The embeddings seam (``run_cached_embedding``), ahead of ``embedding()`` landing: one entry
per whole input, keyed like a completion, hit and store on every backend, sync and async."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import llmrelay
from llmrelay.caching.calls import arun_cached_embedding, run_cached_embedding
from llmrelay.meta import CallMeta
from llmrelay.records import Record
from llmrelay.usage import Usage


class Vectors(Record):
    """Stands in for ``EmbeddingResponse``: the seam takes the class it decodes into."""

    object: str = "list"
    model: str
    data: list[dict[str, Any]]
    usage: Usage | None = None


@dataclass
class Prepared:
    input: list[Any]
    params: dict[str, Any] = field(default_factory=dict)
    provider: str = "openai"
    provider_model: str = "text-embedding-3-small"
    api_base: str = "https://api.openai.com/v1"
    extra_body: dict[str, Any] = field(default_factory=dict)
    calls: list[Any] = field(default_factory=lambda: [SimpleNamespace(model=None, usage=None)])


def answer(inputs: list[Any]) -> Vectors:
    return Vectors(model="text-embedding-3-small",
                   data=[{"object": "embedding", "index": i, "embedding": [0.5, -1.25 * i]}
                         for i in range(len(inputs))],
                   usage=Usage(prompt_tokens=len(inputs), total_tokens=len(inputs)))


def test_one_entry_per_input(cache: llmrelay.Cache) -> None:
    sent: list[list[Any]] = []

    def embed(prepared: Prepared, options: Any = None) -> tuple[Any, CallMeta]:
        meta = CallMeta("openai", "text-embedding-3-small")

        def run() -> Vectors:
            sent.append(prepared.input)
            return answer(prepared.input)

        return run_cached_embedding(cache, options, prepared, meta, run, Vectors), meta

    first, meta = embed(Prepared(["a", "b"]))
    again, hit_meta = embed(Prepared(["a", "b"]))
    assert again == first and not meta.cache_hit and hit_meta.cache_hit
    assert hit_meta.cost == 0.0
    embed(Prepared(["b", "a"]))                              # another order, another answer
    embed(Prepared(["a", "b"], params={"dimensions": 8}))     # the parameters count
    embed(Prepared(["a", "b"], params={"timeout": 3}))        # how it is sent does not
    embed(Prepared(["a", "b"], provider_model="text-embedding-3-large"))
    embed(Prepared(["x"]), options={"no-store": True})
    embed(Prepared(["x"]))
    assert sent == [["a", "b"], ["b", "a"], ["a", "b"], ["a", "b"], ["x"], ["x"]]


def test_async_shares_the_entries(cache: llmrelay.Cache) -> None:
    sent: list[Any] = []

    async def run() -> Vectors:
        sent.append(1)
        return answer(["q"])

    async def twice() -> tuple[Any, Any]:
        first = await arun_cached_embedding(cache, None, Prepared(["q"]), CallMeta(), run,
                                            Vectors)
        second = await arun_cached_embedding(cache, None, Prepared(["q"]), CallMeta(), run,
                                             Vectors)
        return first, second

    first, second = asyncio.run(twice())
    assert first == second and sent == [1]
    assert run_cached_embedding(cache, None, Prepared(["q"]), CallMeta(), lambda: 1 / 0,
                                Vectors) == first
