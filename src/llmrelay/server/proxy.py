"""``/v1/chat/completions`` and ``/v1/embeddings``: check, admit, call the Router, answer, bill.

Every request that reaches here ends with exactly one spend row, made durable before the
answer's last byte is sent (for a stream: before ``data: [DONE]``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from pydantic_core import to_json

from ..exceptions import APIError
from .auth import authenticate
from .errors import GatewayError, from_upstream
from .forward import Forwarded
from .http import ClientGone, json_headers
from .limits import Demand, Grant, KeyLimits, Refused
from .spend.row import SpendRow

if TYPE_CHECKING:
    from .auth import Principal
    from .http import Request
    from .state import Services

__all__ = ["chat_completions", "embeddings"]

log = logging.getLogger("llmrelay.server")

# llmrelay's own call options and credentials: a client must not point the deployment's key
# at another host, or change how the gateway calls out.
DENIED_PARAMS = frozenset({
    "api_key", "api_base", "base_url", "api_version", "azure_ad_token", "azure", "timeout",
    "force_timeout", "logger_fn", "verbose", "num_retries", "extra_headers", "extra_body",
    "callbacks", "custom_llm_provider", "organization", "aws_access_key_id",
    "aws_secret_access_key", "aws_session_token", "aws_region_name", "aws_bearer_token",
    "mock_response", "headers",
})
INT_PARAMS = ("max_tokens", "max_completion_tokens", "n")
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"),
               (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
DONE = b"data: [DONE]\n\n"


@dataclass
class Outcome:
    """What the spend row and the metrics will say about this request."""

    group: str | None = None
    deployment: str | None = None
    provider: str | None = None
    model: str | None = None
    prompt: int = 0
    completion: int = 0
    total: int | None = None
    cost: float | None = None
    status: str = "success"
    status_code: int = 200
    cache_hit: bool = False
    overhead: float | None = None


class Exchange:
    """One proxied request from arrival to its spend row."""

    def __init__(self, gw: Services, request: Request) -> None:
        self.gw = gw
        self.request = request
        self.outcome = Outcome()
        self.principal: Principal | None = None
        self.grant: Grant | None = None
        self.streaming = False  # the SSE answer has started

    async def admit(self, group: str, demand: Demand) -> None:
        """Limits and budget of the key, taken atomically; 429 when over."""
        principal = self.principal
        record = principal.record if principal is not None else None
        if record is None:
            return
        now = time.time()
        period = record.period(now)
        limits = KeyLimits(record.token, record.rpm_limit, record.tpm_limit,
                           record.max_parallel_requests, record.max_budget,
                           period[1] if period else None, record.period_spend(now))
        if limits.empty:
            return
        try:
            self.grant = await self.gw.limiter.acquire(limits, demand, now)
        except Refused as refusal:
            if refusal.reason == "budget":
                raise GatewayError.rate_limited(refusal.message, refusal.retry_after,
                                                type="budget_exceeded", code="budget_exceeded") from None
            raise GatewayError.rate_limited(refusal.message, refusal.retry_after) from None

    async def settle(self) -> None:
        if self.grant is not None:
            o = self.outcome
            total = o.total if o.total is not None else o.prompt + o.completion
            await self.gw.limiter.settle(self.grant, total, o.cost or 0.0, time.time())
            self.grant = None

    def fill(self, meta: Any, usage: Any, reported_model: str | None) -> None:
        o = self.outcome
        if meta is not None:
            o.deployment = meta.deployment
            o.provider = meta.provider
            o.cache_hit = bool(meta.cache_hit)
        o.model = reported_model or (meta.model if meta is not None else None)
        if usage is not None:
            o.prompt = int(usage.prompt_tokens or 0)
            o.completion = int(getattr(usage, "completion_tokens", 0) or 0)
            o.total = int(usage.total_tokens or (o.prompt + o.completion))
        o.cost = self.gw.accounting.cost(o.deployment, o.prompt, o.completion, _reported_cost(meta))

    def row(self) -> SpendRow:
        o = self.outcome
        p = self.principal
        return SpendRow(
            request_id=self.request.request_id, api_key=p.label if p else None,
            key_alias=p.alias if p else None, model_group=o.group, deployment=o.deployment,
            provider=o.provider, model=o.model, prompt_tokens=o.prompt,
            completion_tokens=o.completion,
            total_tokens=o.total if o.total is not None else o.prompt + o.completion,
            spend=o.cost, start_time=self.request.wall_start, end_time=time.time(),
            status=o.status, status_code=o.status_code, cache_hit=o.cache_hit)

    async def finish(self) -> None:
        """Settle the limits and make the spend row durable (both sent together: with Redis
        they share one round trip), then the metrics."""
        row = self.row()
        if self.grant is not None:
            await asyncio.gather(self.settle(), self.gw.sink.record(row))
        else:
            await self.gw.sink.record(row)
        o = self.outcome
        self.gw.metrics.observe(o.group, o.status, duration=time.perf_counter() - self.request.started,
                                overhead=o.overhead, prompt=o.prompt, completion=o.completion,
                                spend=o.cost)

    def headers(self, extra: list[tuple[bytes, bytes]] | None = None) -> list[tuple[bytes, bytes]]:
        headers = json_headers(self.request.request_id)
        o = self.outcome
        if o.deployment is not None:
            headers.append((b"x-llmrelay-deployment", o.deployment.encode()))
        if o.overhead is not None:
            headers.append((b"x-llmrelay-overhead-ms", f"{o.overhead * 1000:.3f}".encode()))
        if self.gw.lifecycle.draining:
            headers.append((b"connection", b"close"))
        return headers + (extra or [])

    async def fail(self, error: GatewayError) -> None:
        o = self.outcome
        o.status, o.status_code = error.row_status, error.status
        await self.finish()
        if self.streaming:  # the answer has begun: end it with the error as its last event
            await self.request.send({"type": "http.response.body",
                                     "body": b"data: " + error.body() + b"\n\n"})
            return
        extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
        await self.request.respond(error.status, error.body(), self.headers(extra))

    async def start(self) -> dict[str, Any]:
        """Draining, authentication, body: the checks every proxied request goes through."""
        gw = self.gw
        if gw.lifecycle.draining:
            raise GatewayError.unavailable("shutting_down", "The gateway is shutting down; "
                                           "retry on another replica.")
        self.principal = await authenticate(self.request, gw.config.master_key, gw.keys)
        body = await self.request.json_object(gw.config.max_request_bytes)
        model = body.get("model")
        if model is None or model == "":
            raise GatewayError.bad_request("Missing 'model': name a model group.", param="model",
                                           code="missing_model")
        if not isinstance(model, str):
            raise GatewayError.bad_request("'model' must be a string.", param="model")
        self.outcome.group = model
        if not self.principal.allows(model):
            raise GatewayError(403, "permission_error", "model_not_allowed",
                               f"This key may not use model {model!r}.", param="model")
        if model not in gw.groups:
            raise GatewayError.not_found("model_not_found", f"No model group named {model!r}. "
                                         f"This gateway serves: {', '.join(gw.visible_groups(self.principal))}.",
                                         param="model")
        for name in body:
            if name in DENIED_PARAMS:
                raise GatewayError.bad_request(f"'{name}' is set by the gateway's deployment "
                                               "config and may not be sent by clients.", param=name)
        for name in INT_PARAMS:
            value = body.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise GatewayError.bad_request(f"'{name}' must be a positive integer, got {value!r}.",
                                               param=name)
        return body

    def call_args(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**self.gw.config.call_defaults, **body} if self.gw.config.call_defaults else body

    def upstream_failed(self, exc: APIError, started: float) -> GatewayError:
        """The Router gave up: the answer for the client, and what reached which deployment."""
        o = self.outcome
        o.deployment = getattr(exc, "deployment", None)
        o.provider = exc.provider
        if o.deployment is not None:
            waited = time.perf_counter() - started
            o.overhead = max(0.0, time.perf_counter() - self.request.started - waited)
        return from_upstream(exc, self.gw.secrets)


async def _exchange(gw: Services, request: Request,
                    work: Callable[[Exchange, dict[str, Any]], Awaitable[None]]) -> None:
    """The frame every proxied request runs in: one answer, one spend row, whatever happens."""
    ex = Exchange(gw, request)
    gw.lifecycle.begin()
    try:
        try:
            await work(ex, await ex.start())
        except GatewayError as error:
            await ex.fail(error)
        except ClientGone:
            pass
        except Exception:
            log.exception("internal error on %s %s", request.method, request.path)
            await ex.fail(GatewayError(500, "api_error", "internal_error",
                                       "The gateway failed to handle this request.",
                                       row_status="error"))
    finally:
        await ex.settle()
        gw.lifecycle.end()


def _needs_demand(ex: Exchange) -> bool:
    record = ex.principal.record if ex.principal is not None else None
    return record is not None and (record.tpm_limit is not None or record.max_budget is not None)


async def chat_completions(gw: Services, request: Request) -> None:
    await _exchange(gw, request, _chat)


async def _chat(ex: Exchange, body: dict[str, Any]) -> None:
    gw = ex.gw
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or \
            not all(isinstance(m, dict) for m in messages):
        raise GatewayError.bad_request("'messages' must be a non-empty list of message "
                                       "objects.", param="messages")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise GatewayError.bad_request("'stream' must be true or false.", param="stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise GatewayError.bad_request("'stream_options' must be an object.", param="stream_options")
    group = body["model"]
    await ex.admit(group, gw.accounting.chat_demand(group, body) if _needs_demand(ex) else Demand())
    if stream:
        await _stream(ex, body)
        return
    await _answer(ex, gw.router.acompletion, body)


async def embeddings(gw: Services, request: Request) -> None:
    await _exchange(gw, request, _embed)


async def _embed(ex: Exchange, body: dict[str, Any]) -> None:
    gw = ex.gw
    inputs = body.get("input")
    if not (isinstance(inputs, str) or (isinstance(inputs, list) and inputs)):
        raise GatewayError.bad_request("'input' must be a string or a non-empty list.", param="input")
    group = body["model"]
    await ex.admit(group, gw.accounting.embedding_demand(group, inputs) if _needs_demand(ex) else Demand())
    await _answer(ex, gw.router.aembedding, body)


async def _answer(ex: Exchange, call: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
    """Call the Router, bill the answer and send it (what the gateway itself took: overhead)."""
    request = ex.request
    started = time.perf_counter()
    try:
        resp = await call(**ex.call_args(body))
    except APIError as exc:
        raise ex.upstream_failed(exc, started) from None
    waited = time.perf_counter() - started
    ex.fill(getattr(resp, "meta", None), resp.usage, getattr(resp, "model", None))
    payload = resp.model_dump_json().encode()
    ex.outcome.overhead = max(0.0, time.perf_counter() - request.started - waited)
    await ex.finish()
    await request.respond(200, payload, ex.headers())


async def _stream(ex: Exchange, body: dict[str, Any]) -> None:
    """Forward the Router's stream chunk by chunk; bill what was streamed however it ends."""
    gw, request, o = ex.gw, ex.request, ex.outcome
    started = time.perf_counter()
    try:
        stream = await gw.router.acompletion(**ex.call_args(body))
    except APIError as exc:
        raise ex.upstream_failed(exc, started) from None
    waited = time.perf_counter() - started
    meta = getattr(stream, "meta", None)
    if meta is not None:
        o.deployment, o.provider = meta.deployment, meta.provider
    o.overhead = max(0.0, time.perf_counter() - request.started - waited)
    headers = ex.headers()
    headers[0] = SSE_HEADERS[0]
    await request.send({"type": "http.response.start", "status": 200,
                        "headers": headers + SSE_HEADERS[1:]})
    ex.streaming = True
    sent = Forwarded(bool((body.get("stream_options") or {}).get("include_usage")))
    await sent.run(stream, request, gw.secrets)
    _bill_stream(ex, body, sent, getattr(stream, "meta", None))
    await ex.finish()
    if sent.ending == "cut":
        raise asyncio.CancelledError  # the shutdown's, now that the row is written
    if sent.error is not None:
        await request.send({"type": "http.response.body",
                            "body": b"data: " + sent.error.body() + b"\n\n"})
    elif sent.ending == "complete":
        await request.send({"type": "http.response.body", "body": DONE})


def _bill_stream(ex: Exchange, body: dict[str, Any], sent: Forwarded, meta: Any) -> None:
    """The usage of a finished stream, or for one that did not finish, its prompt and the
    streamed text counted offline."""
    o, accounting = ex.outcome, ex.gw.accounting
    o.model = o.model or sent.model
    usage = sent.usage if sent.usage is not None else (meta.usage if meta is not None else None)
    if sent.ending == "complete" and usage is not None:
        ex.fill(meta, usage, o.model)
    else:
        o.prompt = accounting.prompt_tokens(o.group or "", messages=body.get("messages"))
        o.completion = accounting.prompt_tokens(o.group or "", text=sent.text) if sent.texts else 0
        o.total = o.prompt + o.completion
        o.cache_hit = bool(meta.cache_hit) if meta is not None else False
        o.cost = accounting.cost(o.deployment, o.prompt, o.completion, None)
    if sent.ending == "disconnected":
        o.status, o.status_code = "disconnected", 499
    elif sent.ending == "cut":
        o.status, o.status_code = "error", 503
    elif sent.error is not None:
        o.status, o.status_code = "error", sent.error.status


def _reported_cost(meta: Any) -> float | None:
    """``meta.cost``, or ``None`` if pricing fails: a price must never break a billed answer."""
    if meta is None:
        return None
    try:
        cost = meta.cost
    except Exception as exc:
        log.warning("pricing failed for %s: %s", getattr(meta, "model", None), type(exc).__name__)
        return None
    return float(cost) if isinstance(cost, (int, float)) else None


def models_list(gw: Services, principal: Principal) -> bytes:
    return to_json({"object": "list", "data": [
        {"id": name, "object": "model", "created": gw.created, "owned_by": "llmrelay"}
        for name in gw.visible_groups(principal)]})


async def models(gw: Services, request: Request) -> None:
    if gw.lifecycle.draining:
        raise GatewayError.unavailable("shutting_down", "The gateway is shutting down; "
                                       "retry on another replica.")
    principal = await authenticate(request, gw.config.master_key, gw.keys)
    prefix = "/v1/models/" if request.path.startswith("/v1/") else "/models/"
    if request.path.startswith(prefix):
        name = request.path[len(prefix):]
        if name not in gw.groups or not principal.allows(name):
            raise GatewayError.not_found("model_not_found", f"No model group named {name!r}.")
        body = to_json({"id": name, "object": "model", "created": gw.created, "owned_by": "llmrelay"})
    else:
        body = models_list(gw, principal)
    await request.respond(200, body, json_headers(request.request_id))
