"""Provider settings for one call: explicit arguments first, then the environment.

Resolved once per call, immutable, passed down. Keys never appear in ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Protocol

from .exceptions import AuthenticationError, BadRequestError
from .masking import mask_secret

__all__ = ["ENVIRON_DATA", "KEYLESS", "ProviderSettings", "SettingsSource", "env_get",
           "environ_key", "mask_secret"]

# The key of a call that sends nothing (a cassette replaying): never a real credential.
KEYLESS = "llmrelay-replay-no-key"


class SettingsSource(Protocol):
    """Where a provider's settings come from (an ``Adapter`` is one): its env var names."""

    @property
    def name(self) -> str: ...
    @property
    def api_key_env(self) -> tuple[str, ...]: ...
    @property
    def default_base_url(self) -> str | None: ...
    @property
    def base_url_env(self) -> str: ...
    @property
    def settings_env(self) -> Mapping[str, str]: ...
    @property
    def secret_options(self) -> tuple[str, ...]: ...
    @property
    def finish_settings(self) -> "Callable[[ProviderSettings], ProviderSettings] | None": ...


@dataclass(frozen=True)
class ProviderSettings:
    """Credentials, endpoint and provider options of one call."""

    api_key: str | None = field(repr=False)
    base_url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    # Adapters read it where support depends on a parameter's value, which the capability
    # table cannot express (Cohere takes tool_choice "required"/"none" but no named function).
    drop_params: bool = False
    # Names of ``options`` whose values are secrets (AWS secret key, Azure AD token).
    secret_options: tuple[str, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        options = {k: mask_secret(str(v)) if k in self.secret_options else v
                   for k, v in self.options.items()}
        return (
            f"ProviderSettings(api_key={mask_secret(self.api_key)!r}, base_url={self.base_url!r}, "
            f"options={options!r})"
        )

    @cached_property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value of these settings: masked wherever a user could see it (worked
        out once: settings are reused across calls)."""
        values = (self.api_key, *(self.options.get(name) for name in self.secret_options))
        return tuple(str(v) for v in values if v)

    @classmethod
    def resolve(
        cls,
        adapter: SettingsSource,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        options: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        drop_params: bool = False,
        keyless: bool = False,
        env: Mapping[str, str] = os.environ,
    ) -> "ProviderSettings":
        """Arguments win over the adapter's env vars; a missing key raises before any request,
        unless ``keyless`` (nothing will be sent: a stand-in key is used).

        The same arguments and environment give the same settings: they are made once and
        reused (settings are immutable), which saves ~4 us a call."""
        given = {k: v for k, v in options.items() if v is not None} if options else {}
        # The environment is read only for what the arguments left out.
        read = _environ_get if env is _ENVIRON and _ENVIRON_DATA is not None else env.get
        from_env = tuple([(name, read(var)) for name, var in adapter.settings_env.items()
                          if name not in given])
        key = api_key
        if not key:
            for var in adapter.api_key_env:
                key = read(var)
                if key:
                    break
        base = api_base or read(adapter.base_url_env) or adapter.default_base_url
        cache_key: Any = (id(adapter), key, base, tuple(given.items()), from_env,
                          tuple(extra_headers.items()) if extra_headers else (),
                          drop_params, keyless)
        if extra_body:
            cache_key = None  # nested values, seldom set: made anew
        else:
            try:
                found = _resolved.get(cache_key)
            except TypeError:  # an option that is not hashable (httpx.Timeout): made anew
                cache_key = found = None
            if found is not None and found[0] is adapter:
                return found[1]
        resolved: dict[str, Any] = {name: value for name, value in from_env if value}
        resolved.update(given)
        finish = adapter.finish_settings
        if not key and keyless:
            key = KEYLESS
        if finish is None and not key and not resolved.get("azure_ad_token"):
            raise AuthenticationError(
                f"No API key for {adapter.name}: pass api_key= or set "
                + " or ".join(adapter.api_key_env),
                provider=adapter.name,
            )
        settings = cls(
            api_key=key,
            base_url=(base or "").rstrip("/"),
            options=resolved,
            extra_headers=dict(extra_headers or {}),
            extra_body=dict(extra_body or {}),
            drop_params=drop_params,
            secret_options=adapter.secret_options,
        )
        if finish is not None:
            settings = finish(settings)  # other credentials than one key; may derive the URL
        if not settings.base_url:
            raise BadRequestError(
                f"No base URL for {adapter.name}: pass api_base= or set {adapter.base_url_env}",
                provider=adapter.name,
            )
        if cache_key is not None:
            if len(_resolved) >= 256:
                _resolved.clear()
            _resolved[cache_key] = (adapter, settings)
        return settings


# Settings made, by what they were made from (the adapter is kept to tell a reused id apart).
_resolved: dict[Any, tuple[Any, ProviderSettings]] = {}

_ENVIRON = os.environ
# os.environ's own dict (encoded names -> encoded values), where the interpreter keeps one.
ENVIRON_DATA: Any = getattr(os.environ, "_data", None)
_ENVIRON_DATA = ENVIRON_DATA
_env_keys: dict[str, Any] = {}


def environ_key(name: str) -> Any:
    """``name`` as a key of ``ENVIRON_DATA``."""
    key = _env_keys.get(name)
    if key is None:
        key = _env_keys[name] = _ENVIRON.encodekey(name)  # type: ignore[attr-defined]
    return key


def env_get(env: Mapping[str, str], name: str) -> str | None:
    """``env.get(name)``; for ``os.environ`` its underlying dict is read directly: ``get`` of a
    variable that is not set raises and catches a ``KeyError`` inside ``os.environ`` (~1 us)."""
    if env is not _ENVIRON or _ENVIRON_DATA is None:
        return env.get(name)
    return _environ_get(name)


def _environ_get(name: str) -> str | None:
    raw = _ENVIRON_DATA.get(environ_key(name))
    return None if raw is None else _ENVIRON.decodevalue(raw)  # type: ignore[attr-defined,no-any-return]
