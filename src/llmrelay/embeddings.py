"""``embedding()`` and ``aembedding()``: one call split into the provider's batches, sent at most
``MAX_CONCURRENT`` at a time with the retries, timeouts and logging of ``completion()``, and
answered as one OpenAI embeddings list in input order.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from . import hooks, transport
from .call import Call, deadline_of, new_call
from .capabilities import EmbeddingFamily, apply_capabilities, find_family
from .concurrently import arun_all, run_all
from .config import ProviderSettings
from .embedding_types import (
    CollectorPause,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    embedding_response,
)
from .exceptions import APIError, BadRequestError
from .providers.base import CallContext, HTTPRequest
from .registry import get_adapter, get_provider
from .scope import SCOPE
from .sending import asend_with_retries, send_with_retries, with_deadline
from .settle import areport_unprepared, call_start, new_meta, report_unprepared, settle
from .types import attach_meta
from .validation import validate_call_options, validate_options

if TYPE_CHECKING:
    from .meta import CallMeta
    from .providers.base import Adapter, EmbeddingAdapter
    from .scope import CallScope
    from .transport import AsyncResponse, Response, TimeoutTypes

__all__ = ["aembedding", "embedding"]

# Batches of one call in flight at once (API.md "Embeddings").
MAX_CONCURRENT = 8

ENCODING_FORMATS = ("float", "base64")


@dataclass
class Batch:
    """One request of an embedding call: its ``Call`` (retries, deadline, log) and the request
    the provider's parser reads the answer against."""

    call: Call
    request: EmbeddingRequest
    parser: Callable[[Any, EmbeddingRequest], EmbeddingResponse]
    # The endpoint's ``usage_header``: where the input tokens are when the body has none.
    usage_header: str | None = None
    # Set on a call's only batch: the collector is held from its parse to the call's return.
    pause: CollectorPause | None = None

    def translate(self, body: Any) -> EmbeddingResponse:
        if self.pause is not None:
            self.pause.hold()
        return self.parser(body, self.request)


@dataclass
class EmbeddingCall:
    """A prepared embedding call; nothing sent yet.

    What the answer depends on, for a cache key: ``provider``, ``provider_model``, ``api_base``,
    ``input`` (normalised to a list), ``params`` (the OpenAI parameters and provider extras as
    the caller gave them, no credentials) and ``extra_body``.
    """

    model: str
    provider: str
    provider_model: str
    api_base: str
    input: list[Any]
    params: dict[str, Any]
    extra_body: dict[str, Any]
    batches: list[Batch]

    @property
    def calls(self) -> list[Call]:
        return [b.call for b in self.batches]


def normalize_input(value: Any) -> tuple[list[Any], bool]:
    """``(inputs, are_token_ids)``: a string, a list of strings, a list of token ids (one input)
    or a list of token-id lists, as a list of inputs."""
    if isinstance(value, str):
        return [value], False
    if isinstance(value, (list, tuple)) and value:
        if set(map(type, value)) == {str}:  # a thousand inputs: one pass in C
            return list(value), False
        if all(_is_token(x) for x in value):
            return [list(value)], True
        if all(isinstance(x, (list, tuple)) and x and all(_is_token(t) for t in x) for x in value):
            return [list(x) for x in value], True
    if isinstance(value, (list, tuple)) and not value:
        raise BadRequestError("input must not be empty")
    raise BadRequestError(
        "input must be a string, a list of strings, a list of token ids or a list of token-id "
        f"lists; got {type(value).__name__}: {value!r:.200}"
    )


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def validate_params(params: dict[str, Any]) -> None:
    """The OpenAI embedding parameters' types, checked before any request."""
    fmt = params.get("encoding_format")
    if fmt is not None and fmt not in ENCODING_FORMATS:
        raise BadRequestError(f"encoding_format must be 'float' or 'base64', got {fmt!r}")
    dims = params.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
        raise BadRequestError(f"dimensions must be a positive integer, got {dims!r}")
    user = params.get("user")
    if user is not None and not isinstance(user, str):
        raise BadRequestError(f"user must be a string, got {user!r}")


def embedding_family(embeddings: "EmbeddingAdapter | None", provider: str,
                     provider_model: str, model: str) -> "tuple[EmbeddingAdapter, EmbeddingFamily]":
    """The endpoint and the capability row of ``provider_model``; ``BadRequestError`` when
    the provider or the model does not embed."""
    if embeddings is None:
        raise BadRequestError(f"{provider} has no embeddings endpoint (model {model!r})",
                              provider=provider, model=provider_model)
    family = find_family(embeddings.families, provider_model)  # type: ignore[arg-type]
    if not isinstance(family, EmbeddingFamily) or not family.embeds:
        raise BadRequestError(f"{model!r} is not an embedding model of {provider}",
                              provider=provider, model=provider_model)
    return embeddings, family


def prepare_embedding(model: str, input: Any, params: dict[str, Any],
                      own: dict[str, Any]) -> EmbeddingCall:
    """Validate, route, split and translate an embedding call; nothing is sent yet."""
    params = {k: v for k, v in params.items() if v is not None}
    validate_params(params)
    validate_call_options(own["timeout"], own["force_timeout"], own["num_retries"],
                          own["logger_fn"])
    validate_options(own["api_key"], own["api_base"], own["extra_headers"], own["extra_body"])
    inputs, token_ids = normalize_input(input)
    provider, provider_model = get_provider(model, azure=own["azure"])
    adapter = get_adapter(provider)
    endpoint, family = embedding_family(adapter.embeddings, provider, provider_model, model)
    # Provider options given as keywords (``aws_region_name=``) are settings, not body fields.
    options = {"api_version": own["api_version"], "azure_ad_token": own["azure_ad_token"],
               "timeout": own["timeout"], "force_timeout": own["force_timeout"],
               **{k: v for k, v in params.items() if k in adapter.settings_env}}
    params = {k: v for k, v in params.items() if k not in adapter.settings_env}
    if token_ids and not family.token_ids:
        raise BadRequestError(f"{provider} embeds text only; {model!r} cannot take token ids",
                              provider=provider, model=provider_model)
    fmt = params.pop("encoding_format", None)
    fitted = apply_capabilities(family, params, drop_params=own["drop_params"],
                                provider=provider, model=provider_model)
    settings = _settings(adapter, options, own, provider_model)
    ctx = CallContext(provider, provider_model, {"model": provider_model}, settings)
    batches = _split(adapter, endpoint, family, ctx, inputs, fitted, fmt, own)
    shown = {**params, **({"encoding_format": fmt} if fmt is not None else {})}
    return EmbeddingCall(model, provider, provider_model, settings.base_url, inputs, shown,
                         dict(settings.extra_body), batches)


def _settings(adapter: "Adapter", options: dict[str, Any], own: dict[str, Any],
              model: str) -> ProviderSettings:
    try:
        return ProviderSettings.resolve(
            adapter, api_key=own["api_key"], api_base=own["api_base"], options=options,
            extra_headers=own["extra_headers"], extra_body=own["extra_body"],
            drop_params=own["drop_params"], keyless=transport.replaying(),
        )
    except APIError as exc:
        exc.model = exc.model or model
        raise


def _split(adapter: "Adapter", endpoint: "EmbeddingAdapter", family: EmbeddingFamily,
           ctx: CallContext, inputs: list[Any], fitted: dict[str, Any], fmt: str | None,
           own: dict[str, Any]) -> list[Batch]:
    """One ``Batch`` per ``family.batch_limit`` inputs, all under one ``force_timeout``."""
    deadline = deadline_of(own["force_timeout"])
    limit = family.batch_limit
    batches = []
    for start in range(0, len(inputs), limit):
        wire: EmbeddingRequest = {"model": ctx.model, "input": inputs[start:start + limit],
                                  **fitted}  # type: ignore[typeddict-item]
        asked = wire
        if fmt is not None:
            # Floats are every provider's default; base64 goes on the wire only where the
            # provider answers it, otherwise the parser encodes the floats.
            asked = {**wire, "encoding_format": fmt}
            if family.native_base64:
                wire = asked
        request = _build(endpoint.build_request, wire, ctx.settings, ctx.provider, ctx.model)
        call = new_call(adapter, ctx, request, timeout=own["timeout"], deadline=deadline,
                        num_retries=own["num_retries"], logger_fn=own["logger_fn"],
                        verbose=own["verbose"])
        batches.append(Batch(call, asked, endpoint.parse_response, endpoint.usage_header))
    return batches


def _build(build: Callable[[EmbeddingRequest, ProviderSettings], HTTPRequest],
           request: EmbeddingRequest, settings: ProviderSettings, provider: str,
           model: str) -> HTTPRequest:
    try:
        return build(request, settings)
    except APIError as exc:
        exc.provider, exc.model = exc.provider or provider, exc.model or model
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadRequestError(f"Cannot translate this embedding request for {provider}: {exc!r}",
                              provider=provider, model=model) from exc


def merge(results: Sequence[EmbeddingResponse]) -> EmbeddingResponse:
    """One response from each batch's, in order: vectors renumbered, usage summed."""
    if len(results) == 1:
        return results[0]
    data = [{"index": i, "embedding": item.embedding}
            for i, item in enumerate(item for result in results for item in result.data)]
    usages = [r.usage for r in results if r.usage is not None]
    usage = EmbeddingUsage(prompt_tokens=sum(u.prompt_tokens for u in usages),
                           total_tokens=sum(u.total_tokens for u in usages)) if usages else None
    return embedding_response({"model": results[0].model, "data": data, "usage": usage})


# ---- sync -----------------------------------------------------------------------------------


def _run_batch(batch: Batch) -> EmbeddingResponse:
    call = batch.call
    response = send_with_retries(call, call.request)
    return _answer(batch, call.parse_with(response, batch.translate), response)


def _answer(batch: Batch, result: EmbeddingResponse,
            response: "Response | AsyncResponse") -> EmbeddingResponse:
    call = batch.call
    sent = len(batch.request["input"])
    if len(result.data) != sent:
        raise call.enrich(APIError(
            f"{call.provider} returned {len(result.data)} embeddings for {sent} inputs"))
    if result.usage is None and batch.usage_header is not None:
        result.usage = _header_usage(response.headers.get(batch.usage_header))
    call.model, call.usage = result.model, result.usage
    return result


def _header_usage(value: str | None) -> EmbeddingUsage | None:
    """The usage a token-count header states; ``None`` when it is missing or not a count."""
    try:
        tokens = int(value) if value is not None else -1
    except ValueError:
        return None
    return EmbeddingUsage.of_prompt(tokens) if tokens >= 0 else None


def _run_batches(batches: list[Batch]) -> EmbeddingResponse:
    if len(batches) == 1:
        return _run_batch(batches[0])
    return merge(run_all(_run_batch, batches, [b.call for b in batches], MAX_CONCURRENT,
                         "llmrelay-embedding"))


def _embed(model: str, input: Any, params: dict[str, Any], own: dict[str, Any],
           callbacks: list[Any] | None, cache: Any = None) -> EmbeddingResponse:
    """Prepare, run, settle ``meta`` and tell the hooks: the whole of ``embedding()``.

    ``cache`` is the call's cache controls; ``llmrelay.cache`` is read once, here."""
    started = time.perf_counter()
    scope = SCOPE.get()
    store = sys.modules["llmrelay"].cache
    try:
        prepared = prepare_embedding(model, input, params, own)
    except APIError as exc:
        report_unprepared("embedding", exc, model, callbacks, scope)
        raise
    calls = prepared.calls
    meta = new_meta(calls, model, scope)
    run = hooks.begin(callbacks, scope, _starter(prepared, scope, started))
    pause = _pause_for(prepared.batches)
    try:
        if store is None or (scope is not None and not scope.cache):
            result = _run_batches(prepared.batches)
        else:
            from .caching.calls import run_cached_embedding

            result = run_cached_embedding(store, cache, prepared, meta,
                                          lambda: _run_batches(prepared.batches),
                                          EmbeddingResponse)
    except BaseException as exc:
        pause.release()
        if run is not None:
            settle(meta, calls, started)
            run.failure(exc, meta)
        raise
    try:
        settle(meta, calls, started)
        _show(result, meta)
    finally:
        pause.release()
    if run is not None:
        run.success(result, meta)
    return result


def _show(result: EmbeddingResponse, meta: "CallMeta") -> None:
    """``meta`` attached; a provider that counts no tokens (Gemini's API) reads as zero tokens
    in ``usage``, while ``meta.usage`` stays ``None`` so the cost is unknown, not free."""
    if result.usage is None:
        result.usage = EmbeddingUsage()
    attach_meta(result, meta)


def _pause_for(batches: list[Batch]) -> CollectorPause:
    """The call's collector pause, held by its batch's parse when there is one batch (batches
    in threads each pause only while building their own response)."""
    pause = CollectorPause()
    if len(batches) == 1:
        batches[0].pause = pause
    return pause


def _starter(prepared: EmbeddingCall, scope: "CallScope | None", started: float) -> Any:
    return lambda: call_start("embedding", prepared.model, prepared.calls, prepared.input,
                              prepared.params, scope, started)


# ---- async ----------------------------------------------------------------------------------


async def _arun_batch(batch: Batch) -> EmbeddingResponse:
    call = batch.call
    response = await asend_with_retries(call, call.request)
    return _answer(batch, call.parse_with(response, batch.translate), response)


async def _arun_batches(batches: list[Batch]) -> EmbeddingResponse:
    if len(batches) == 1:
        return await _arun_batch(batches[0])
    return merge(await arun_all(_arun_batch, batches, MAX_CONCURRENT))


async def _aembed(model: str, input: Any, params: dict[str, Any], own: dict[str, Any],
                  callbacks: list[Any] | None, cache: Any = None) -> EmbeddingResponse:
    """The async twin of ``_embed``."""
    started = time.perf_counter()
    scope = SCOPE.get()
    store = sys.modules["llmrelay"].cache
    try:
        prepared = prepare_embedding(model, input, params, own)
    except APIError as exc:
        await areport_unprepared("embedding", exc, model, callbacks, scope)
        raise
    calls = prepared.calls
    meta = new_meta(calls, model, scope)
    run = hooks.begin(callbacks, scope, _starter(prepared, scope, started))
    pause = _pause_for(prepared.batches)
    try:
        def running() -> Any:
            batches = _arun_batches(prepared.batches)
            return batches if calls[0].deadline is None else with_deadline(calls[0], batches)

        if store is None or (scope is not None and not scope.cache):
            result: EmbeddingResponse = await running()
        else:
            from .caching.calls import arun_cached_embedding

            result = await arun_cached_embedding(store, cache, prepared, meta, running,
                                                 EmbeddingResponse)
    except BaseException as exc:
        pause.release()
        if run is not None:
            settle(meta, calls, started)
            await run.afailure(exc, meta)
        raise
    try:
        settle(meta, calls, started)
        _show(result, meta)
    finally:
        pause.release()
    if run is not None:
        await run.asuccess(result, meta)
    return result


# ---- public ---------------------------------------------------------------------------------


def embedding(
    model: str,
    input: str | list[str] | list[int] | list[list[int]],
    *,
    dimensions: int | None = None,
    encoding_format: str | None = None,
    user: str | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    api_version: str | None = None,
    azure_ad_token: str | None = None,
    azure: bool = False,
    timeout: "TimeoutTypes" = None,
    force_timeout: float | None = None,
    num_retries: int | None = None,
    logger_fn: Callable[[dict[str, Any]], Any] | None = None,
    verbose: bool = False,
    drop_params: bool = False,
    extra_headers: dict[str, str] | None = None,
    extra_body: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
    cache: dict[str, Any] | None = None,
    **kwargs: Any,
) -> EmbeddingResponse:
    """Embed a string or a list of them with any provider; get OpenAI's embeddings list back.

    Inputs above the provider's batch limit are sent as several concurrent requests; the
    answer keeps input order and sums usage. Provider extras pass through by keyword
    (``input_type`` for Cohere, ``task_type`` for Gemini).

    >>> resp = llmrelay.embedding(model="text-embedding-3-small", input=["a", "b"])
    >>> resp.data[1].index, len(resp.data[0].embedding)
    (1, 1536)
    """
    params = {"dimensions": dimensions, "encoding_format": encoding_format, "user": user,
              **kwargs}
    own = {
        "api_key": api_key, "api_base": api_base, "api_version": api_version,
        "azure_ad_token": azure_ad_token, "azure": azure, "timeout": timeout,
        "force_timeout": force_timeout, "num_retries": num_retries, "logger_fn": logger_fn,
        "verbose": verbose, "drop_params": drop_params, "extra_headers": extra_headers,
        "extra_body": extra_body,
    }
    return _embed(model, input, params, own, callbacks, cache)


async def aembedding(
    model: str,
    input: str | list[str] | list[int] | list[list[int]],
    *,
    dimensions: int | None = None,
    encoding_format: str | None = None,
    user: str | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    api_version: str | None = None,
    azure_ad_token: str | None = None,
    azure: bool = False,
    timeout: "TimeoutTypes" = None,
    force_timeout: float | None = None,
    num_retries: int | None = None,
    logger_fn: Callable[[dict[str, Any]], Any] | None = None,
    verbose: bool = False,
    drop_params: bool = False,
    extra_headers: dict[str, str] | None = None,
    extra_body: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
    cache: dict[str, Any] | None = None,
    **kwargs: Any,
) -> EmbeddingResponse:
    """The awaitable twin of ``embedding``.

    >>> resp = await llmrelay.aembedding(model="cohere/embed-v4.0", input="hello",
    ...                                  input_type="search_query")
    """
    params = {"dimensions": dimensions, "encoding_format": encoding_format, "user": user,
              **kwargs}
    own = {
        "api_key": api_key, "api_base": api_base, "api_version": api_version,
        "azure_ad_token": azure_ad_token, "azure": azure, "timeout": timeout,
        "force_timeout": force_timeout, "num_retries": num_retries, "logger_fn": logger_fn,
        "verbose": verbose, "drop_params": drop_params, "extra_headers": extra_headers,
        "extra_body": extra_body,
    }
    return await _aembed(model, input, params, own, callbacks, cache)
