"""The admin API: ``/key/generate|info|update|delete`` and ``/spend/logs``.

Only the master key may use them, except ``/key/info`` which a key may ask about itself.
Query strings of these paths are never logged: they may hold a key.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

from .auth import authenticate
from .durations import is_date, iso, parse_instant
from .errors import GatewayError
from .http import json_headers
from .keys import SETTINGS, KeyRecord, as_hash, generate_key, hash_key, parse_settings, same_secret
from .limits import KeyLimits
from .storage.base import SpendQuery, StoreUnavailable

if TYPE_CHECKING:
    from .auth import Principal
    from .http import Request
    from .state import Services

__all__ = ["delete_keys", "generate", "info", "spend_logs", "update"]

FLUSH_TIMEOUT = 2.0  # admin reads first wait this long for this replica's rows to land
MAX_PAGE_SIZE = 1000


async def _master(gw: Services, request: Request) -> Principal:
    principal = await authenticate(request, gw.config.master_key, gw.keys)
    if principal.kind != "master":
        if gw.config.master_key is None:
            raise GatewayError.admin_only("The admin API needs a master key: set "
                                          "general_settings.master_key or LLMRELAY_MASTER_KEY.")
        raise GatewayError.admin_only()
    return principal


async def _reply(request: Request, body: Any) -> None:
    await request.respond(200, to_json(body), json_headers(request.request_id))


def _db_error() -> GatewayError:
    return GatewayError.unavailable("database_unavailable", "The database is unreachable; "
                                    "try again shortly.")


async def generate(gw: Services, request: Request) -> None:
    await _master(gw, request)
    body = await request.json_object(gw.config.max_request_bytes)
    now = time.time()
    settings = parse_settings(body, now=now)
    key = generate_key()
    record = KeyRecord(token=hash_key(key), created_at=now, **settings)
    period = record.period(now)
    if period is not None:
        record = replace(record, budget_reset_at=period[1])
    try:
        await gw.store.insert_key(record)
    except StoreUnavailable:
        raise _db_error() from None
    gw.keys.put(record)
    await _reply(request, {"key": key, "token": record.token, "expires": iso(record.expires),
                           **record.settings()})


async def _spend_now(gw: Services, record: KeyRecord) -> float:
    """The key's spend this period: the database after this replica's pending rows landed,
    or what the limiter has settled if that is further along."""
    await gw.sink.flush(FLUSH_TIMEOUT)
    now = time.time()
    try:
        fresh = await gw.store.get_key(record.token, 5.0)
    except StoreUnavailable:
        fresh = None
    stored = (fresh or record).period_spend(now)
    period = record.period(now)
    limits = KeyLimits(record.token, budget=record.max_budget, period_end=period[1] if period else None)
    counted = await gw.limiter.period_spend(limits)
    return max(stored, counted) if counted is not None else stored


async def info(gw: Services, request: Request) -> None:
    principal = await authenticate(request, gw.config.master_key, gw.keys)
    asked = request.query().get("key")
    if principal.kind != "master":
        own = principal.record
        if own is None:
            raise GatewayError.admin_only()
        if asked and not same_secret(as_hash(asked), own.token):
            raise GatewayError.admin_only("A key may only ask /key/info about itself.")
        token = own.token
    elif not asked:
        raise GatewayError.bad_request("Pass ?key=<key or its hash>.", param="key")
    else:
        token = as_hash(asked)
    try:
        record = await gw.store.get_key(token, 5.0)
    except StoreUnavailable:
        raise _db_error() from None
    if record is None:
        raise GatewayError.not_found("key_not_found", "No such key.", param="key")
    await _reply(request, record.info(time.time(), await _spend_now(gw, record)))


async def update(gw: Services, request: Request) -> None:
    await _master(gw, request)
    body = await request.json_object(gw.config.max_request_bytes)
    asked = body.pop("key", None)
    if not isinstance(asked, str) or not asked:
        raise GatewayError.bad_request("Pass \"key\": the key or its hash.", param="key")
    changes = parse_settings(body, now=time.time(), allowed=SETTINGS)
    token = as_hash(asked)
    try:
        current = await gw.store.get_key(token, 5.0)
        if current is None:
            raise GatewayError.not_found("key_not_found", "No such key.", param="key")
        if "budget_duration" in changes and changes["budget_duration"] != current.budget_duration:
            # A new period length starts a new period: its spend starts from 0.
            period = replace(current, budget_duration=changes["budget_duration"]).period(time.time())
            changes["budget_reset_at"] = period[1] if period else None
            changes["spend"] = 0.0
        record = await gw.store.update_key(token, changes) if changes else current
    except StoreUnavailable:
        raise _db_error() from None
    if record is None:
        raise GatewayError.not_found("key_not_found", "No such key.", param="key")
    gw.keys.put(record)
    await _reply(request, record.info(time.time(), await _spend_now(gw, record)))


async def delete_keys(gw: Services, request: Request) -> None:
    await _master(gw, request)
    body = await request.json_object(gw.config.max_request_bytes)
    keys = body.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise GatewayError.bad_request("Pass {\"keys\": [key or hash, ...]}.", param="keys")
    unknown = sorted(set(body) - {"keys"})
    if unknown:
        raise GatewayError.bad_request(f"Unknown field(s): {', '.join(unknown)}.", param=unknown[0])
    hashes = {k: as_hash(k) for k in keys}
    try:
        deleted = set(await gw.store.delete_keys(list(hashes.values())))
    except StoreUnavailable:
        raise _db_error() from None
    for token in hashes.values():
        gw.keys.drop(token)
    await _reply(request, {"deleted_keys": [k for k, h in hashes.items() if h in deleted]})


def _int(query: dict[str, str], name: str, default: int, high: int | None = None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GatewayError.bad_request(f"'{name}' must be a whole number.", param=name) from None
    if value < 1 or (high is not None and value > high):
        limit = f" between 1 and {high}" if high else " of 1 or more"
        raise GatewayError.bad_request(f"'{name}' must be{limit}, got {value}.", param=name)
    return value


def _instant(query: dict[str, str], name: str, *, end: bool) -> float | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        return parse_instant(raw, end_of_day=end)
    except ValueError:
        raise GatewayError.bad_request(f"'{name}' must be an ISO 8601 date or datetime, "
                                       f"got {raw!r}.", param=name) from None


async def spend_logs(gw: Services, request: Request) -> None:
    await _master(gw, request)
    query = request.query()
    api_key = query.get("api_key") or None
    q = SpendQuery(
        api_key=None if api_key is None else ("master" if api_key == "master" else as_hash(api_key)),
        model_group=query.get("model") or None,
        start=_instant(query, "start_date", end=False),
        end=_instant(query, "end_date", end=True),
        end_exclusive=is_date(query.get("end_date") or ""),
        page=_int(query, "page", 1),
        page_size=_int(query, "page_size", 100, MAX_PAGE_SIZE),
    )
    await gw.sink.flush(FLUSH_TIMEOUT)
    try:
        rows, total = await gw.store.spend_logs(q)
    except StoreUnavailable:
        raise _db_error() from None
    await _reply(request, {"data": rows, "page": q.page, "page_size": q.page_size, "total": total})
