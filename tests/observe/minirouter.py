"""A minimal router that uses the hook seam exactly as ``llmrelay.Router`` must: one report for
the routed call (``hooks.begin`` with ``extra={"router": group}``), its attempts run under
``CallScope(report=False)``, ``stream_open`` before a stream is returned, and the routed meta
(deployment, every attempt counted, whole latency) given to the run's ending method."""

from __future__ import annotations

import time
from typing import Any

import llmrelay
from llmrelay import hooks
from llmrelay.hooks import CallRun, CallStart
from llmrelay.meta import CallMeta
from llmrelay.scope import CallScope, scoped
from llmrelay.streaming import StreamEnd


class RoutedEnd:
    """The returned stream's end: the attempt's own settling first, then the routed report."""

    def __init__(self, inner: StreamEnd | None, run: CallRun | None, failed: int,
                 started: float) -> None:
        self.inner, self.run, self.failed, self.started = inner, run, failed, started

    def _meta(self, meta: CallMeta) -> CallMeta:
        meta.attempts += self.failed
        meta.latency = time.perf_counter() - self.started
        return meta

    def end(self, how: str, error: BaseException | None) -> None:
        if self.inner is not None:
            self.inner.end(how, error)
        if self.run is not None:
            self.run.stream_end(self._meta(self.stream_meta), how, error)

    async def aend(self, how: str, error: BaseException | None) -> None:
        if self.inner is not None:
            await self.inner.aend(how, error)
        if self.run is not None:
            await self.run.astream_end(self._meta(self.stream_meta), how, error)


class MiniRouter:
    """Tries ``deployments`` (``(id, completion kwargs)``) in order, each once."""

    def __init__(self, group: str, deployments: list[tuple[str, dict[str, Any]]]) -> None:
        self.group = group
        self.deployments = deployments

    def _begin(self, callbacks: list[Any] | None, messages: Any, params: dict[str, Any],
               stream: bool, started: float) -> CallRun | None:
        def start() -> CallStart:
            return CallStart("completion", self.group, "", self.group, dict(params), messages,
                             stream, "", [], None, time.time(), started,
                             extra={"router": self.group})

        return hooks.begin(callbacks, None, start)

    def _failure_meta(self, error: BaseException, deployment: str | None, attempts: int,
                      started: float) -> CallMeta:
        return CallMeta(getattr(error, "provider", None), getattr(error, "model", None),
                        deployment=deployment, attempts=attempts,
                        latency=time.perf_counter() - started, written=self.group)

    def _routed(self, result: Any, run: CallRun | None, failed: int, started: float) -> Any:
        if isinstance(result, (llmrelay.Stream, llmrelay.AsyncStream)):
            def wrap(inner: Any) -> RoutedEnd:
                end = RoutedEnd(inner, run, failed, started)
                end.stream_meta = result.meta  # type: ignore[attr-defined]
                return end

            result.wrap_end(wrap)
            if run is not None:
                run.stream_open(result)
        else:
            result.meta.attempts += failed
            result.meta.latency = time.perf_counter() - started
        return result

    def completion(self, messages: Any, callbacks: list[Any] | None = None,
                   stream: bool = False, **params: Any) -> Any:
        started = time.perf_counter()
        run = self._begin(callbacks, messages, params, stream, started)
        failed, last, error = 0, None, None
        try:
            for deployment, kwargs in self.deployments:
                last = deployment
                with scoped(CallScope(deployment=deployment, group=self.group, report=False)):
                    try:
                        result = llmrelay.completion(messages=messages, stream=stream,
                                                     num_retries=0, **kwargs, **params)
                        break
                    except llmrelay.APIError as exc:
                        failed, error = failed + 1, exc
            else:
                assert error is not None
                raise error
        except BaseException as exc:
            if run is not None:
                run.failure(exc, self._failure_meta(exc, last, failed, started))
            raise
        result = self._routed(result, run, failed, started)
        if run is not None and not stream:
            run.success(result, result.meta)
        return result

    async def acompletion(self, messages: Any, callbacks: list[Any] | None = None,
                          stream: bool = False, **params: Any) -> Any:
        started = time.perf_counter()
        run = self._begin(callbacks, messages, params, stream, started)
        failed, last, error = 0, None, None
        try:
            for deployment, kwargs in self.deployments:
                last = deployment
                with scoped(CallScope(deployment=deployment, group=self.group, report=False)):
                    try:
                        result = await llmrelay.acompletion(messages=messages, stream=stream,
                                                            num_retries=0, **kwargs, **params)
                        break
                    except llmrelay.APIError as exc:
                        failed, error = failed + 1, exc
            else:
                assert error is not None
                raise error
        except BaseException as exc:
            if run is not None:
                await run.afailure(exc, self._failure_meta(exc, last, failed, started))
            raise
        result = self._routed(result, run, failed, started)
        if run is not None and not stream:
            await run.asuccess(result, result.meta)
        return result
