"""The cache seam of ``completion()`` / ``acompletion()``: look the answer up before the send,
store it after a complete answer. The core calls ``run_cached`` / ``arun_cached`` in place of
running the call, only when ``llmrelay.cache`` is set.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Iterator, Protocol

from ..streaming import _NOTHING, AsyncStream, Stream
from ..types import ModelResponse
from .codec import decode, encode
from .controls import controls_for
from .keys import answer_params, plain_headers
from .replay import replay_chunks

if TYPE_CHECKING:
    from ..call import Call
    from ..meta import CallMeta
    from .controls import Controls
    from .front import Cache

__all__ = ["arun_cached", "arun_cached_embedding", "run_cached", "run_cached_embedding"]

log = logging.getLogger("llmrelay")


def request_payload(call_type: str, calls: "list[Call]", messages: Any,
                    params: dict[str, Any]) -> dict[str, Any]:
    """The canonical request of a prepared call: where it goes (provider, the provider's model,
    ``api_base``), what it asks, and the call options that change the answer."""
    call = calls[0]
    settings = call.ctx.settings
    payload: dict[str, Any] = {"call": call_type, "provider": call.provider,
                               "model": call.ctx.model, "api_base": settings.base_url,
                               "messages": messages, "params": answer_params(params)}
    version = settings.options.get("api_version")
    if version:
        payload["api_version"] = version
    headers = plain_headers(settings.extra_headers) if settings.extra_headers else None
    if headers:
        payload["extra_headers"] = headers
    if settings.extra_body:
        payload["extra_body"] = settings.extra_body
    if settings.drop_params:
        payload["drop_params"] = True
    return payload


def entry_for(cache: "Cache", options: Any, payload: dict[str, Any]) -> "tuple[str, Controls] | None":
    """The key and controls of a call, or ``None`` when its request cannot be keyed (then it is
    simply not cached). Malformed ``options`` raise ``BadRequestError``."""
    controls = controls_for(cache, options)
    if not (controls.read or controls.write):
        return None
    try:
        return cache.key(payload, controls.namespace), controls
    except (TypeError, ValueError) as exc:
        log.debug("llmrelay cache: request not cached (%s)", exc)
        return None


def hit_of(cache: "Cache", value: bytes | None, cls: Any) -> Any:
    """The stored answer, or ``None`` (nothing stored, or a value that cannot be read: logged
    once, and overwritten by the answer the provider gives)."""
    if value is None:
        return None
    try:
        return decode(value, cls)
    except ValueError as exc:
        cache.failed(exc, skip=False)
        return None


def stored(cache: "Cache", result: Any) -> bytes | None:
    try:
        return encode(result, cache.store.compress_from)
    except Exception as exc:  # an extra the serializer cannot write: not cached, never an error
        log.debug("llmrelay cache: answer not cached (%s)", exc)
        return None


def _serve(hit: ModelResponse, calls: "list[Call]", meta: "CallMeta", params: dict[str, Any],
           asynchronous: bool) -> Any:
    """What the core returns for a hit: the answer, or its replay as a stream. The core settles
    ``meta`` from ``calls`` as for any answer: no attempt, the stored model and usage."""
    call = calls[0]
    call.model, call.usage = hit.model, hit.usage
    meta.cache_hit = True
    if not call.stream:
        return hit
    chunks = replay_chunks(hit, bool((params.get("stream_options") or {}).get("include_usage")))
    call.first_chunk_at = time.perf_counter()
    if not chunks:
        return AsyncStream(_aiterate([])) if asynchronous else Stream(iter(()))
    if asynchronous:
        return AsyncStream(_aiterate(chunks[1:]), chunks[0])
    return Stream(iter(chunks[1:]), chunks[0])


async def _aiterate(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def _usage_of(calls: "list[Call]") -> Any:
    if len(calls) == 1:
        return calls[0].usage
    from ..fanout import sum_usage

    return sum_usage([c.usage for c in calls])


def built_answer(delivered: list[Any], usage: Any) -> ModelResponse | None:
    """The answer a complete stream stands for; its usage even when the caller did not ask
    for the usage chunk (the core asked for it, and kept it)."""
    from ..chunks import stream_chunk_builder

    if not delivered:
        return None
    try:
        built = stream_chunk_builder(delivered)
    except Exception as exc:
        log.debug("llmrelay cache: stream not cached (%s)", exc)
        return None
    if built.usage is None and usage is not None:
        built.usage = usage
    return built


def keep_when_complete(stream: "Stream[Any]", save: Callable[[list[Any]], None]) -> None:
    """Hand ``save`` the chunks ``stream`` delivered once it has delivered its last one; a stream
    closed, dropped or failed before its end saves nothing."""
    first, source = stream._first, stream._iterator
    stream._first = _NOTHING

    def tapped() -> Iterator[Any]:
        delivered: list[Any] = []
        complete = False
        try:
            if first is not _NOTHING:
                delivered.append(first)
                yield first
            for chunk in source:
                delivered.append(chunk)
                yield chunk
            complete = True
        finally:
            if not complete:
                close = getattr(source, "close", None)
                if close is not None:
                    close()
        try:
            save(delivered)
        except Exception as exc:  # storing never fails the stream that completed
            log.debug("llmrelay cache: stream not cached (%s)", exc)

    stream._iterator = tapped()


def akeep_when_complete(stream: "AsyncStream[Any]",
                        save: Callable[[list[Any]], Awaitable[None]]) -> None:
    """The async twin of ``keep_when_complete``."""
    first, source = stream._first, stream._iterator
    stream._first = _NOTHING

    async def tapped() -> AsyncIterator[Any]:
        delivered: list[Any] = []
        complete = False
        try:
            if first is not _NOTHING:
                delivered.append(first)
                yield first
            async for chunk in source:
                delivered.append(chunk)
                yield chunk
            complete = True
        finally:
            if not complete:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    await aclose()
        try:
            await save(delivered)
        except Exception as exc:
            log.debug("llmrelay cache: stream not cached (%s)", exc)

    stream._iterator = tapped()


def run_cached(cache: "Cache", options: Any, calls: "list[Call]", messages: Any,
               params: dict[str, Any], meta: "CallMeta",
               run: Callable[["list[Call]"], Any]) -> Any:
    """``run(calls)``, or the cached answer to the same request; a complete answer is stored."""
    entry = entry_for(cache, options, request_payload("completion", calls, messages, params))
    if entry is None:
        return run(calls)
    key, controls = entry
    if controls.read:
        hit = hit_of(cache, cache.get(key), ModelResponse)
        if hit is not None:
            return _serve(hit, calls, meta, params, asynchronous=False)
    result = run(calls)
    if not controls.write:
        return result
    if isinstance(result, Stream):
        def save(delivered: list[Any]) -> None:
            built = built_answer(delivered, _usage_of(calls))
            value = None if built is None else stored(cache, built)
            if value is not None:
                cache.set(key, value, controls.ttl)

        keep_when_complete(result, save)
        return result
    value = stored(cache, result)
    if value is not None:
        cache.set(key, value, controls.ttl)
    return result


async def arun_cached(cache: "Cache", options: Any, calls: "list[Call]", messages: Any,
                      params: dict[str, Any], meta: "CallMeta",
                      run: Callable[["list[Call]"], Awaitable[Any]]) -> Any:
    """The async twin of ``run_cached`` (same keys, same values: sync and async share hits)."""
    entry = entry_for(cache, options, request_payload("completion", calls, messages, params))
    if entry is None:
        return await run(calls)
    key, controls = entry
    if controls.read:
        hit = hit_of(cache, await cache.aget(key), ModelResponse)
        if hit is not None:
            return _serve(hit, calls, meta, params, asynchronous=True)
    result = await run(calls)
    if not controls.write:
        return result
    if isinstance(result, AsyncStream):
        async def save(delivered: list[Any]) -> None:
            built = built_answer(delivered, _usage_of(calls))
            value = None if built is None else stored(cache, built)
            if value is not None:
                await cache.aset(key, value, controls.ttl)

        akeep_when_complete(result, save)
        return result
    value = stored(cache, result)
    if value is not None:
        await cache.aset(key, value, controls.ttl)
    return result


class PreparedEmbedding(Protocol):
    """What the cache needs of a prepared ``embedding()`` call (``embeddings.EmbeddingCall``)."""

    provider: str
    provider_model: str
    api_base: str
    input: list[Any]
    params: dict[str, Any]
    extra_body: dict[str, Any]

    @property
    def calls(self) -> "list[Call]": ...


def embedding_payload(prepared: PreparedEmbedding) -> dict[str, Any]:
    payload: dict[str, Any] = {"call": "embedding", "provider": prepared.provider,
                               "model": prepared.provider_model, "api_base": prepared.api_base,
                               "input": prepared.input, "params": answer_params(prepared.params)}
    if prepared.extra_body:
        payload["extra_body"] = prepared.extra_body
    return payload


def _embedding_hit(hit: Any, prepared: PreparedEmbedding, meta: "CallMeta") -> Any:
    call = prepared.calls[0]
    call.model, call.usage = hit.model, hit.usage
    meta.cache_hit = True
    return hit


def run_cached_embedding(cache: "Cache", options: Any, prepared: PreparedEmbedding,
                         meta: "CallMeta", run: Callable[[], Any], cls: Any) -> Any:
    """``run()`` (the embedding call's batches), or the cached ``cls`` answer to the same
    request (one entry for the whole input, however many batches it takes)."""
    entry = entry_for(cache, options, embedding_payload(prepared))
    if entry is None:
        return run()
    key, controls = entry
    if controls.read:
        hit = hit_of(cache, cache.get(key), cls)
        if hit is not None:
            return _embedding_hit(hit, prepared, meta)
    result = run()
    value = stored(cache, result) if controls.write else None
    if value is not None:
        cache.set(key, value, controls.ttl)
    return result


async def arun_cached_embedding(cache: "Cache", options: Any, prepared: PreparedEmbedding,
                                meta: "CallMeta", run: Callable[[], Awaitable[Any]],
                                cls: Any) -> Any:
    """The async twin of ``run_cached_embedding``."""
    entry = entry_for(cache, options, embedding_payload(prepared))
    if entry is None:
        return await run()
    key, controls = entry
    if controls.read:
        hit = hit_of(cache, await cache.aget(key), cls)
        if hit is not None:
            return _embedding_hit(hit, prepared, meta)
    result = await run()
    value = stored(cache, result) if controls.write else None
    if value is not None:
        await cache.aset(key, value, controls.ttl)
    return result
