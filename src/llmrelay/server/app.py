"""The gateway as one ASGI application: its state, its start and stop, and the route table.

``Gateway.open(config)`` connects the database (retrying up to 30 s), applies migrations,
recovers spend rows a previous process left, and builds the Router; ``close`` drains the rest.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from pydantic_core import to_json

from . import admin, proxy
from .config import ConfigError, GatewayConfig
from .errors import GatewayError
from .http import ClientGone, Request, json_headers
from .limits import Limiter
from .state import Services
from .storage import StoreUnavailable, open_store

if TYPE_CHECKING:
    from .http import Receive, Scope, Send
    from .spend.sink import SpendSink
    from .storage import Store

__all__ = ["Gateway", "build_router"]

log = logging.getLogger("llmrelay.server")
access = logging.getLogger("llmrelay.server.access")

Handler = Callable[[Any, Request], Awaitable[None]]
DB_START_TIMEOUT = float(os.environ.get("LLMRELAY_DB_START_TIMEOUT", "30"))
PRIVATE_QUERY = ("/key/", "/spend/")


def build_router(config: GatewayConfig) -> Any:
    """The Router for the config's model_list; ``ConfigError`` with its message if it refuses."""
    from ..router import Router

    try:
        return Router(model_list=config.model_list, **config.router_settings)
    except (ValueError, TypeError) as exc:
        raise ConfigError(str(exc)) from None


class Gateway(Services):
    """The ASGI app over the services. Built by ``open``, which the server runs at start."""

    def __init__(self, config: GatewayConfig, router: Any, *, store: Store,
                 limiter: Limiter | None = None, sink: SpendSink | None = None) -> None:
        super().__init__(config, router, store=store, limiter=limiter, sink=sink)
        self.routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): proxy.chat_completions,
            ("POST", "/chat/completions"): proxy.chat_completions,
            ("POST", "/v1/embeddings"): proxy.embeddings,
            ("POST", "/embeddings"): proxy.embeddings,
            ("GET", "/v1/models"): proxy.models,
            ("GET", "/models"): proxy.models,
            ("GET", "/health/liveliness"): Gateway.liveliness,
            ("GET", "/health/liveness"): Gateway.liveliness,
            ("GET", "/health/readiness"): Gateway.readiness,
            ("GET", "/metrics"): Gateway.prometheus,
            ("POST", "/key/generate"): admin.generate,
            ("GET", "/key/info"): admin.info,
            ("POST", "/key/update"): admin.update,
            ("POST", "/key/delete"): admin.delete_keys,
            ("GET", "/spend/logs"): admin.spend_logs,
        }
        self.paths = {path for _, path in self.routes}

    @classmethod
    async def open(cls, config: GatewayConfig, router: Any = None) -> Gateway:
        """Connect, migrate, recover, start the background tasks; ``ConfigError`` or
        ``StoreUnavailable`` when the start must fail."""
        if config.database is None:
            raise ConfigError("general_settings.database_url is missing")
        store = open_store(config.database, pool_size=config.pool_size)
        await _connect(store, config)
        applied = await store.migrate()
        if applied:
            log.info("database: applied migration(s) %s", ", ".join(map(str, applied)))
        gateway = cls(config, router if router is not None else build_router(config), store=store)
        _apply_cache(config)
        for price in gateway.accounting.unpriced():
            log.warning("prices: deployment %r (%s) has no price; its requests are logged with "
                        "spend null and count 0 against budgets (set model_info costs or "
                        "base_model)", price.id, price.model)
        if config.master_key is None:
            log.warning("no master key: /v1 answers any caller and the admin API is off; set "
                        "general_settings.master_key or LLMRELAY_MASTER_KEY")
        await gateway.sink.start()
        await gateway.monitor.start()
        # Tokenizers load in hundreds of ms: at start, not on the first request with a budget.
        await asyncio.get_running_loop().run_in_executor(None, gateway.accounting.warm)
        return gateway

    async def close(self, timeout: float = 10.0) -> None:
        """Flush spend (up to ``timeout``), stop background work, close connections."""
        # Requests cut at the end of the grace period are still writing their rows.
        await self.lifecycle.wait_idle(2.0)
        await self.sink.close(timeout)
        await self.monitor.stop()
        close = getattr(self.router, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception as exc:  # a router that fails to close must not lose the flush
                log.debug("router close failed: %s", type(exc).__name__)
        await self.limiter.close()
        if self.redis is not None:
            await self.redis.close()
        await self.store.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        request = Request(scope, receive, send)
        handler = self.routes.get((request.method, request.path))
        try:
            if handler is None:
                handler = self._missing(request)
            await handler(self, request)
        except GatewayError as error:
            await _answer_error(request, error)
        except ClientGone:
            pass
        except Exception:
            log.exception("internal error on %s %s", request.method, request.path)
            await _answer_error(request, GatewayError(500, "api_error", "internal_error",
                                                      "The gateway failed to handle this request."))
        if access.isEnabledFor(logging.INFO):
            query = scope.get("query_string", b"")
            shown = request.path
            if query and not request.path.startswith(PRIVATE_QUERY):
                shown += "?" + query.decode("latin-1")
            access.info("%s %s %s %.1fms", request.method, shown, request.request_id,
                        (time.perf_counter() - request.started) * 1000)

    def _missing(self, request: Request) -> Handler:
        if request.path in self.paths:
            raise GatewayError(405, "invalid_request_error", "method_not_allowed",
                               f"{request.method} is not allowed on {request.path}.")
        if request.method == "GET" and request.path.startswith(("/v1/models/", "/models/")):
            return proxy.models
        raise GatewayError.not_found("route_not_found", f"No route {request.method} {request.path}.")

    async def liveliness(self, request: Request) -> None:
        if self.lifecycle.draining:
            await request.respond(503, b'{"status":"shutting_down"}', json_headers(request.request_id))
            return
        await request.respond(200, b'{"status":"alive"}', json_headers(request.request_id))

    async def readiness(self, request: Request) -> None:
        db_up, redis_up = await asyncio.gather(self.monitor.check_db(), self.monitor.check_redis())
        redis = "not configured" if redis_up is None else ("connected" if redis_up else "disconnected")
        ok = db_up and not self.lifecycle.draining
        status = "healthy" if ok else ("shutting_down" if self.lifecycle.draining else "unhealthy")
        body = {"status": status, "db": "connected" if db_up else "disconnected", "redis": redis}
        await request.respond(200 if ok else 503, to_json(body), json_headers(request.request_id))

    async def prometheus(self, request: Request) -> None:
        await request.respond(200, self.metrics.render(), [
            (b"content-type", b"text/plain; version=0.0.4; charset=utf-8"),
            (b"x-request-id", request.request_id.encode())])


async def _answer_error(request: Request, error: GatewayError) -> None:
    extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
    try:
        await request.respond(error.status, error.body(), json_headers(request.request_id) + extra)
    except (OSError, RuntimeError):
        pass  # the client is gone, or the answer had started: nothing more to say


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _connect(store: Store, config: GatewayConfig) -> None:
    """Connect, retrying a database that does not answer yet for up to 30 s."""
    deadline = time.monotonic() + DB_START_TIMEOUT
    delay = 0.25
    warned = False
    while True:
        try:
            await store.connect()
            return
        except StoreUnavailable as exc:
            if time.monotonic() + delay > deadline:
                raise StoreUnavailable(f"database {config.database.describe() if config.database else ''} "
                                       f"unreachable after {DB_START_TIMEOUT:g} s: {exc}") from None
            if not warned:
                log.warning("database: not reachable yet (%s); retrying for up to %g s",
                            exc, DB_START_TIMEOUT)
                warned = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def _apply_cache(config: GatewayConfig) -> None:
    """``cache:`` -> ``llmrelay.cache``, which the Router reads (keyed by group) on each call."""
    if not config.cache:
        return
    import llmrelay
    from llmrelay.caching import Cache

    options = {k: v for k, v in config.cache.items() if k in ("ttl", "namespace")}
    url = None if config.cache["type"] == "memory" else config.cache["url"]
    try:
        llmrelay.cache = Cache(url, **options)
    except ValueError as exc:
        raise ConfigError(f"cache: {exc}") from None
