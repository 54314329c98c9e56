"""``Router``: one model name (a group) served by several deployments.

>>> router = llmrelay.Router(model_list=[
...     {"model_name": "chat", "params": {"model": "openai/gpt-4o-mini"}},
...     {"model_name": "chat", "params": {"model": "anthropic/claude-3-5-haiku-latest"}},
... ])
>>> router.completion(model="chat", messages=[{"role": "user", "content": "Hi"}])
"""

from __future__ import annotations

import inspect
import math
import os
from typing import TYPE_CHECKING, Any, Mapping

from ..api import acompletion, completion
from ..scope import CallScope
from .config import load_config, normalise_fallbacks, redis_address
from .deployments import Deployment, DeploymentStatus, groups_of, parse_model_list
from .loop import RoutedCall
from .memory_state import MemoryState
from .strategies import resolve_strategy

if TYPE_CHECKING:
    from .state import RouterState

__all__ = ["Router"]

FALLBACK_LISTS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")


class Router:
    """Deployments by group, a routing strategy, and the retry / cooldown / fallback rules of
    API.md "Router". Thread-safe; sync and async calls share one state (in memory, or in Redis
    with ``redis_url``)."""

    def __init__(
        self,
        model_list: Any,
        *,
        routing_strategy: str = "simple-shuffle",
        num_retries: int = 2,
        fallbacks: Any = None,
        context_window_fallbacks: Any = None,
        content_policy_fallbacks: Any = None,
        allowed_fails: int = 3,
        cooldown_time: float = 5.0,
        timeout: Any = None,
        force_timeout: float | None = None,
        redis_url: str | None = None,
        redis_host: str | None = None,
        redis_port: int | str | None = None,
        redis_password: str | None = None,
        redis_prefix: str = "llmrelay:router",
    ) -> None:
        self.table = parse_model_list(model_list)
        self.groups = groups_of(self.table)
        self.strategy = resolve_strategy(routing_strategy)
        self.num_retries = _count("num_retries", num_retries)
        self.allowed_fails = _count("allowed_fails", allowed_fails)
        self.cooldown_time = _seconds("cooldown_time", cooldown_time)
        self.force_timeout = None if force_timeout is None else _seconds("force_timeout", force_timeout)
        self.defaults: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self.fallbacks = {
            "fallbacks": normalise_fallbacks("fallbacks", fallbacks, self.groups),
            "context_window_fallbacks": normalise_fallbacks(
                "context_window_fallbacks", context_window_fallbacks, self.groups),
            "content_policy_fallbacks": normalise_fallbacks(
                "content_policy_fallbacks", content_policy_fallbacks, self.groups),
        }
        self.scopes = {d.id: CallScope(deployment=d.id, base_model=d.base_model, group=d.model_name,
                                       report=False, cache=False) for d in self.table}
        self.scopes_by_group = {g: CallScope(group=g) for g in self.groups}
        url = redis_address(redis_url, redis_host, redis_port, redis_password)
        self.state: RouterState
        if url is None:
            self.state = MemoryState(self.allowed_fails)
        else:
            from .redis_state import RedisState

            self.state = RedisState(url, prefix=redis_prefix, allowed_fails=self.allowed_fails,
                                    deployments=self.table)

    @classmethod
    def from_config(cls, config: "str | os.PathLike[str] | Mapping[str, Any]") -> "Router":
        """A Router from a config file (YAML) or dict: ``model_list`` plus ``router_settings``
        (the keyword arguments of ``Router``); LiteLLM proxy configs load unchanged.

        >>> router = llmrelay.Router.from_config("config.yaml")
        """
        model_list, settings = load_config(config, KNOWN_SETTINGS)
        return cls(model_list, **settings)

    # ---- calls ----------------------------------------------------------------------------

    def completion(self, model: str, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        """``llmrelay.completion`` on a deployment of group ``model``: any of its arguments."""
        return self._call(completion, model, "completion", messages, kwargs).run()

    async def acompletion(self, model: str, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        """The awaitable twin of ``completion``; ``stream=True`` returns once the first chunk
        has arrived."""
        return await self._call(acompletion, model, "completion", messages, kwargs).arun()

    def embedding(self, model: str, input: Any, **kwargs: Any) -> Any:
        """``llmrelay.embedding`` on a deployment of group ``model``."""
        import llmrelay

        return self._call(llmrelay.embedding, model, "embedding", input, kwargs).run()

    async def aembedding(self, model: str, input: Any, **kwargs: Any) -> Any:
        """The awaitable twin of ``embedding``."""
        import llmrelay

        return await self._call(llmrelay.aembedding, model, "embedding", input, kwargs).arun()

    def _call(self, fn: Any, group: str, call_type: str, payload: Any,
              kwargs: dict[str, Any]) -> RoutedCall:
        kwargs["messages" if call_type == "completion" else "input"] = payload
        callbacks = kwargs.pop("callbacks", None)
        cache_options = kwargs.pop("cache", None)
        stream = call_type == "completion" and bool(kwargs.get("stream"))
        routed = RoutedCall(self, fn, group, kwargs, stream, call_type, cache_options)
        routed.begin(callbacks, call_type, payload)
        return routed

    # ---- state ----------------------------------------------------------------------------

    @property
    def model_names(self) -> list[str]:
        """The groups this Router serves, in ``model_list`` order."""
        return list(self.groups)

    def deployments(self) -> list[DeploymentStatus]:
        """One live ``DeploymentStatus`` per deployment, in ``model_list`` order."""
        return self.state.statuses(self.table)

    async def adeployments(self) -> list[DeploymentStatus]:
        """``deployments()`` without blocking the event loop (Redis state)."""
        return await self.state.astatuses(self.table)

    def get_deployment(self, ident: str) -> Deployment | None:
        return next((d for d in self.table if d.id == ident), None)

    def close(self) -> None:
        """Stop background work and close the Redis connections (memory state: nothing)."""
        self.state.close()

    async def aclose(self) -> None:
        """``close()`` from async code: also closes this event loop's Redis connections."""
        await self.state.aclose()

    def __repr__(self) -> str:
        return (f"Router(groups={list(self.groups)!r}, deployments={len(self.table)}, "
                f"routing_strategy={self.strategy.name!r}, shared={self.state.shared})")


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
    return float(value)


KNOWN_SETTINGS = frozenset(
    name for name in inspect.signature(Router.__init__).parameters if name not in ("self", "model_list")
)
