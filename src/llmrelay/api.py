"""``completion()`` and ``acompletion()``: prepare a call, send it with retries, translate back.

The sync and async paths are the same steps in the same order; every decision they make is a
method of ``Call``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Literal,
    overload,
)

from . import hooks, transport
from .call import Call, prepare
from .concurrently import arun_all, run_all
from .exceptions import APIError
from .fanout import achain_streams, chain_streams, fan_out_count, merge_responses
from .providers.base import FollowUp, HTTPRequest
from .registry import get_adapter, get_provider
from .scope import SCOPE
from .sending import asend_with_retries, send_with_retries, with_deadline
from .settle import (
    StreamSettle,
    areport_unprepared,
    call_start,
    new_meta,
    report_unprepared,
    settle,
)
from .streaming import AsyncStream, Stream
from .types import attach_meta

if TYPE_CHECKING:
    from .transport import AsyncResponse, Response, TimeoutTypes
    from .types import ModelResponse, ModelResponseChunk

__all__ = ["acompletion", "completion"]


def _given(functions: Any, function_call: Any, tools: Any, tool_choice: Any,
           parallel_tool_calls: Any, temperature: Any, top_p: Any, n: Any, stream: Any,
           stream_options: Any, stop: Any, max_tokens: Any, max_completion_tokens: Any,
           presence_penalty: Any, frequency_penalty: Any, logit_bias: Any, user: Any, seed: Any,
           response_format: Any, logprobs: Any, top_logprobs: Any,
           extras: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI parameters a call set (``None`` is unset) and the provider extras, in the
    signature's order. Tested one by one: a dict of all 21 filtered by a comprehension costs
    ~1 us a call, when most are unset."""
    params: dict[str, Any] = {}
    if functions is not None:
        params["functions"] = functions
    if function_call is not None:
        params["function_call"] = function_call
    if tools is not None:
        params["tools"] = tools
    if tool_choice is not None:
        params["tool_choice"] = tool_choice
    if parallel_tool_calls is not None:
        params["parallel_tool_calls"] = parallel_tool_calls
    if temperature is not None:
        params["temperature"] = temperature
    if top_p is not None:
        params["top_p"] = top_p
    if n is not None:
        params["n"] = n
    if stream is not None:
        params["stream"] = stream
    if stream_options is not None:
        params["stream_options"] = stream_options
    if stop is not None:
        params["stop"] = stop
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if max_completion_tokens is not None:
        params["max_completion_tokens"] = max_completion_tokens
    if presence_penalty is not None:
        params["presence_penalty"] = presence_penalty
    if frequency_penalty is not None:
        params["frequency_penalty"] = frequency_penalty
    if logit_bias is not None:
        params["logit_bias"] = logit_bias
    if user is not None:
        params["user"] = user
    if seed is not None:
        params["seed"] = seed
    if response_format is not None:
        params["response_format"] = response_format
    if logprobs is not None:
        params["logprobs"] = logprobs
    if top_logprobs is not None:
        params["top_logprobs"] = top_logprobs
    for key, value in extras.items():
        if value is not None:
            params[key] = value
    return params


def _prepare_calls(model: str, messages: Any, params: dict[str, Any], own: dict[str, Any]) -> list[Call]:
    """One ``Call``, or ``n`` single-choice calls where the provider cannot answer ``n`` itself.
    ``params`` holds only the parameters that were set."""
    options = {"api_version": own.pop("api_version"), "azure_ad_token": own.pop("azure_ad_token")}
    copies = fan_out_count(get_adapter(get_provider(model, azure=own["azure"])[0]), params) \
        if params.get("n") else 1
    if copies == 1:
        return [prepare(model, messages, params, options=options, **own)]
    single = {k: v for k, v in params.items() if k != "n"}
    return [prepare(model, messages, single, options=options, **own) for _ in range(copies)]


# ---- sync -----------------------------------------------------------------------------------


def _run(call: Call) -> "ModelResponse | Stream[ModelResponseChunk]":
    request, cancel = call.request, None
    try:
        while True:
            response = send_with_retries(call, request)
            if request.stream:
                # The stream now owns the cancel: it sends it if abandoned before its end.
                owned, cancel = cancel, None
                return _open_stream(call, response, owned)
            step = call.parse(response)
            if not isinstance(step, FollowUp):
                call.model, call.usage = step.model, step.usage
                return step
            cancel = step.cancel or cancel
            if step.state is not None:
                call.ctx = replace(call.ctx, state=step.state)
            _sleep_until(call, transport.pause(step.delay))
            request = step.request
    except BaseException:
        if cancel is not None:
            _cancel(call, cancel)
        raise


def _sleep_until(call: Call, delay: float) -> None:
    remaining = call.remaining()
    if remaining is not None and delay >= remaining:
        time.sleep(max(remaining, 0))
        call.check_deadline()
    time.sleep(delay)


def _cancel(call: Call, request: HTTPRequest) -> None:
    """Best effort: stop remote work the caller gave up on."""
    try:
        transport.send(call.sign(request), 10.0)
    except APIError:
        pass


def _open_stream(call: Call, response: "Response",
                 cancel: HTTPRequest | None = None) -> "Stream[ModelResponseChunk]":
    """Read up to the first chunk now (so errors and ``force_timeout`` surface here)."""
    chunks = _iter_chunks(call, response, cancel)
    try:
        first = next(chunks)
    except StopIteration:
        return Stream(iter(()))
    call.first_chunk_at = time.perf_counter()
    call.model = first.model
    call.deadline = None  # force_timeout covers a stream until its first chunk
    return Stream(chunks, first)


def _iter_chunks(call: Call, response: "Response",
                 cancel: HTTPRequest | None = None) -> "Iterator[ModelResponseChunk]":
    translator = call.adapter.stream_translator(call.ctx)
    decoder = call.adapter.stream_decoder()
    event = None
    complete = False
    try:
        for data in response.iter_bytes():
            events = decoder.feed(data)
            for event in events:
                for chunk in translator.feed(event):
                    if chunk.usage is None or _keep_usage(call, chunk):
                        yield chunk
            if call.deadline is not None and not events:
                call.check_deadline()  # only comments or partial events so far
        for event in decoder.flush():
            for chunk in translator.feed(event):
                if chunk.usage is None or _keep_usage(call, chunk):
                    yield chunk
        for chunk in translator.finish():
            if chunk.usage is None or _keep_usage(call, chunk):
                yield chunk
        complete = True
    except APIError as exc:
        raise call.stream_error(exc, response.status) from exc.__cause__
    except Exception as exc:
        raise call.malformed_event(exc, event, response.status) from exc
    finally:
        response.close()
        if cancel is not None and not complete:
            _cancel(call, cancel)


def _keep_usage(call: Call, chunk: "ModelResponseChunk") -> bool:
    """Note a chunk's usage for ``meta``; ``False`` for a usage-only chunk the caller did not
    ask for (it was requested to price the call)."""
    call.usage = chunk.usage
    return bool(chunk.choices) or not call.hide_usage


# ---- async ----------------------------------------------------------------------------------


async def _arun(call: Call) -> "ModelResponse | AsyncStream[ModelResponseChunk]":
    request, cancel = call.request, None
    try:
        while True:
            response = await asend_with_retries(call, request)
            if request.stream:
                owned, cancel = cancel, None
                return await _aopen_stream(call, response, owned)
            step = call.parse(response)
            if not isinstance(step, FollowUp):
                call.model, call.usage = step.model, step.usage
                return step
            cancel = step.cancel or cancel
            if step.state is not None:
                call.ctx = replace(call.ctx, state=step.state)
            await asyncio.sleep(transport.pause(step.delay))
            request = step.request
    except BaseException:
        if cancel is not None:
            await asyncio.shield(_acancel(call, cancel))
        raise


async def _acancel(call: Call, request: HTTPRequest) -> None:
    try:
        await transport.asend(call.sign(request), 10.0)
    except APIError:
        pass


async def _aopen_stream(call: Call, response: "AsyncResponse",
                        cancel: HTTPRequest | None = None) -> "AsyncStream[ModelResponseChunk]":
    chunks = _aiter_chunks(call, response, cancel)
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        await chunks.aclose()
        return AsyncStream(chunks)
    call.first_chunk_at = time.perf_counter()
    call.model = first.model
    return AsyncStream(chunks, first)


async def _aiter_chunks(call: Call, response: "AsyncResponse",
                        cancel: HTTPRequest | None = None) -> "AsyncGenerator[ModelResponseChunk, None]":
    translator = call.adapter.stream_translator(call.ctx)
    decoder = call.adapter.stream_decoder()
    event = None
    complete = False
    try:
        async for data in response.aiter_bytes():
            for event in decoder.feed(data):
                for chunk in translator.feed(event):
                    if chunk.usage is None or _keep_usage(call, chunk):
                        yield chunk
        for event in decoder.flush():
            for chunk in translator.feed(event):
                if chunk.usage is None or _keep_usage(call, chunk):
                    yield chunk
        for chunk in translator.finish():
            if chunk.usage is None or _keep_usage(call, chunk):
                yield chunk
        complete = True
    except APIError as exc:
        raise call.stream_error(exc, response.status) from exc.__cause__
    except Exception as exc:
        raise call.malformed_event(exc, event, response.status) from exc
    finally:
        await response.aclose()
        if cancel is not None and not complete:
            await asyncio.shield(_acancel(call, cancel))


# ---- public ---------------------------------------------------------------------------------


def _run_all(calls: list[Call]) -> Any:
    if len(calls) == 1:
        return _run(calls[0])
    if calls[0].stream:
        return Stream(chain_streams(_run(c) for c in calls))  # type: ignore[misc]
    return merge_responses(run_all(_run, calls, calls, len(calls), "llmrelay-n"))  # type: ignore[arg-type]


def _arun_all(calls: list[Call]) -> Awaitable[Any]:
    """An awaitable of the answer (for one call, its own coroutine: one layer fewer)."""
    if len(calls) == 1:
        call = calls[0]
        return _arun(call) if call.deadline is None else with_deadline(call, _arun(call))
    return _arun_many(calls)


async def _arun_many(calls: list[Call]) -> Any:
    if calls[0].stream:

        async def streams() -> AsyncIterator[Any]:
            for c in calls:
                yield await with_deadline(c, _arun(c))

        return AsyncStream(achain_streams(streams()))
    results = await arun_all(lambda c: with_deadline(c, _arun(c)), calls, len(calls))
    return merge_responses(results)  # type: ignore[arg-type]


def _complete(model: str, messages: Any, params: dict[str, Any], own: dict[str, Any],
              callbacks: list[Any] | None, cache: Any = None) -> Any:
    """Prepare, run, settle ``meta`` and tell the hooks: the whole of ``completion()``.

    ``cache`` is the call's cache controls; ``llmrelay.cache`` is read once, here."""
    started = time.perf_counter()
    scope = SCOPE.get()
    store = sys.modules["llmrelay"].cache
    try:
        calls = _prepare_calls(model, messages, params, own)
    except APIError as exc:
        report_unprepared("completion", exc, model, callbacks, scope)
        raise
    meta = new_meta(calls, model, scope)
    run = hooks.begin(callbacks, scope, lambda: call_start(
        "completion", model, calls, messages, params, scope, started))
    try:
        if store is None or (scope is not None and not scope.cache):
            result = _run_all(calls)
        else:
            from .caching.calls import run_cached

            result = run_cached(store, cache, calls, messages, params, meta, _run_all)
    except BaseException as exc:
        if run is not None:
            settle(meta, calls, started)
            run.failure(exc, meta)
        raise
    if isinstance(result, Stream):
        result.meta = meta
        result._on_end = StreamSettle(meta, calls, started, run)
        if run is not None:
            run.stream_open(result)
        return result
    settle(meta, calls, started)
    attach_meta(result, meta)
    if run is not None:
        run.success(result, meta)
    return result


async def _acomplete(model: str, messages: Any, params: dict[str, Any], own: dict[str, Any],
                     callbacks: list[Any] | None, cache: Any = None) -> Any:
    """The async twin of ``_complete``."""
    started = time.perf_counter()
    scope = SCOPE.get()
    store = sys.modules["llmrelay"].cache
    try:
        calls = _prepare_calls(model, messages, params, own)
    except APIError as exc:
        await areport_unprepared("completion", exc, model, callbacks, scope)
        raise
    meta = new_meta(calls, model, scope)
    run = hooks.begin(callbacks, scope, lambda: call_start(
        "completion", model, calls, messages, params, scope, started))
    try:
        if store is None or (scope is not None and not scope.cache):
            result = await _arun_all(calls)
        else:
            from .caching.calls import arun_cached

            result = await arun_cached(store, cache, calls, messages, params, meta, _arun_all)
    except BaseException as exc:
        if run is not None:
            settle(meta, calls, started)
            await run.afailure(exc, meta)
        raise
    if isinstance(result, AsyncStream):
        result.meta = meta
        result._on_end = StreamSettle(meta, calls, started, run)
        if run is not None:
            run.stream_open(result)
        return result
    settle(meta, calls, started)
    attach_meta(result, meta)
    if run is not None:
        await run.asuccess(result, meta)
    return result


@overload
def completion(model: str, messages: list[dict[str, Any]], *, stream: Literal[True], **kwargs: Any) -> "Stream[ModelResponseChunk]": ...
@overload
def completion(model: str, messages: list[dict[str, Any]], *, stream: Literal[False] | None = None, **kwargs: Any) -> "ModelResponse": ...
def completion(
    model: str,
    messages: list[dict[str, Any]],
    *,
    functions: list[dict[str, Any]] | None = None,
    function_call: str | dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | dict[str, Any] | None = None,
    parallel_tool_calls: bool | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    n: int | None = None,
    stream: bool | None = None,
    stream_options: dict[str, Any] | None = None,
    stop: str | list[str] | None = None,
    max_tokens: int | None = None,
    max_completion_tokens: int | None = None,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    logit_bias: dict[str, float] | None = None,
    user: str | None = None,
    seed: int | None = None,
    response_format: dict[str, Any] | None = None,
    logprobs: bool | None = None,
    top_logprobs: int | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    api_version: str | None = None,
    azure_ad_token: str | None = None,
    timeout: "TimeoutTypes" = None,
    force_timeout: float | None = None,
    azure: bool = False,
    logger_fn: Callable[[dict[str, Any]], Any] | None = None,
    verbose: bool = False,
    num_retries: int | None = None,
    drop_params: bool = False,
    extra_headers: dict[str, str] | None = None,
    extra_body: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
    cache: dict[str, Any] | None = None,
    **kwargs: Any,
) -> "ModelResponse | Stream[ModelResponseChunk]":
    """Call any provider with an OpenAI Chat Completions request; get OpenAI shapes back.

    >>> resp = llmrelay.completion(model="claude-3-5-haiku-latest",
    ...                            messages=[{"role": "user", "content": "Hi"}])
    >>> resp.choices[0].message.content
    """
    params = _given(functions, function_call, tools, tool_choice, parallel_tool_calls,
                    temperature, top_p, n, stream, stream_options, stop, max_tokens,
                    max_completion_tokens, presence_penalty, frequency_penalty, logit_bias,
                    user, seed, response_format, logprobs, top_logprobs, kwargs)
    own = {
        "api_key": api_key, "api_base": api_base, "api_version": api_version,
        "azure_ad_token": azure_ad_token, "timeout": timeout, "force_timeout": force_timeout,
        "azure": azure, "logger_fn": logger_fn, "verbose": verbose, "num_retries": num_retries,
        "drop_params": drop_params, "extra_headers": extra_headers, "extra_body": extra_body,
    }
    return _complete(model, messages, params, own, callbacks, cache)  # type: ignore[no-any-return]


@overload
async def acompletion(model: str, messages: list[dict[str, Any]], *, stream: Literal[True], **kwargs: Any) -> "AsyncStream[ModelResponseChunk]": ...
@overload
async def acompletion(model: str, messages: list[dict[str, Any]], *, stream: Literal[False] | None = None, **kwargs: Any) -> "ModelResponse": ...
async def acompletion(
    model: str,
    messages: list[dict[str, Any]],
    *,
    functions: list[dict[str, Any]] | None = None,
    function_call: str | dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | dict[str, Any] | None = None,
    parallel_tool_calls: bool | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    n: int | None = None,
    stream: bool | None = None,
    stream_options: dict[str, Any] | None = None,
    stop: str | list[str] | None = None,
    max_tokens: int | None = None,
    max_completion_tokens: int | None = None,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    logit_bias: dict[str, float] | None = None,
    user: str | None = None,
    seed: int | None = None,
    response_format: dict[str, Any] | None = None,
    logprobs: bool | None = None,
    top_logprobs: int | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    api_version: str | None = None,
    azure_ad_token: str | None = None,
    timeout: "TimeoutTypes" = None,
    force_timeout: float | None = None,
    azure: bool = False,
    logger_fn: Callable[[dict[str, Any]], Any] | None = None,
    verbose: bool = False,
    num_retries: int | None = None,
    drop_params: bool = False,
    extra_headers: dict[str, str] | None = None,
    extra_body: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
    cache: dict[str, Any] | None = None,
    **kwargs: Any,
) -> "ModelResponse | AsyncStream[ModelResponseChunk]":
    """The awaitable twin of ``completion``; with ``stream=True`` an async iterator of chunks.

    >>> resp = await llmrelay.acompletion(model="gpt-4o-mini",
    ...                                   messages=[{"role": "user", "content": "Hi"}])
    """
    params = _given(functions, function_call, tools, tool_choice, parallel_tool_calls,
                    temperature, top_p, n, stream, stream_options, stop, max_tokens,
                    max_completion_tokens, presence_penalty, frequency_penalty, logit_bias,
                    user, seed, response_format, logprobs, top_logprobs, kwargs)
    own = {
        "api_key": api_key, "api_base": api_base, "api_version": api_version,
        "azure_ad_token": azure_ad_token, "timeout": timeout, "force_timeout": force_timeout,
        "azure": azure, "logger_fn": logger_fn, "verbose": verbose, "num_retries": num_retries,
        "drop_params": drop_params, "extra_headers": extra_headers, "extra_body": extra_body,
    }
    return await _acomplete(model, messages, params, own, callbacks, cache)  # type: ignore[no-any-return]
