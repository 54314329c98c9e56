"""The cache of a Router: a routed call is keyed by its group (which stands for provider, model
and ``api_base``), looked up before any deployment is picked, and stored once it answered.

The Router runs its inner calls with ``CallScope(cache=False)`` and calls these instead::

    found = lookup_routed(group, "completion", messages, kwargs, cache_options, run=run)
    if found is not None and found.hit is not None:
        return found.hit                 # settled and reported; no deployment, no rpm/tpm used
    result = ...                         # the routed call
    return found.store(result) if found is not None else result
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from ..meta import CallMeta
from ..streaming import AsyncStream, Stream
from ..types import ModelResponse, attach_meta
from .calls import _aiterate, built_answer, entry_for, hit_of, stored
from .keys import answer_params
from .replay import replay_chunks

if TYPE_CHECKING:
    from ..hooks import CallRun
    from .controls import Controls
    from .front import Cache

__all__ = ["RoutedCache", "alookup_routed", "lookup_routed"]

# Through a Router the group stands for these.
_ROUTED = frozenset({"api_base", "api_version", "azure"})


def routed_payload(group: str, call_type: str, payload: Any,
                   kwargs: dict[str, Any]) -> dict[str, Any]:
    params = answer_params({k: v for k, v in kwargs.items() if k not in _ROUTED})
    params.pop("input", None)
    return {"call": call_type, "group": group,
            "messages" if call_type == "completion" else "input": payload, "params": params}


def response_class(call_type: str) -> Any:
    if call_type == "completion":
        return ModelResponse
    return getattr(sys.modules["llmrelay"], "EmbeddingResponse", None)


class RoutedCache:
    """What the cache holds for one routed call: ``hit`` (the answer, settled and reported, or
    ``None``) and ``store``/``astore`` for the answer the Router gets otherwise."""

    __slots__ = ("cache", "controls", "hit", "key")

    def __init__(self, cache: "Cache", key: str, controls: "Controls", hit: Any) -> None:
        self.cache, self.key, self.controls, self.hit = cache, key, controls, hit

    def store(self, result: Any) -> Any:
        """Store ``result`` (a stream: once it completes); returns it."""
        if not self.controls.write:
            return result
        if isinstance(result, (Stream, AsyncStream)):
            sink: list[Any] = []
            result.tap(sink)
            result.wrap_end(lambda inner: _StoreAtEnd(self, inner, sink, result.meta))
            return result
        value = stored(self.cache, result)
        if value is not None:
            self.cache.set(self.key, value, self.controls.ttl)
        return result

    async def astore(self, result: Any) -> Any:
        """The async twin of ``store``."""
        if not self.controls.write or isinstance(result, (Stream, AsyncStream)):
            return self.store(result)
        value = stored(self.cache, result)
        if value is not None:
            await self.cache.aset(self.key, value, self.controls.ttl)
        return result


class _StoreAtEnd:
    """A routed stream's ``on_end``: the ends before it first (the core settles ``meta``), then,
    for a complete stream, the answer its chunks make is stored."""

    __slots__ = ("entry", "inner", "meta", "sink")

    def __init__(self, entry: RoutedCache, inner: Any, sink: list[Any], meta: CallMeta) -> None:
        self.entry, self.inner, self.sink, self.meta = entry, inner, sink, meta

    def _value(self, how: str) -> bytes | None:
        if how != "complete":
            return None
        built = built_answer(self.sink, self.meta.usage)
        return None if built is None else stored(self.entry.cache, built)

    def end(self, how: str, error: BaseException | None) -> None:
        if self.inner is not None:
            self.inner.end(how, error)
        value = self._value(how)
        if value is not None:
            self.entry.cache.set(self.entry.key, value, self.entry.controls.ttl)

    async def aend(self, how: str, error: BaseException | None) -> None:
        if self.inner is not None:
            await self.inner.aend(how, error)
        value = self._value(how)
        if value is not None:
            await self.entry.cache.aset(self.entry.key, value, self.entry.controls.ttl)


class _HitEnd:
    """A replayed stream's ``on_end``: its latency, and the Router's observer told."""

    __slots__ = ("meta", "run", "started")

    def __init__(self, meta: CallMeta, started: float, run: "CallRun | None") -> None:
        self.meta, self.started, self.run = meta, started, run

    def end(self, how: str, error: BaseException | None) -> None:
        self.meta.latency = time.perf_counter() - self.started
        if self.run is not None:
            self.run.stream_end(self.meta, how, error)

    async def aend(self, how: str, error: BaseException | None) -> None:
        self.meta.latency = time.perf_counter() - self.started
        if self.run is not None:
            await self.run.astream_end(self.meta, how, error)


def _begin(group: str, call_type: str, payload: Any, kwargs: dict[str, Any],
           options: Any) -> "tuple[Cache, str, Controls] | None":
    cache = sys.modules["llmrelay"].cache
    if cache is None or response_class(call_type) is None:
        return None
    entry = entry_for(cache, options, routed_payload(group, call_type, payload, kwargs))
    return None if entry is None else (cache, *entry)


def _served(found: Any, group: str, kwargs: dict[str, Any], started: float,
            run: "CallRun | None", asynchronous: bool) -> Any:
    """The hit as the Router returns it: no deployment, no attempt, cost 0."""
    usage = getattr(found, "usage", None)
    model = getattr(found, "model", None)
    meta = CallMeta(None, model, written=group, cache_hit=True, usage=usage,
                    parts=[(model, usage)])
    if not kwargs.get("stream"):
        meta.latency = time.perf_counter() - started
        attach_meta(found, meta)
        return found
    include = bool((kwargs.get("stream_options") or {}).get("include_usage"))
    chunks = replay_chunks(found, include)
    meta.time_to_first_token = time.perf_counter() - started
    end = _HitEnd(meta, started, run)
    stream: Any
    if asynchronous:
        stream = AsyncStream(_aiterate(chunks[1:]), chunks[0], meta=meta, on_end=end)
    else:
        stream = Stream(iter(chunks[1:]), chunks[0], meta=meta, on_end=end)
    if run is not None:
        run.stream_open(stream)
    return stream


def lookup_routed(group: str, call_type: str, payload: Any, kwargs: dict[str, Any],
                  options: Any = None, *, run: "CallRun | None" = None) -> RoutedCache | None:
    """The cache entry of a routed call (``None``: no cache set, or the call is not cached).

    ``payload`` is the messages (``call_type="completion"``) or the input (``"embedding"``);
    ``kwargs`` the call's other arguments (``stream`` and ``stream_options`` included: a hit
    is replayed as a stream when asked); ``options`` the call's ``cache=`` controls. A hit is
    settled and, when ``run`` is given, reported to it (``success``, or ``stream_end`` when
    the replayed stream ends). Malformed ``options`` raise ``BadRequestError``.
    """
    started = time.perf_counter()
    begun = _begin(group, call_type, payload, kwargs, options)
    if begun is None:
        return None
    cache, key, controls = begun
    hit = None
    if controls.read:
        found = hit_of(cache, cache.get(key), response_class(call_type))
        if found is not None:
            hit = _served(found, group, kwargs, started, run, asynchronous=False)
            if run is not None and not isinstance(hit, Stream):
                run.success(hit, hit.meta)
    return RoutedCache(cache, key, controls, hit)


async def alookup_routed(group: str, call_type: str, payload: Any, kwargs: dict[str, Any],
                         options: Any = None, *,
                         run: "CallRun | None" = None) -> RoutedCache | None:
    """The async twin of ``lookup_routed`` (a stream hit is an ``AsyncStream``)."""
    started = time.perf_counter()
    begun = _begin(group, call_type, payload, kwargs, options)
    if begun is None:
        return None
    cache, key, controls = begun
    hit = None
    if controls.read:
        found = hit_of(cache, await cache.aget(key), response_class(call_type))
        if found is not None:
            hit = _served(found, group, kwargs, started, run, asynchronous=True)
            if run is not None and not isinstance(hit, AsyncStream):
                await run.asuccess(hit, hit.meta)
    return RoutedCache(cache, key, controls, hit)
