"""One routed call: pick, send, retry elsewhere or after a backoff, fall back, settle.

The decisions are a generator of steps (pick, wait-time, sleep, attempt) so the sync and async
drivers share them: each driver only performs the steps, blocking or awaiting.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Generator, Mapping, Protocol

from .. import hooks, retries
from ..exceptions import APIError, BadRequestError, Timeout
from ..hooks import CallStart
from ..meta import CallMeta
from ..scope import SCOPE, CallScope
from ..streaming import AsyncStream, Stream
from .cached import akeep, decode, entry_of, keep, served
from .deployments import PINNED_KEYS
from .errors import NoDeploymentAvailableError
from .failures import FALLBACK_ONLY, FINAL, cooldown_seconds, judge
from .state import Ticket

if TYPE_CHECKING:
    from ..hooks import CallRun
    from ..streaming import StreamEnd
    from .deployments import Deployment
    from .state import RouterState
    from .strategies import Strategy

__all__ = ["RoutedCall", "Routing"]

PICK, WAIT, SLEEP, ATTEMPT = range(4)
SLACK = 0.05  # a deployment ready this much after the backoff is still waited for
EXHAUSTED: Any = object()

Steps = Generator["tuple[int, Any]", Any, Any]
_monotonic = time.monotonic
_perf = time.perf_counter


class Routing(Protocol):
    """What a routed call reads from its ``Router``: the table, the rules and the state."""

    @property
    def groups(self) -> Mapping[str, tuple["Deployment", ...]]: ...
    @property
    def strategy(self) -> "Strategy": ...
    @property
    def state(self) -> "RouterState": ...
    @property
    def fallbacks(self) -> Mapping[str, Mapping[str, tuple[str, ...]]]: ...
    @property
    def scopes(self) -> Mapping[str, CallScope]: ...
    @property
    def scopes_by_group(self) -> Mapping[str, CallScope]: ...
    @property
    def defaults(self) -> Mapping[str, Any]: ...
    @property
    def num_retries(self) -> int: ...
    @property
    def force_timeout(self) -> float | None: ...
    @property
    def cooldown_time(self) -> float: ...


class RoutedCall:
    """A call to a group: ``run()`` / ``await arun()`` return the answer or raise the error the
    caller gets. ``fn`` is the core function each attempt calls (``completion``, ...)."""

    __slots__ = ("cache_options", "call_type", "deadline", "entry", "failed_attempts",
                 "fallback_list", "first_chunk", "fn", "group", "kwargs", "last_deployment",
                 "last_error", "mode", "num_retries", "router", "run_", "started", "store",
                 "stream", "wait_hint")

    def __init__(self, router: Routing, fn: Callable[..., Any], group: str,
                 kwargs: dict[str, Any], stream: bool, call_type: str = "completion",
                 cache_options: Any = None) -> None:
        self.router = router
        self.fn = fn
        self.group = group
        self.call_type = call_type
        self.cache_options = cache_options
        self.store: Any = None
        self.entry: Any = None
        self.stream = stream
        self.started = _perf()
        # Checked when the call runs (``_check_call``), so a bad value is reported like any
        # other failure of the routed call.
        self.num_retries: Any = kwargs.pop("num_retries", None)
        self.deadline: Any = kwargs.pop("force_timeout", None)
        self.kwargs = kwargs
        self.mode = router.strategy.mode(stream)
        self.failed_attempts = 0
        self.last_error: APIError | None = None
        self.last_deployment: Deployment | None = None
        self.wait_hint = math.inf
        self.fallback_list = "fallbacks"
        self.run_: CallRun | None = None
        self.first_chunk: float | None = None  # seconds from the routed call to a stream's first chunk

    # ---- the decisions --------------------------------------------------------------------

    def _check_call(self) -> None:
        """The group exists; ``num_retries`` and ``force_timeout`` are usable (``deadline`` is
        ``force_timeout`` as a ``time.monotonic()`` instant)."""
        if self.group not in self.router.groups:
            raise BadRequestError(
                f"Unknown model group {self.group!r}; this Router serves: "
                + (", ".join(sorted(self.router.groups)) or "(no groups)"), model=self.group)
        retries_, force_timeout = self.num_retries, self.deadline
        if retries_ is None:
            self.num_retries = self.router.num_retries
        elif isinstance(retries_, bool) or not isinstance(retries_, int) or retries_ < 0:
            raise BadRequestError(f"num_retries must be a non-negative integer, got {retries_!r}",
                                  model=self.group)
        if force_timeout is None:
            force_timeout = self.router.force_timeout
        elif isinstance(force_timeout, bool) or not isinstance(force_timeout, (int, float)) \
                or not force_timeout > 0:
            raise BadRequestError(f"force_timeout must be a positive number of seconds, got "
                                  f"{force_timeout!r}", model=self.group)
        self.deadline = None if force_timeout is None else \
            _monotonic() - (_perf() - self.started) + force_timeout

    def _serve(self, hit: Any, asynchronous: bool) -> Any:
        """A cache hit: no deployment picked, nothing sent, nothing counted."""
        options = self.kwargs.get("stream_options") or {}
        result = served(hit, self.group, self.stream, bool(options.get("include_usage")),
                        asynchronous, self.started, self.run_)
        if self.stream and self.run_ is not None:
            self.run_.stream_open(result)
        return result

    def steps(self) -> Steps:
        used = [self.group]
        group = self.group
        while True:
            outcome = yield from self._group(group)
            if outcome is not EXHAUSTED:
                return outcome
            following = self._next_group(used)
            if following is None:
                raise self._final_error(used)
            used.append(following)
            group = following

    def _group(self, group: str) -> Steps:
        """Up to ``1 + num_retries`` attempts on the group: untried deployments first, then
        whatever is eligible after a backoff."""
        deployments = self.router.groups[group]
        order = self.router.strategy.order
        tried: list[Deployment] = []
        error: APIError | None = None
        self.fallback_list = "fallbacks"
        attempts = 0
        while attempts <= self.num_retries:
            untried = [d for d in deployments if d not in tried] if tried else deployments
            picked = (yield PICK, order(untried)) if untried else math.inf
            if not isinstance(picked, Ticket):
                if error is None:  # nothing of this group was eligible: nothing sent here
                    self.wait_hint = min(self.wait_hint, picked)
                    return EXHAUSTED
                picked = yield from self._after_backoff(deployments, attempts - 1, error)
                if picked is None:
                    return EXHAUSTED
            if self.deadline is not None and _monotonic() >= self.deadline:
                self.router.state.settle(picked)
                raise self._timeout(picked.deployment)
            attempts += 1
            try:
                return (yield ATTEMPT, picked)
            except APIError as exc:
                action = self._failed(picked, exc)
                if action == FALLBACK_ONLY:
                    return EXHAUSTED
                tried.append(picked.deployment)
                error = exc
        return EXHAUSTED

    def _after_backoff(self, deployments: tuple["Deployment", ...], retry: int,
                       error: APIError) -> Steps:
        """Wait the backoff (at least ``Retry-After``) and pick again; ``None`` when nothing
        of the group would be eligible by then (no point in waiting)."""
        delay = retries.backoff_delay(retry, error)
        ready = yield WAIT, deployments
        if ready > delay + SLACK:
            return None
        wait = max(delay, ready)
        if self.deadline is not None and wait >= self.deadline - _monotonic():
            raise self._timeout(self.last_deployment,
                                f"force_timeout leaves no time to retry after: {error.message}")
        yield SLEEP, wait
        picked = yield PICK, self.router.strategy.order(deployments)
        return picked if isinstance(picked, Ticket) else None

    def _failed(self, ticket: Ticket, error: APIError) -> int:
        """Record a failed attempt; raise it when it is final; else how the group goes on."""
        state = self.router.state
        self.failed_attempts += 1
        self.last_error = error
        self.last_deployment = ticket.deployment
        if (self.deadline is not None and isinstance(error, Timeout)
                and _monotonic() >= self.deadline - 0.005):
            state.settle(ticket)  # our own deadline, not the deployment's fault
            raise error
        verdict = judge(error)
        cooldown = cooldown_seconds(error, self.router.cooldown_time) if verdict.failure else 0.0
        state.settle(ticket, failure=verdict.failure, cooldown=cooldown)
        if verdict.action == FINAL:
            raise error
        self.fallback_list = verdict.fallbacks
        return verdict.action

    def _next_group(self, used: list[str]) -> str | None:
        """The next unused group of the requested group's list for how the last one ended."""
        lists = self.router.fallbacks[self.fallback_list]
        for group in (*lists.get(self.group, ()), *lists.get("*", ())):
            if group not in used:
                return group
        return None

    def _final_error(self, used: list[str]) -> APIError:
        if self.last_error is not None:
            return self.last_error
        retry_after = None if math.isinf(self.wait_hint) else round(self.wait_hint, 3)
        names = ", ".join(repr(g) for g in used)
        return NoDeploymentAvailableError(
            f"No deployment available for {names}: all are cooling down or at their rpm/tpm "
            f"limit" + ("" if retry_after is None else f"; retry after {retry_after:.3f}s"),
            retry_after=retry_after, model=self.group,
        )

    def _timeout(self, deployment: "Deployment | None",
                 message: str = "force_timeout reached before the call finished") -> Timeout:
        error = Timeout(message, model=deployment.model if deployment else self.group)
        error.__cause__ = self.last_error
        return error

    # ---- one attempt ----------------------------------------------------------------------

    def _arguments(self, ticket: Ticket) -> dict[str, Any]:
        d = ticket.deployment
        router = self.router
        kwargs = {**router.defaults, **d.defaults, **self.kwargs, **d.pinned, "num_retries": 0}
        if self.deadline is not None:
            kwargs["force_timeout"] = max(self.deadline - _monotonic(), 0.0)
        return kwargs

    def _settle_answer(self, ticket: Ticket, result: Any, started: float) -> Any:
        usage = result.usage
        self.router.state.settle(ticket, tokens=(usage.total_tokens or 0) if usage else 0,
                                 latency=_perf() - started)
        meta = result.meta
        meta.attempts += self.failed_attempts
        meta.latency = _perf() - self.started  # the routed call's, failed attempts included
        if ticket.deployment.prices:
            meta.cost = ticket.deployment.cost(meta.usage)
        return result

    def _chain_end(self, ticket: Ticket, stream: "Stream[Any] | AsyncStream[Any]",
                   started: float) -> None:
        now = _perf()
        stream.wrap_end(lambda inner: _RoutedStreamEnd(self, ticket, stream.meta, inner, started,
                                                       now - started))
        self.first_chunk = now - self.started

    def stream_ended(self, ticket: Ticket, meta: CallMeta, how: str,
                     error: BaseException | None, started: float, ttft: float) -> None:
        """Settle a stream's deployment once the stream is over (the core settled ``meta``)."""
        usage = meta.usage
        failure, cooldown = 0, 0.0
        if how == "failed" and isinstance(error, APIError):
            verdict = judge(error)
            failure = verdict.failure
            cooldown = cooldown_seconds(error, self.router.cooldown_time) if failure else 0.0
        self.router.state.settle(
            ticket, tokens=(usage.total_tokens or 0) if usage else 0, ttft=ttft,
            latency=_perf() - started if how == "complete" else None,
            failure=failure, cooldown=cooldown)
        meta.attempts += self.failed_attempts
        meta.latency = _perf() - self.started
        meta.time_to_first_token = self.first_chunk
        if ticket.deployment.prices and usage is not None:
            meta.cost = ticket.deployment.cost(usage)

    # ---- hooks ----------------------------------------------------------------------------

    def begin(self, callbacks: list[Any] | None, call_type: str, messages: Any) -> None:
        """Tell the hooks a routed call starts (the attempts themselves report nothing)."""
        scope = self.router.scopes_by_group.get(self.group)

        def start() -> CallStart:
            params = {k: v for k, v in self.kwargs.items()
                      if v is not None and k not in NOT_PARAMS}
            return CallStart(call_type, self.group, "", self.group, params, messages,
                             self.stream, "", [], scope, time.time(), self.started,
                             extra={"router": True, "group": self.group})

        self.run_ = hooks.begin(callbacks, scope, start)

    def failure_meta(self) -> CallMeta:
        d = self.last_deployment
        error = self.last_error
        return CallMeta(error.provider if error else None, d.model if d else None,
                        deployment=d.id if d else None, attempts=self.failed_attempts,
                        latency=_perf() - self.started, written=self.group,
                        base_model=d.base_model if d else None)

    def _name_deployment(self, error: BaseException) -> None:
        """An error leaving the Router says which deployment was tried last (``deployment``,
        ``None`` when nothing was sent), as ``resp.meta.deployment`` does for an answer."""
        if isinstance(error, APIError) and getattr(error, "deployment", None) is None:
            d = self.last_deployment
            error.deployment = d.id if d is not None else None  # type: ignore[attr-defined]

    # ---- drivers --------------------------------------------------------------------------

    def run(self) -> Any:
        state = self.router.state
        try:
            result = self._lookup()
            if result is None:
                result = self._drive()
                if self.entry is not None:
                    keep(self.store, self.entry, result)
        except BaseException as exc:
            state.flush()
            self._name_deployment(exc)
            if self.run_ is not None:
                self.run_.failure(exc, self.failure_meta())
            raise
        if self.run_ is not None and not self.stream:
            self.run_.success(result, result.meta)
        return result

    def _lookup(self) -> Any:
        """The cached answer, or ``None`` (no cache, a miss, or not to be read)."""
        self._check_call()
        store = sys.modules["llmrelay"].cache
        if store is None:
            return None
        self.store = store
        self.entry = entry = entry_of(store, self.cache_options, self.call_type, self.group,
                                      self.kwargs)
        if entry is None or not entry[1].read:
            return None
        hit = decode(store, store.get(entry[0]), self.call_type)
        return None if hit is None else self._serve(hit, asynchronous=False)

    def _drive(self) -> Any:
        gen = self.steps()
        state = self.router.state
        value: Any = None
        error: APIError | None = None
        while True:
            try:
                op, arg = gen.send(value) if error is None else gen.throw(error)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            if op == ATTEMPT:
                try:
                    value = self._attempt(arg)
                except APIError as exc:
                    error = exc
            elif op == PICK:
                value = state.pick(arg, self.mode)
            elif op == WAIT:
                value = state.wait_time(arg)
            else:
                time.sleep(arg)

    def _attempt(self, ticket: Ticket) -> Any:
        kwargs = self._arguments(ticket)
        token = SCOPE.set(self.router.scopes[ticket.deployment.id])
        started = _perf()
        try:
            result = self.fn(**kwargs)
        except APIError:
            raise
        except BaseException:
            self.router.state.settle(ticket)
            raise
        finally:
            SCOPE.reset(token)
        return self._answered(ticket, result, started)

    async def arun(self) -> Any:
        state = self.router.state
        try:
            result = await self._alookup()
            if result is None:
                result = await self._adrive()
                if self.entry is not None:
                    await akeep(self.store, self.entry, result)
        except BaseException as exc:
            await state.aflush()
            self._name_deployment(exc)
            if self.run_ is not None:
                await self.run_.afailure(exc, self.failure_meta())
            raise
        if self.run_ is not None and not self.stream:
            await self.run_.asuccess(result, result.meta)
        return result

    async def _alookup(self) -> Any:
        self._check_call()
        store = sys.modules["llmrelay"].cache
        if store is None:
            return None
        self.store = store
        self.entry = entry = entry_of(store, self.cache_options, self.call_type, self.group,
                                      self.kwargs)
        if entry is None or not entry[1].read:
            return None
        hit = decode(store, await store.aget(entry[0]), self.call_type)
        return None if hit is None else self._serve(hit, asynchronous=True)

    async def _adrive(self) -> Any:
        gen = self.steps()
        state = self.router.state
        value: Any = None
        error: APIError | None = None
        while True:
            try:
                op, arg = gen.send(value) if error is None else gen.throw(error)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            if op == ATTEMPT:
                try:
                    value = await self._aattempt(arg)
                except APIError as exc:
                    error = exc
            elif op == PICK:
                value = await state.apick(arg, self.mode)
            elif op == WAIT:
                value = await state.await_time(arg)
            else:
                await asyncio.sleep(arg)

    def _answered(self, ticket: Ticket, result: Any, started: float) -> Any:
        """An attempt's answer: a stream is settled when it ends, an answer now."""
        if self.stream:
            self._chain_end(ticket, result, started)
            if self.run_ is not None:
                self.run_.stream_open(result)
            return result
        return self._settle_answer(ticket, result, started)

    async def _aattempt(self, ticket: Ticket) -> Any:
        kwargs = self._arguments(ticket)
        token = SCOPE.set(self.router.scopes[ticket.deployment.id])
        started = _perf()
        try:
            result = await self.fn(**kwargs)
        except APIError:
            raise
        except BaseException:
            self.router.state.settle(ticket)
            raise
        finally:
            SCOPE.reset(token)
        return self._answered(ticket, result, started)


# Router-level arguments that are not OpenAI parameters (kept out of what the hooks see):
# the payload, credentials and where the call goes, and the call options.
NOT_PARAMS = PINNED_KEYS | {
    "messages", "input", "timeout", "logger_fn", "verbose", "extra_headers", "extra_body",
    "drop_params", "aws_profile_name",
}


class _RoutedStreamEnd:
    """A routed stream's end: the core's own settling first, then the deployment's and the
    routed call's (one report for the whole routed call)."""

    __slots__ = ("inner", "meta", "routed", "started", "ticket", "ttft")

    def __init__(self, routed: RoutedCall, ticket: Ticket, meta: CallMeta,
                 inner: "StreamEnd | None", started: float, ttft: float) -> None:
        self.routed = routed
        self.ticket = ticket
        self.meta = meta
        self.inner = inner
        self.started = started
        self.ttft = ttft

    def end(self, how: str, error: BaseException | None) -> None:
        if self.inner is not None:
            self.inner.end(how, error)
        self.routed.stream_ended(self.ticket, self.meta, how, error, self.started, self.ttft)
        run = self.routed.run_
        if run is not None:
            run.stream_end(self.meta, how, error)

    async def aend(self, how: str, error: BaseException | None) -> None:
        if self.inner is not None:
            await self.inner.aend(how, error)
        self.routed.stream_ended(self.ticket, self.meta, how, error, self.started, self.ttft)
        run = self.routed.run_
        if run is not None:
            await run.astream_end(self.meta, how, error)

