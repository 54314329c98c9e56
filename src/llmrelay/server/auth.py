"""Who is calling: the master key, a virtual key, or (with no master key configured) anyone.

Keys are compared in constant time: the master key directly, a virtual key by its hash (the
lookup is by hash, so the key itself is never compared or stored).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import GatewayError
from .keys import hash_key, same_secret
from .storage.base import StoreUnavailable

if TYPE_CHECKING:
    from .http import Request
    from .keycache import KeyCache
    from .keys import KeyRecord

__all__ = ["Principal", "authenticate"]


@dataclass(frozen=True)
class Principal:
    """The caller. ``label`` is what spend rows show in ``api_key``: the key's hash,
    ``"master"``, or ``None`` on an open gateway."""

    kind: str  # "master" | "key" | "open"
    record: KeyRecord | None = None

    @property
    def admin(self) -> bool:
        return self.kind in ("master", "open")

    @property
    def label(self) -> str | None:
        if self.record is not None:
            return self.record.token
        return "master" if self.kind == "master" else None

    @property
    def alias(self) -> str | None:
        return self.record.key_alias if self.record is not None else None

    def allows(self, group: str) -> bool:
        return self.record is None or self.record.allows(group)


MASTER = Principal("master")
OPEN = Principal("open")


async def authenticate(request: Request, master_key: str | None, keys: KeyCache) -> Principal:
    """The caller of ``request``, or the 401 / 503 the table says."""
    token = request.bearer()
    if token is None:
        if master_key is None:
            return OPEN
        raise GatewayError.invalid_key("No API key: pass one as 'Authorization: Bearer sk-...'.")
    if master_key is not None and same_secret(token, master_key):
        return MASTER
    try:
        record = await keys.get(hash_key(token))
    except StoreUnavailable:
        raise GatewayError.unavailable(
            "auth_unavailable", "The key store is unreachable and this key is not cached "
            "here; try again shortly.") from None
    if record is None:
        if master_key is None:
            return OPEN
        raise GatewayError.invalid_key()
    if record.expired(time.time()):
        raise GatewayError.invalid_key("This API key has expired.")
    return Principal("key", record)
