"""Reading a Router's settings: fallback lists in either spelling, Redis addresses, and config
files (YAML or a dict) in llmrelay's or LiteLLM's format with ``os.environ/NAME`` values."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

__all__ = ["load_config", "normalise_fallbacks", "redis_address", "resolve_env"]

logger = logging.getLogger("llmrelay")

ENV_PREFIX = "os.environ/"

# LiteLLM keeps some Router settings in ``litellm_settings``; they apply unless
# ``router_settings`` sets them too. ``request_timeout`` is LiteLLM's name for ``timeout``.
LITELLM_SETTINGS = {
    "num_retries": "num_retries", "fallbacks": "fallbacks",
    "context_window_fallbacks": "context_window_fallbacks",
    "content_policy_fallbacks": "content_policy_fallbacks", "allowed_fails": "allowed_fails",
    "cooldown_time": "cooldown_time", "request_timeout": "timeout",
}


def normalise_fallbacks(name: str, value: Any, groups: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``{"chat": ["backup"]}`` or LiteLLM's ``[{"chat": ["backup"]}]`` -> ``{group: (group, ...)}``;
    ``ValueError`` for a shape that is not right. A group name that is not a ``model_name`` of
    ``model_list`` (API.md's own example names a ``chat-long`` group it never defines) is left
    out with a warning (one per list), as LiteLLM does: a fallback to nowhere is never tried."""
    if value is None:
        return {}
    items: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        for entry in value:
            if not isinstance(entry, Mapping):
                raise ValueError(f"{name}: each entry must be a mapping like {{'chat': ['backup']}}, "
                                 f"got {entry!r}")
            items.extend(entry.items())
    else:
        raise ValueError(f"{name} must be a mapping of group -> list of groups, got {value!r}")
    out: dict[str, tuple[str, ...]] = {}
    unknown: list[str] = []
    for group, targets in items:
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(group, str) or not isinstance(targets, (list, tuple)):
            raise ValueError(f"{name}: {group!r}: expected a list of group names, got {targets!r}")
        for target in targets:
            if not isinstance(target, str):
                raise ValueError(f"{name}[{group!r}]: expected group names, got {target!r}")
        if group != "*" and group not in groups:
            unknown.append(f"{name}: {group!r}")
            continue
        unknown.extend(f"{name}[{group!r}]: {t!r}" for t in targets if t not in groups)
        known = tuple(t for t in targets if t in groups)
        if known:
            out[group] = (*out.get(group, ()), *known)
    if unknown:
        message = (f"Router: ignoring fallback groups that are not a model_name of model_list "
                   f"(groups: {', '.join(sorted(groups))}): {'; '.join(unknown)}")
        logger.warning(message)
        warnings.warn(message, UserWarning, stacklevel=3)
    return out


def redis_address(url: str | None, host: str | None, port: int | str | None,
                  password: str | None) -> str | None:
    """``redis_url``, or one built from LiteLLM's ``redis_host`` / ``redis_port`` / ``redis_password``."""
    if url:
        return url
    if not host:
        return None
    auth = f":{quote(str(password), safe='')}@" if password else ""
    return f"redis://{auth}{host}:{int(port or 6379)}/0"


def resolve_env(value: Any, where: str) -> Any:
    """Replace every ``os.environ/NAME`` string by the variable's value; ``ValueError`` naming
    the field when it is not set."""
    if isinstance(value, str):
        if value.startswith(ENV_PREFIX):
            name = value[len(ENV_PREFIX):]
            found = os.environ.get(name)
            if found is None:
                raise ValueError(f"{where}: environment variable {name} is not set")
            return found
        return value
    if isinstance(value, Mapping):
        return {k: resolve_env(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve_env(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def load_config(source: Any, known: frozenset[str]) -> tuple[Any, dict[str, Any]]:
    """A config file path or dict -> (``model_list``, Router keyword arguments)."""
    config = _read(source)
    if not isinstance(config, Mapping):
        raise ValueError("a Router config must be a mapping with a 'model_list'")
    if "model_list" not in config:
        raise ValueError("the config has no 'model_list'")
    model_list = config["model_list"]
    if isinstance(model_list, list):
        model_list = [resolve_env(entry, f"model_list[{i}]") for i, entry in enumerate(model_list)]
    settings: dict[str, Any] = {}
    litellm = config.get("litellm_settings") or {}
    if isinstance(litellm, Mapping):
        for key, target in LITELLM_SETTINGS.items():
            if litellm.get(key) is not None:
                settings[target] = resolve_env(litellm[key], f"litellm_settings.{key}")
    router_settings = config.get("router_settings") or {}
    if not isinstance(router_settings, Mapping):
        raise ValueError("router_settings must be a mapping of Router keyword arguments")
    unknown = sorted(str(k) for k in router_settings if k not in known)
    if unknown:
        message = ("Router.from_config: ignoring router_settings the Router does not take: "
                   + ", ".join(unknown))
        logger.warning(message)
        warnings.warn(message, UserWarning, stacklevel=3)
    for key, value in router_settings.items():
        if key in known:
            settings[key] = resolve_env(value, f"router_settings.{key}")
    return model_list, settings


def _read(source: Any) -> Any:
    if isinstance(source, Mapping):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"Router.from_config takes a path or a dict, got {type(source).__name__}")
    path = Path(source).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the Router config {str(path)!r}: {exc.strerror}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"the Router config {str(path)!r} is not valid YAML: {exc}") from None
