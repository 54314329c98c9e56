"""The Router's cache lookup, done once per routed call before any deployment is picked.

The group name stands for provider, model and ``api_base`` in the key, so every deployment of
a group shares its answers; a hit sends nothing, has ``meta.deployment = None`` and uses no
rpm/tpm. The keys, controls, codec and stream replay are the cache package's own.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..meta import CallMeta
from ..streaming import AsyncStream, Stream

if TYPE_CHECKING:
    from ..hooks import CallRun

__all__ = ["Entry", "answer_class", "entry_of", "keep", "served"]

Entry = Any  # (key, Controls) from llmrelay.caching


def answer_class(call_type: str) -> Any:
    import llmrelay

    return llmrelay.EmbeddingResponse if call_type == "embedding" else llmrelay.ModelResponse


def entry_of(cache: Any, options: Any, call_type: str, group: str,
             kwargs: dict[str, Any]) -> Entry | None:
    """The key and controls of a routed call, or ``None`` when it is not cached. Malformed
    ``cache=`` controls raise ``BadRequestError``."""
    from ..caching.calls import entry_for
    from ..caching.keys import answer_params, plain_headers

    params = answer_params(kwargs)
    if params.get("extra_headers"):
        params["extra_headers"] = plain_headers(params["extra_headers"])
    what = "messages" if call_type == "completion" else "input"
    payload = {"call": call_type, "group": group, what: kwargs.get(what), "params": params}
    return entry_for(cache, options, payload)


def decode(cache: Any, value: bytes | None, call_type: str) -> Any:
    from ..caching.calls import hit_of

    return hit_of(cache, value, answer_class(call_type))


def served(hit: Any, group: str, stream: bool, include_usage: bool, asynchronous: bool,
           started: float, run: "CallRun | None") -> Any:
    """The answer (or its replay as a stream) for a hit, with its ``meta``."""
    meta = CallMeta(None, hit.model, attempts=0, cache_hit=True, usage=hit.usage, written=group,
                    parts=[(hit.model, hit.usage)])
    meta.cost = 0.0
    if not stream:
        meta.latency = time.perf_counter() - started
        hit.__dict__["_meta"] = meta  # what types.attach_meta does
        return hit
    from ..caching.replay import replay_chunks

    chunks = replay_chunks(hit, include_usage)
    meta.time_to_first_token = time.perf_counter() - started
    end = _HitEnd(meta, run, started)
    if asynchronous:
        return AsyncStream(_aiterate(chunks[1:]), *chunks[:1], meta=meta, on_end=end)
    return Stream(iter(chunks[1:]), *chunks[:1], meta=meta, on_end=end)


async def _aiterate(items: list[Any]) -> Any:
    for item in items:
        yield item


class _HitEnd:
    """A replayed stream's end: its latency, and the routed call's one report."""

    __slots__ = ("meta", "run", "started")

    def __init__(self, meta: CallMeta, run: "CallRun | None", started: float) -> None:
        self.meta, self.run, self.started = meta, run, started

    def end(self, how: str, error: BaseException | None) -> None:
        self.meta.latency = time.perf_counter() - self.started
        if self.run is not None:
            self.run.stream_end(self.meta, how, error)

    async def aend(self, how: str, error: BaseException | None) -> None:
        self.meta.latency = time.perf_counter() - self.started
        if self.run is not None:
            await self.run.astream_end(self.meta, how, error)


def keep(cache: Any, entry: Entry, result: Any) -> None:
    """Store a complete answer (a stream once it has delivered its last chunk)."""
    from ..caching.calls import (
        built_answer,
        keep_when_complete,
        stored,
    )

    key, controls = entry
    if not controls.write:
        return
    if isinstance(result, Stream):
        def save(delivered: list[Any]) -> None:
            built = built_answer(delivered, result.meta.usage)
            value = None if built is None else stored(cache, built)
            if value is not None:
                cache.set(key, value, controls.ttl)

        keep_when_complete(result, save)
        return
    value = stored(cache, result)
    if value is not None:
        cache.set(key, value, controls.ttl)


async def akeep(cache: Any, entry: Entry, result: Any) -> None:
    """The async twin of ``keep``."""
    from ..caching.calls import (
        akeep_when_complete,
        built_answer,
        stored,
    )

    key, controls = entry
    if not controls.write:
        return
    if isinstance(result, AsyncStream):
        async def save(delivered: list[Any]) -> None:
            built = built_answer(delivered, result.meta.usage)
            value = None if built is None else stored(cache, built)
            if value is not None:
                await cache.aset(key, value, controls.ttl)

        akeep_when_complete(result, save)
        return
    value = stored(cache, result)
    if value is not None:
        await cache.aset(key, value, controls.ttl)
