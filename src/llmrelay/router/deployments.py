"""The deployment table: ``model_list`` entries parsed once into immutable ``Deployment`` rows.

Routing settings (``rpm``, ``tpm``, ``weight``, ``order``, ``base_model``) are read from beside
``params`` or inside it (LiteLLM style) and never reach the provider.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..exceptions import APIError

__all__ = ["Deployment", "DeploymentStatus", "parse_model_list"]

# Routing settings: read from the entry, its params or model_info, never sent.
ROUTING_KEYS = ("rpm", "tpm", "weight", "order", "base_model")
# Deployment params that win over call arguments: where the call goes and as whom.
PINNED_KEYS = frozenset({
    "model", "api_key", "api_base", "api_version", "azure_ad_token", "azure",
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_region_name",
    "aws_bearer_token", "organization",
})
# LiteLLM deployment settings that are not completion() arguments: accepted, never sent.
NOT_SENT = frozenset({
    "input_cost_per_token", "output_cost_per_token", "input_cost_per_second",
    "output_cost_per_second", "max_parallel_requests", "tags", "litellm_credential_name",
    "stream_timeout", "max_retries", "use_in_pass_through", "mock_response",
    "merge_reasoning_content_in_choices", "region_name", "use_litellm_proxy",
})
PRICE_KEYS = ("input_cost_per_token", "output_cost_per_token")
ENTRY_KEYS = frozenset({"model_name", "params", "litellm_params", "id", "model_info",
                        *ROUTING_KEYS})


@dataclass(frozen=True, eq=False)
class Deployment:
    """One ``model_list`` entry. ``pinned`` params override call arguments; ``defaults`` are
    overridden by them. ``rank`` orders deployments by ``order`` (lower first; unset last)."""

    id: str
    model_name: str
    model: str
    index: int
    pinned: Mapping[str, Any]
    defaults: Mapping[str, Any]
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    order: int | None = None
    base_model: str | None = None
    prices: Mapping[str, float] = field(default_factory=dict)

    def cost(self, usage: Any) -> float | None:
        """What ``usage`` costs at this deployment's own ``model_info`` prices (``None``
        without them: the price data prices it)."""
        if not self.prices or usage is None:
            return None
        return ((usage.prompt_tokens or 0) * self.prices.get("input_cost_per_token", 0.0)
                + (usage.completion_tokens or 0) * self.prices.get("output_cost_per_token", 0.0))

    @property
    def rank(self) -> float:
        return math.inf if self.order is None else float(self.order)

    def __repr__(self) -> str:  # params hold credentials: never shown
        return f"Deployment(id={self.id!r}, model_name={self.model_name!r}, model={self.model!r})"


@dataclass(frozen=True)
class DeploymentStatus:
    """What ``Router.deployments()`` shows of one deployment, live.

    ``cooling_until`` is epoch seconds (``None`` when not cooling); ``rpm_used`` / ``tpm_used``
    count the current UTC minute; ``latency`` is the recent average in seconds (``None`` before
    any call)."""

    id: str
    model_name: str
    model: str
    cooling_until: float | None
    rpm_used: int
    tpm_used: int
    in_flight: int
    latency: float | None
    time_to_first_token: float | None = None
    rpm: int | None = None
    tpm: int | None = None
    weight: float = 1.0
    order: int | None = None


def parse_model_list(model_list: Any) -> list[Deployment]:
    """``model_list`` -> deployments, or ``ValueError`` naming the malformed entry."""
    if isinstance(model_list, (str, bytes)) or not isinstance(model_list, Sequence):
        raise ValueError(f"model_list must be a list of deployments, got {type(model_list).__name__}")
    deployments: list[Deployment] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(model_list):
        deployment = _parse_entry(index, entry)
        if deployment.id in seen:
            raise ValueError(f"{_where(index, entry)}: id {deployment.id!r} is already used by "
                             f"model_list[{seen[deployment.id]}]")
        seen[deployment.id] = index
        deployments.append(deployment)
    return deployments


def _where(index: int, entry: Any) -> str:
    name = entry.get("model_name") if isinstance(entry, Mapping) else None
    return f"model_list[{index}]" + (f" (model_name {name!r})" if isinstance(name, str) else "")


def _parse_entry(index: int, entry: Any) -> Deployment:
    where = _where(index, entry)
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: a deployment must be a mapping, got {type(entry).__name__}")
    name = entry.get("model_name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: 'model_name' must be a non-empty string")
    if "params" in entry and "litellm_params" in entry:
        raise ValueError(f"{where}: give 'params' or 'litellm_params', not both")
    params = entry.get("params", entry.get("litellm_params"))
    if not isinstance(params, Mapping):
        raise ValueError(f"{where}: 'params' must be a mapping of completion() arguments")
    info = entry.get("model_info") or {}
    if not isinstance(info, Mapping):
        raise ValueError(f"{where}: 'model_info' must be a mapping")
    params = dict(params)
    provider = params.pop("custom_llm_provider", None)
    model = params.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"{where}: params.model must be a non-empty string")
    if isinstance(provider, str) and provider and not model.startswith(f"{provider}/"):
        model = params["model"] = f"{provider}/{model}"
    _check_provider(where, model, bool(params.get("azure")))
    routing = {}
    for key in ROUTING_KEYS:
        values = [src[key] for src in (entry, params, info) if src.get(key) is not None]
        params.pop(key, None)
        if values:
            routing[key] = values[0]
    prices = {k: _number(where, k, v, allow_zero=True) for k in PRICE_KEYS
              for v in [info.get(k, params.get(k))] if v is not None}
    for key in NOT_SENT:
        params.pop(key, None)
    unknown = set(entry) - ENTRY_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                         "completion() arguments go in 'params'")
    ident = entry.get("id", info.get("id"))
    if ident is None:
        ident = f"{name}/{index}"
    elif not isinstance(ident, (str, int)) or isinstance(ident, bool) or str(ident) == "":
        raise ValueError(f"{where}: 'id' must be a non-empty string")
    base_model = routing.get("base_model")
    if base_model is not None and not isinstance(base_model, str):
        raise ValueError(f"{where}: 'base_model' must be a string")
    order = routing.get("order")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)):
        raise ValueError(f"{where}: 'order' must be an integer")
    return Deployment(
        id=str(ident),
        model_name=name,
        model=model,
        index=index,
        pinned={k: v for k, v in params.items() if k in PINNED_KEYS},
        defaults={k: v for k, v in params.items() if k not in PINNED_KEYS},
        weight=_number(where, "weight", routing.get("weight", 1)),
        rpm=_limit(where, "rpm", routing.get("rpm")),
        tpm=_limit(where, "tpm", routing.get("tpm")),
        order=order,
        base_model=base_model,
        prices=prices,
    )


def _check_provider(where: str, model: str, azure: bool) -> None:
    from ..registry import get_provider

    try:
        get_provider(model, azure=azure)
    except APIError as exc:
        raise ValueError(f"{where}: params.model {model!r}: {exc.message}") from None


def _number(where: str, key: str, value: Any, *, allow_zero: bool = False) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{where}: {key!r} must be a positive number, got {value!r}")
    return float(value)


def _limit(where: str, key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where}: {key!r} must be a positive integer, got {value!r}")
    return value


def groups_of(deployments: Iterable[Deployment]) -> dict[str, tuple[Deployment, ...]]:
    """Deployments by group, each group sorted by ``order`` (stable within an order)."""
    groups: dict[str, list[Deployment]] = {}
    for d in deployments:
        groups.setdefault(d.model_name, []).append(d)
    return {name: tuple(sorted(ds, key=lambda d: d.rank)) for name, ds in groups.items()}
