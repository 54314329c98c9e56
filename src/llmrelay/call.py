"""One prepared model call: the adapter, the first HTTP request, and the rules every attempt
follows (timeouts, deadline, retries, error and body parsing).

The sync and async loops in ``api.py`` drive a ``Call``; all their decisions are made here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from pydantic_core import from_json

from . import retries, transport
from .calllog import QUIET_LOG, CallLog
from .capabilities import apply_capabilities, find_family
from .config import ENVIRON_DATA, ProviderSettings, environ_key
from .exceptions import APIError, BadRequestError, RateLimitError, Timeout, error_class_for_status
from .masking import scrub
from .meta import REQUEST_ID_HEADERS
from .providers.base import CallContext, HTTPRequest
from .registry import get_adapter, get_provider
from .validation import (
    validate_call_options,
    validate_messages,
    validate_options,
    validate_params,
)

if TYPE_CHECKING:
    import httpx

    from .providers.base import Adapter, Step
    from .transport import AsyncResponse, Response, TimeoutTypes
    from .types import ChatRequest
    from .usage import Usage

T = TypeVar("T")

@dataclass
class Call:
    """A call in flight. ``deadline`` is ``force_timeout`` as a ``time.monotonic()`` instant;
    ``ctx`` moves on when a ``FollowUp`` carries state.

    What the answer said, for ``resp.meta``: ``attempts`` (sends of the first request, retries
    included), ``response`` (the last successful HTTP response, for its request id header),
    ``model`` and ``usage`` as the provider reported them, ``first_chunk_at``
    (``perf_counter()`` when a stream's first chunk arrived). ``hide_usage``: the caller did not
    ask for a stream's usage chunk, but it was requested to price the call; it is kept here
    and not shown.
    """

    adapter: "Adapter"
    ctx: CallContext
    request: HTTPRequest
    timeout: "TimeoutTypes"
    deadline: float | None
    num_retries: int
    log: CallLog
    stream: bool
    hide_usage: bool = False
    attempts: int = 0
    response: Any = None
    model: str | None = None
    usage: "Usage | None" = None
    first_chunk_at: float | None = None
    # Set when the caller no longer wants the answer (a sibling batch of an embedding call
    # failed): the call makes no further retries.
    abandoned: bool = False

    @property
    def provider(self) -> str:
        return self.adapter.name

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def sign(self, request: HTTPRequest) -> HTTPRequest:
        """``request`` as the adapter signs it for this attempt (most adapters do not)."""
        sign = self.adapter.sign
        return request if sign is None else sign(request, self.ctx.settings)

    def check_deadline(self) -> None:
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise self.enrich(Timeout("force_timeout reached before the call finished"))

    def attempt_timeout(self) -> "TimeoutTypes":
        """The per-request timeout, cut to what is left of ``force_timeout``."""
        remaining = self.remaining()
        if remaining is None:
            return self.timeout
        if remaining <= 0:
            raise self.enrich(Timeout("force_timeout reached before the call finished"))
        if self.timeout is None:
            return remaining
        if isinstance(self.timeout, (int, float)):
            return min(float(self.timeout), remaining)
        import httpx

        t: httpx.Timeout = self.timeout
        return httpx.Timeout(
            connect=_cap(t.connect, remaining),
            read=_cap(t.read, remaining),
            write=_cap(t.write, remaining),
            pool=_cap(t.pool, remaining),
        )

    def retry_delay(self, error: APIError, attempt: int) -> float | None:
        """Seconds to wait before retrying, or ``None`` when ``error`` is final.

        When the wait would outlast ``force_timeout``, the call ends now with ``Timeout``
        (caused by ``error``) rather than sleeping into the deadline.
        """
        if self.abandoned or attempt >= self.num_retries or not retries.is_retryable(error):
            return None
        delay = transport.pause(retries.backoff_delay(attempt, error))
        remaining = self.remaining()
        if remaining is not None and delay >= remaining:
            raise self.enrich(
                Timeout(f"force_timeout leaves no time to retry after: {error.message}")
            ) from error
        return delay

    def enrich(self, error: APIError, *, status: int | None = None, body: Any = None,
               headers: dict[str, str] | None = None) -> APIError:
        """Fill in what the core knows and the adapter may not have set; mask the key if the
        provider echoed it."""
        secrets = self.ctx.settings.secrets
        if secrets:
            error.message = scrub(error.message, secrets)
            error.args = (error.message,)
            body = scrub(body, secrets)
            error.response = scrub(error.response, secrets)
        error.provider = error.provider or self.provider
        error.model = error.model or self.ctx.model
        if status is not None:
            error.status_code = status
        if body is not None and error.response is None:
            error.response = body
        if headers:
            error.headers = headers
            if error.request_id is None:
                error.request_id = next(
                    (headers[h] for h in REQUEST_ID_HEADERS if h in headers), None
                )
            if isinstance(error, RateLimitError) and error.retry_after is None:
                error.retry_after = retries.retry_after(headers)
        return error

    def error_from(self, response: "Response | AsyncResponse") -> APIError:
        """The contract's exception for an HTTP error response, via the adapter."""
        status, headers = response.status, response.headers
        body = decode_body(response.content)
        try:
            error = self.adapter.parse_error(status, body, headers, self.ctx)
        except Exception as exc:  # a malformed error body must not hide the status
            error = error_class_for_status(status)(f"HTTP {status}: {body!r:.500} ({exc!r})")
        return self.enrich(error, status=status, body=body, headers=headers)

    def parse(self, response: "Response | AsyncResponse") -> "Step":
        """A success body -> ``ModelResponse`` or ``FollowUp``; a malformed one -> ``APIError``."""
        parse_raw = self.adapter.parse_raw
        if parse_raw is not None:
            try:
                step = parse_raw(response.content, self.ctx)
            except ValueError:
                step = None  # not the usual answer: the general path says what is wrong
            if step is not None:
                return step
        return self.parse_with(response, self._translate)

    def _translate(self, body: Any) -> "Step":
        return self.adapter.parse_response(body, self.ctx)

    def parse_with(self, response: "Response | AsyncResponse", translate: Callable[[Any], T]) -> T:
        """A success body through ``translate`` (the chat parser, an embeddings parser); a body
        that is not JSON, or that ``translate`` cannot read, -> ``APIError`` with the body.

        Headers are read only on the way to an error: building them costs on every call."""
        content = response.content
        try:
            body = from_json(content)
        except ValueError as exc:
            raise self.enrich(
                APIError(f"{self.provider} returned a body that is not JSON: {content[:200]!r}"),
                status=response.status, body=content.decode("utf-8", "replace"),
                headers=response.headers,
            ) from exc
        try:
            return translate(body)
        except APIError as exc:
            # The adapter's own error for the body: it says what is wrong; the HTTP status is
            # the one it came with unless the body named another (an error envelope in a 200).
            raise self.enrich(exc, status=response.status if exc.status_code is None else None,
                              body=body, headers=response.headers) from None
        except Exception as exc:
            raise self.enrich(
                APIError(f"{self.provider} returned a response of unexpected shape: {exc!r}"),
                status=response.status, body=body, headers=response.headers,
            ) from exc

    def malformed_event(self, exc: Exception, event: Any, status: int | None = None) -> APIError:
        """The error for a stream event (an SSE event, or a decoder's peer of one with a
        ``data`` text) the adapter could not translate; ``status``: the stream's HTTP status."""
        return self.enrich(
            APIError(f"{self.provider} sent a stream event of unexpected shape: {exc!r}",
                     response=getattr(event, "data", None)),
            status=status,
        )

    def stream_error(self, exc: APIError, status: int) -> APIError:
        """``exc``, raised while reading a stream of HTTP status ``status``, completed: a plain
        ``APIError`` (a malformed event or frame) without a status of its own gets the
        stream's; a subclass (a provider's error event, a cut stream) keeps what it says."""
        return self.enrich(exc, status=status if exc.status_code is None
                           and type(exc) is APIError else None)


def _cap(value: float | None, limit: float) -> float:
    return limit if value is None else min(value, limit)


def decode_body(content: bytes) -> Any:
    """JSON when it parses, else the text (proxies answer errors in HTML)."""
    try:
        return from_json(content)
    except ValueError:
        return content.decode("utf-8", "replace")


def prepare(
    model: str,
    messages: Any,
    params: dict[str, Any],
    *,
    api_key: str | None,
    api_base: str | None,
    options: dict[str, Any],
    timeout: "TimeoutTypes",
    force_timeout: float | None,
    azure: bool,
    logger_fn: Any,
    verbose: bool,
    num_retries: int | None,
    drop_params: bool,
    extra_headers: dict[str, str] | None,
    extra_body: dict[str, Any] | None,
) -> Call:
    """Validate, route and translate a call; nothing is sent yet."""
    try:
        validate_messages(messages)
    except BadRequestError as exc:
        _name_provider(exc, model, azure)
        raise
    key = _plans.key(model, params, api_key, api_base, options, timeout, force_timeout, azure,
                     drop_params, extra_headers, extra_body)
    plan = None if key is None else _plans.find(key)
    if plan is None:
        try:
            validate_params(params)
            validate_call_options(timeout, force_timeout, num_retries, logger_fn)
            validate_options(api_key, api_base, extra_headers, extra_body)
        except BadRequestError as exc:
            _name_provider(exc, model, azure)
            raise
        plan = _plan(model, params, api_key, api_base, options, timeout, force_timeout, azure,
                     drop_params, extra_headers, extra_body)
        if key is not None:
            _plans.keep(key, plan)
    else:
        validate_call_options(timeout, force_timeout, num_retries, logger_fn)
    adapter, provider, provider_model, settings = plan.adapter, plan.provider, plan.model, plan.settings
    chat: ChatRequest = {"model": provider_model, "messages": messages, **plan.params}  # type: ignore[typeddict-item]
    try:
        request = adapter.build_request(chat, settings)
    except APIError as exc:
        exc.provider, exc.model = exc.provider or provider, exc.model or provider_model
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Input the boundary checks let through but the provider's shape cannot hold.
        raise BadRequestError(
            f"Cannot translate this request for {provider}: {exc!r}",
            provider=provider, model=provider_model,
        ) from exc
    return new_call(
        adapter, CallContext(provider, provider_model, chat, settings), request,
        timeout=timeout, deadline=deadline_of(force_timeout), num_retries=num_retries,
        logger_fn=logger_fn, verbose=verbose, stream=plan.stream, hide_usage=plan.hide_usage,
    )


def _name_provider(exc: APIError, model: str, azure: bool) -> None:
    """Give a boundary error the provider and model of the call, where the model routes."""
    if exc.provider is None:
        try:
            exc.provider, exc.model = get_provider(model, azure=azure)
        except APIError:
            pass  # the model does not route: the error stands as it is


@dataclass(frozen=True)
class Plan:
    """What preparing a call decides before its messages are read: the adapter, the settings,
    and the parameters fitted to the model's row (``stream_options`` added when usage is
    asked for only to price the call: ``hide_usage``)."""

    adapter: "Adapter"
    provider: str
    model: str
    settings: ProviderSettings
    params: dict[str, Any]
    stream: bool
    hide_usage: bool


def _plan(model: str, params: dict[str, Any], api_key: str | None, api_base: str | None,
          options: dict[str, Any], timeout: "TimeoutTypes", force_timeout: float | None,
          azure: bool, drop_params: bool, extra_headers: dict[str, str] | None,
          extra_body: dict[str, Any] | None) -> Plan:
    provider, provider_model = get_provider(model, azure=azure)
    adapter = get_adapter(provider)
    if any(name in params for name in adapter.settings_env):
        # Provider options given as keywords (``aws_region_name=``) are settings, not body fields.
        options = {**options, **{k: v for k, v in params.items() if k in adapter.settings_env}}
        params = {k: v for k, v in params.items() if k not in adapter.settings_env}
    settings = ProviderSettings.resolve(
        adapter,
        api_key=api_key,
        api_base=api_base,
        # The time budget, for adapters that ask the provider to hold a request open
        # (Replicate ``Prefer: wait``) and must let go before our side times out.
        options={**options, "timeout": timeout, "force_timeout": force_timeout},
        extra_headers=extra_headers,
        extra_body=extra_body,
        drop_params=drop_params,
        # A replayed cassette sends nothing, so it needs no key.
        keyless=transport.replaying(),
    )
    family = find_family(adapter.families, provider_model)
    hide_usage = False
    if params.get("stream") and family.supports("stream_options"):
        options = params.get("stream_options") or {}
        if not options.get("include_usage"):
            # Usage prices the call (resp.meta); the caller who did not ask never sees it.
            params = {**params, "stream_options": {**options, "include_usage": True}}
            hide_usage = True
    fitted = apply_capabilities(
        family, params, drop_params=drop_params, provider=provider, model=provider_model
    )
    return Plan(adapter, provider, provider_model, settings, fitted, bool(params.get("stream")),
                hide_usage)


class _Plans:
    """Plans made, by the call's arguments: a client makes the same call with new messages
    over and over, and planning it costs ~6 us. A plan is reused only while the environment
    variables its provider reads hold the values they held when it was made, and only for
    arguments that are all hashable (so immutable: a ``tools`` list is planned anew)."""

    def __init__(self) -> None:
        self._plans: dict[Any, tuple[Plan, tuple[Any, ...], tuple[Any, ...]]] = {}

    @staticmethod
    def key(model: str, params: dict[str, Any], api_key: str | None, api_base: str | None,
            options: dict[str, Any], timeout: "TimeoutTypes", force_timeout: float | None,
            azure: bool, drop_params: bool, extra_headers: dict[str, str] | None,
            extra_body: dict[str, Any] | None) -> Any:
        """The arguments as a key, or ``None`` for a call not to plan by them."""
        if extra_body or ENVIRON_DATA is None or (extra_headers and type(extra_headers) is not dict):
            return None  # also a malformed ``extra_headers``: planned anew, and refused there
        if timeout is not None and type(timeout) is not float and type(timeout) is not int:
            timeout = transport.timeout_key(timeout)  # type: ignore[assignment]
        return (model, tuple(params.items()), api_key, api_base, tuple(options.items()), timeout,
                force_timeout, azure, drop_params,
                tuple(extra_headers.items()) if extra_headers else (), transport.replaying())

    def find(self, key: Any) -> Plan | None:
        try:
            found = self._plans.get(key)
        except TypeError:  # an unhashable argument
            return None
        if found is None:
            return None
        plan, names, values = found
        if tuple(map(ENVIRON_DATA.get, names)) != values:  # type: ignore[union-attr]
            return None  # an environment variable it read has changed
        if get_adapter(plan.provider) is not plan.adapter:
            return None  # the provider was registered anew
        return plan

    def keep(self, key: Any, plan: Plan) -> None:
        adapter = plan.adapter
        names = tuple(environ_key(v) for v in (*adapter.settings_env.values(),
                                                *adapter.api_key_env, adapter.base_url_env))
        try:
            if len(self._plans) >= 256:
                self._plans.clear()
            self._plans[key] = (plan, names, tuple(map(ENVIRON_DATA.get, names)))  # type: ignore[union-attr]
        except TypeError:
            pass  # an unhashable argument


_plans = _Plans()


def deadline_of(force_timeout: float | None) -> float | None:
    """``force_timeout`` seconds from now, as a ``time.monotonic()`` instant."""
    return None if force_timeout is None else time.monotonic() + force_timeout


def new_call(
    adapter: "Adapter",
    ctx: CallContext,
    request: HTTPRequest,
    *,
    timeout: "TimeoutTypes",
    deadline: float | None,
    num_retries: int | None,
    logger_fn: Any,
    verbose: bool,
    stream: bool = False,
    hide_usage: bool = False,
) -> Call:
    """A ``Call`` for an adapter's request: ``extra_headers`` / ``extra_body`` merged in, the
    call's secrets handed to its log for masking. Calls sharing one ``deadline`` share one
    ``force_timeout`` (the batches of an embedding call)."""
    settings = ctx.settings
    if settings.extra_headers or settings.extra_body:
        body = request.json
        if settings.extra_body and isinstance(body, dict):
            body = {**body, **settings.extra_body}
        request = replace(request, headers={**request.headers, **settings.extra_headers}, json=body)
    return Call(
        adapter=adapter,
        ctx=ctx,
        request=request,
        timeout=timeout,
        deadline=deadline,
        num_retries=2 if num_retries is None else max(num_retries, 0),
        log=(CallLog(logger_fn, verbose, settings.secrets, ctx.provider, ctx.model)
             if logger_fn is not None or verbose else QUIET_LOG),
        stream=stream,
        hide_usage=hide_usage,
    )
