"""Provider settings for one call: explicit arguments first, then the environment.

Resolved once per call, immutable, passed down. Keys never appear in ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from .exceptions import AuthenticationError, BadRequestError
from .masking import mask_secret

__all__ = ["KEYLESS", "ProviderSettings", "SettingsSource", "mask_secret"]

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

    def __repr__(self) -> str:
        return (
            f"ProviderSettings(api_key={mask_secret(self.api_key)!r}, base_url={self.base_url!r}, "
            f"options={dict(self.options)!r})"
        )

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
        unless ``keyless`` (nothing will be sent: a stand-in key is used)."""
        resolved: dict[str, Any] = {
            name: env[var] for name, var in adapter.settings_env.items() if env.get(var)
        }
        resolved.update({k: v for k, v in (options or {}).items() if v is not None})
        key = api_key or next((env[v] for v in adapter.api_key_env if env.get(v)), None)
        if not key and keyless:
            key = KEYLESS
        if not key and not resolved.get("azure_ad_token"):
            raise AuthenticationError(
                f"No API key for {adapter.name}: pass api_key= or set "
                + " or ".join(adapter.api_key_env),
                provider=adapter.name,
            )
        base = api_base or env.get(adapter.base_url_env) or adapter.default_base_url
        if not base:
            raise BadRequestError(
                f"No base URL for {adapter.name}: pass api_base= or set {adapter.base_url_env}",
                provider=adapter.name,
            )
        return cls(
            api_key=key,
            base_url=base.rstrip("/"),
            options=resolved,
            extra_headers=dict(extra_headers or {}),
            extra_body=dict(extra_body or {}),
            drop_params=drop_params,
        )
