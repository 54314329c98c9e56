"""The gateway's YAML config (LiteLLM proxy configs load unchanged), validated at start.

Every problem is a ``ConfigError`` whose message names the field, and for a deployment its
group and index; the server prints it and exits non-zero, without a traceback.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..router.config import LITELLM_SETTINGS
from .storage.urls import DatabaseURL, parse_database_url

__all__ = ["ConfigError", "GatewayConfig", "load_config"]

log = logging.getLogger("llmrelay.server")

TOP_LEVEL = ("model_list", "router_settings", "general_settings", "cache", "litellm_settings",
             "environment_variables")
# general_settings the gateway implements; any other is logged once as ignored.
GENERAL = ("master_key", "database_url", "redis_url", "redis_prefix", "max_request_size_mb",
           "database_connection_pool_limit", "spool_dir", "spend_fsync")
# litellm_settings the gateway maps onto its own (the Router's, as ``Router.from_config``
# reads them: fallbacks, num_retries, cooldown_time...); any other is logged once as ignored.
LITELLM = ("drop_params", "cache", "cache_params", *LITELLM_SETTINGS)
CACHE_TYPES = {"memory": "memory", "local": "memory", "in-memory": "memory", "sqlite": "sqlite",
               "disk": "sqlite", "redis": "redis"}
ENV_PREFIX = "os.environ/"
DEFAULT_MAX_REQUEST_MB = 10.0


class ConfigError(Exception):
    """An invalid config; the message is meant for the operator, as is."""


@dataclass
class GatewayConfig:
    """Everything the server needs, resolved (``os.environ/`` values read) and checked."""

    model_list: list[dict[str, Any]]
    router_settings: dict[str, Any] = field(default_factory=dict)
    master_key: str | None = None
    database: DatabaseURL | None = None
    redis_url: str | None = None
    redis_prefix: str = "llmrelay"
    cache: dict[str, Any] | None = None
    call_defaults: dict[str, Any] = field(default_factory=dict)
    max_request_bytes: int = int(DEFAULT_MAX_REQUEST_MB * 1024 * 1024)
    pool_size: int = 10
    spool_dir: Path = Path(".llmrelay-spool")
    spend_fsync: bool = False
    ignored: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # holds keys: never shown
        return f"GatewayConfig(groups={sorted(self.groups())!r})"

    def groups(self) -> list[str]:
        return list(dict.fromkeys(d["model_name"] for d in self.model_list))

    def secrets(self) -> tuple[str, ...]:
        """Every credential in the config, to mask out of anything shown."""
        found: list[str] = [self.master_key] if self.master_key else []
        for entry in self.model_list:
            for name, value in entry["params"].items():
                if isinstance(value, str) and len(value) >= 8 and _is_secret_name(name):
                    found.append(value)
        return tuple(found)


def _is_secret_name(name: str) -> bool:
    name = name.lower()
    return any(part in name for part in ("key", "token", "secret", "password"))


def load_config(path: str | os.PathLike[str] | None, *, model: str | None = None,
                environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and check the config at ``path``, or serve one group ``model`` with no file."""
    env = os.environ if environ is None else environ
    if path is None:
        if not model:
            raise ConfigError("give --config FILE, or --model MODEL to serve one model")
        raw: dict[str, Any] = {"model_list": [{"model_name": model, "params": {"model": model}}]}
        base = Path.cwd()
    else:
        raw = _read_yaml(Path(path))
        base = Path(path).resolve().parent
        if model:
            raise ConfigError("give --config or --model, not both")
    return _build(raw, base, env)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: {problem}{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping with model_list, general_settings, ...")
    return data


def _build(raw: dict[str, Any], base: Path, env: Mapping[str, str]) -> GatewayConfig:
    unknown = [str(k) for k in raw if k not in TOP_LEVEL]
    if unknown:
        raise ConfigError(f"unknown top-level key {unknown[0]!r}; the config takes "
                          f"{', '.join(TOP_LEVEL)}")
    variables = _mapping(raw.get("environment_variables"), "environment_variables")
    for name, value in variables.items():
        if value is None:
            continue
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            value = _env(value, f"environment_variables.{name}", env)
        os.environ[str(name)] = str(value)  # set before the rest is read
    env = {**env, **{str(k): str(v) for k, v in variables.items() if v is not None}}

    general = _resolve(_mapping(raw.get("general_settings"), "general_settings"),
                       "general_settings", env)
    litellm = _resolve(_mapping(raw.get("litellm_settings"), "litellm_settings"),
                       "litellm_settings", env)
    # LiteLLM's router_settings the Router does not take (enable_pre_call_checks,
    # retry_policy...) are ignored with a warning, as Router.from_config does.
    from ..router.router import KNOWN_SETTINGS

    router_raw = _mapping(raw.get("router_settings"), "router_settings")
    router_settings = _resolve({k: v for k, v in router_raw.items() if k in KNOWN_SETTINGS},
                               "router_settings", env)
    config = GatewayConfig(model_list=_model_list(raw.get("model_list"), env),
                           router_settings=dict(router_settings))
    config.ignored += [f"router_settings.{k}" for k in router_raw if k not in KNOWN_SETTINGS]
    config.ignored += [f"general_settings.{k}" for k in general if k not in GENERAL]
    config.ignored += [f"litellm_settings.{k}" for k in litellm if k not in LITELLM]

    master = general.get("master_key") or env.get("LLMRELAY_MASTER_KEY") or None
    if master is not None and not isinstance(master, str):
        raise ConfigError("general_settings.master_key must be a string")
    config.master_key = master

    url = general.get("database_url") or "sqlite:///llmrelay.db"
    try:
        config.database = parse_database_url(url, base)
    except ValueError as exc:
        raise ConfigError(f"general_settings.database_url: {exc}") from None

    redis_url = general.get("redis_url")
    if redis_url is not None:
        config.redis_url = _redis_url(redis_url, "general_settings.redis_url")
    prefix = general.get("redis_prefix", "llmrelay")
    if not isinstance(prefix, str) or not prefix:
        raise ConfigError(f"general_settings.redis_prefix must be a non-empty string, got {prefix!r}")
    config.redis_prefix = prefix
    if config.redis_url and "redis_url" not in config.router_settings and not any(
            k in config.router_settings for k in ("redis_host", "redis_port")):
        config.router_settings["redis_url"] = config.redis_url
    if config.redis_url and "redis_prefix" in general:
        config.router_settings.setdefault("redis_prefix", f"{prefix}:router")

    size = general.get("max_request_size_mb", DEFAULT_MAX_REQUEST_MB)
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size <= 0:
        raise ConfigError(f"general_settings.max_request_size_mb must be a positive number, got {size!r}")
    config.max_request_bytes = int(size * 1024 * 1024)

    pool = general.get("database_connection_pool_limit", 10)
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
        raise ConfigError("general_settings.database_connection_pool_limit must be a positive "
                          f"whole number, got {pool!r}")
    config.pool_size = pool

    spool = general.get("spool_dir")
    if spool is not None and not isinstance(spool, str):
        raise ConfigError("general_settings.spool_dir must be a path")
    # One directory per database: rows are only ever recovered into the database they were for.
    if spool:
        config.spool_dir = (base / Path(spool).expanduser()).resolve() / config.database.identity()
    elif config.database.dialect == "sqlite" and config.database.path != ":memory:":
        config.spool_dir = Path(config.database.path + ".spool")
    else:
        config.spool_dir = (base / ".llmrelay-spool").resolve() / config.database.identity()

    fsync = general.get("spend_fsync", False)
    if not isinstance(fsync, bool):
        raise ConfigError(f"general_settings.spend_fsync must be true or false, got {fsync!r}")
    config.spend_fsync = fsync

    _litellm_settings(config, litellm)
    cache = raw.get("cache")
    if cache is None and litellm.get("cache"):
        cache = litellm.get("cache_params") or {"type": "memory"}
    if cache is not None and cache is not False:
        config.cache = _cache(_resolve(_mapping(cache, "cache"), "cache", env), config)
    return config


def _litellm_settings(config: GatewayConfig, litellm: Mapping[str, Any]) -> None:
    if litellm.get("drop_params") is not None:
        config.call_defaults["drop_params"] = bool(litellm["drop_params"])
    for name, target in LITELLM_SETTINGS.items():  # router_settings wins where both say
        if litellm.get(name) is not None:
            config.router_settings.setdefault(target, litellm[name])


def _cache(cache: dict[str, Any], config: GatewayConfig) -> dict[str, Any]:
    kind = cache.get("type", "memory")
    if kind not in CACHE_TYPES:
        raise ConfigError(f"cache.type must be one of memory, sqlite, redis; got {kind!r}")
    out: dict[str, Any] = {"type": CACHE_TYPES[kind]}
    ttl = cache.get("ttl")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            raise ConfigError(f"cache.ttl must be a positive number of seconds, got {ttl!r}")
        out["ttl"] = float(ttl)
    if cache.get("namespace") is not None:
        out["namespace"] = str(cache["namespace"])
    if out["type"] == "redis":
        url = cache.get("url") or cache.get("redis_url")
        if url is None and cache.get("host"):
            password = cache.get("password")
            auth = f":{password}@" if password else ""
            url = f"redis://{auth}{cache['host']}:{cache.get('port', 6379)}/0"
        url = url or config.redis_url
        if url is None:
            raise ConfigError("cache.type redis needs general_settings.redis_url (or cache.url)")
        out["url"] = _redis_url(url, "cache.url")
    elif out["type"] == "sqlite":
        out["url"] = str(cache.get("url") or cache.get("path") or "sqlite:///llmrelay-cache.db")
    return out


def _redis_url(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a redis:// URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"{where} is not a valid URL (check the port)") from None
    if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix" and not parts.hostname):
        raise ConfigError(f"{where} must look like redis://host:6379/0")
    return value


def _model_list(value: Any, env: Mapping[str, str]) -> list[dict[str, Any]]:
    if value is None:
        raise ConfigError("model_list is missing: the config needs at least one deployment")
    if not isinstance(value, list) or not value:
        raise ConfigError("model_list must be a non-empty list of deployments")
    return [_deployment(i, entry, env) for i, entry in enumerate(value)]


def _deployment(index: int, entry: Any, env: Mapping[str, str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigError(f"model_list[{index}]: a deployment must be a mapping with model_name and params")
    group = entry.get("model_name")
    where = f"model_list[{index}] (group {group!r})"
    if not isinstance(group, str) or not group:
        raise ConfigError(f"model_list[{index}]: model_name is missing (the group name clients ask for)")
    entry = _resolve(entry, where, env, top=True)
    params = entry.get("params", entry.get("litellm_params"))
    if params is None:
        raise ConfigError(f"{where}: params is missing (params.model names the provider's model)")
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: params must be a mapping")
    model = params.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{where}: params.model is missing (e.g. openai/gpt-4o-mini)")
    provider = params.get("custom_llm_provider")
    if isinstance(provider, str) and provider and not model.startswith(f"{provider}/"):
        model = f"{provider}/{model}"
    from ..exceptions import APIError
    from ..registry import get_provider

    try:
        get_provider(model, azure=bool(params.get("azure")))
    except APIError as exc:
        raise ConfigError(f"{where}: params.model {model!r}: unknown provider. {exc.message}") from None
    base = params.get("api_base", params.get("base_url"))
    if base is not None:
        parts = urlsplit(base) if isinstance(base, str) else None
        try:
            ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
            if parts is not None:
                parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"{where}: params.api_base must be an http(s):// URL, got {base!r}")
    normal = {k: v for k, v in entry.items() if k != "litellm_params"}
    normal["params"] = dict(params)
    return normal


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping")
    return value


def _env(value: str, where: str, env: Mapping[str, str]) -> str:
    name = value[len(ENV_PREFIX):]
    found = env.get(name)
    if found is None:
        raise ConfigError(f"{where}: environment variable {name} is not set")
    return found


def _resolve(value: Any, where: str, env: Mapping[str, str], *, top: bool = False) -> Any:
    """A copy of ``value`` with every ``os.environ/NAME`` string read from the environment."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return _env(value, where, env)
    if isinstance(value, dict):
        sep = ": " if top else "."
        return {k: _resolve(v, f"{where}{sep}{k}", env) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, f"{where}[{i}]", env) for i, v in enumerate(value)]
    return value


def log_ignored(config: GatewayConfig) -> None:
    for name in config.ignored:
        log.warning("config: %s is not implemented by llmrelay; ignored", name)
