"""The key API: generate (shown once, stored as its hash), info, update, delete, expiry,
models allowed; and who may call which endpoint."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable

import openai
import pytest

from llmrelay.testing import Emulator

from .gateway import MASTER_KEY, Gateway, error_of, table


def test_generate_shape_and_hash(gw: Gateway) -> None:
    body = gw.create_key(models=["chat"], max_budget=5, budget_duration="30d", rpm_limit=10,
                         tpm_limit=1000, max_parallel_requests=2, duration="1h",
                         key_alias="team-a", metadata={"team": "a"})
    assert body["key"].startswith("sk-") and len(body["key"]) > 30
    assert body["token"] == hashlib.sha256(body["key"].encode()).hexdigest()
    assert body["expires"].endswith("Z")
    assert {k: body[k] for k in ("key_alias", "models", "max_budget", "budget_duration", "rpm_limit",
                                 "tpm_limit", "max_parallel_requests", "metadata")} == {
        "key_alias": "team-a", "models": ["chat"], "max_budget": 5.0, "budget_duration": "30d",
        "rpm_limit": 10, "tpm_limit": 1000, "max_parallel_requests": 2, "metadata": {"team": "a"}}


def test_generate_defaults(gw: Gateway) -> None:
    body = gw.create_key()
    assert body["expires"] is None and body["models"] == [] and body["metadata"] == {}
    assert body["max_budget"] is None and body["rpm_limit"] is None


def test_info_by_key_or_hash(gw: Gateway) -> None:
    created = gw.create_key(key_alias="info", max_budget=1.5, budget_duration="1d")
    for asked in (created["key"], created["token"]):
        response = gw.get("/key/info", params={"key": asked})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["key"] == created["token"]
        info = body["info"]
        assert set(info) == {"key_alias", "spend", "max_budget", "budget_duration", "budget_reset_at",
                             "models", "rpm_limit", "tpm_limit", "max_parallel_requests", "expires",
                             "metadata", "created_at"}
        assert info["key_alias"] == "info" and info["spend"] == 0 and info["max_budget"] == 1.5
        assert info["budget_reset_at"] > info["created_at"]
        assert created["key"] not in response.text
    no_duration = gw.create_key()
    info = gw.get("/key/info", params={"key": no_duration["token"]}).json()["info"]
    assert info["budget_reset_at"] is None


def test_info_spend_counts_requests(gw: Gateway) -> None:
    created = gw.create_key()
    for _ in range(2):
        assert gw.chat(created["key"]).status_code == 200
    info = gw.get("/key/info", params={"key": created["token"]}).json()["info"]
    rows = gw.spend(api_key=created["token"])["data"]
    assert len(rows) == 2
    assert info["spend"] == pytest.approx(sum(r["spend"] for r in rows))


def test_a_key_may_read_only_its_own_info(gw: Gateway) -> None:
    mine, other = gw.create_key(), gw.create_key()
    response = gw.get("/key/info", key=mine["key"], params={"key": mine["token"]})
    assert response.status_code == 200 and response.json()["key"] == mine["token"]
    response = gw.get("/key/info", key=mine["key"])
    assert response.status_code == 200 and response.json()["key"] == mine["token"]
    for asked in (other["token"], other["key"], "0" * 64):
        response = gw.get("/key/info", key=mine["key"], params={"key": asked})
        assert response.status_code == 403
        assert error_of(response)["code"] == "admin_only"
        assert error_of(response)["type"] == "permission_error"


def test_info_unknown_key(gw: Gateway) -> None:
    response = gw.get("/key/info", params={"key": "sk-never-issued"})
    assert response.status_code == 404
    error = error_of(response)
    assert (error["type"], error["code"]) == ("not_found_error", "key_not_found")


def test_update_changes_settings_at_once(gw: Gateway) -> None:
    created = gw.create_key(models=["other"])
    assert gw.chat(created["key"], model="chat").status_code == 403
    response = gw.post("/key/update", {"key": created["key"], "models": ["chat"], "key_alias": "b",
                                       "rpm_limit": 50, "metadata": {"x": 1}})
    assert response.status_code == 200, response.text
    info = response.json()["info"]
    assert info["models"] == ["chat"] and info["key_alias"] == "b" and info["rpm_limit"] == 50
    assert info["metadata"] == {"x": 1}
    assert gw.chat(created["key"], model="chat").status_code == 200
    response = gw.post("/key/update", {"key": created["token"], "models": []})
    assert response.status_code == 200 and response.json()["info"]["models"] == []


def test_update_errors(gw: Gateway) -> None:
    response = gw.post("/key/update", {"key": "sk-unknown", "key_alias": "x"})
    assert response.status_code == 404 and error_of(response)["code"] == "key_not_found"
    created = gw.create_key()
    response = gw.post("/key/update", {"key": created["key"], "rpm_limit": "many"})
    assert response.status_code == 400 and error_of(response)["param"] == "rpm_limit"
    response = gw.post("/key/update", {"key": created["key"], "colour": "red"})
    assert response.status_code == 400 and error_of(response)["param"] == "colour"


def test_delete_then_refused(gw: Gateway) -> None:
    a, b = gw.create_key(), gw.create_key()
    assert gw.chat(a["key"]).status_code == 200
    response = gw.post("/key/delete", {"keys": [a["key"], b["token"]]})
    assert response.status_code == 200
    assert response.json() == {"deleted_keys": [a["key"], b["token"]]}
    for key in (a["key"], b["key"]):
        with pytest.raises(openai.AuthenticationError) as caught:
            gw.client(key).chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
        assert caught.value.code == "invalid_api_key"
    assert gw.get("/key/info", params={"key": a["token"]}).status_code == 404


def test_expired_key(gw: Gateway) -> None:
    created = gw.create_key(duration="1s")
    assert gw.chat(created["key"]).status_code == 200
    time.sleep(1.1)
    response = gw.chat(created["key"])
    assert response.status_code == 401
    assert (error_of(response)["type"], error_of(response)["code"]) == (
        "authentication_error", "invalid_api_key")


def test_models_allowed(gw: Gateway) -> None:
    created = gw.create_key(models=["chat", "embed"])
    client = gw.client(created["key"])
    assert [m.id for m in client.models.list().data] == ["chat", "embed"]
    assert client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_allowed"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("other")


def test_admin_endpoints_refuse_virtual_keys(gw: Gateway) -> None:
    key = gw.create_key()["key"]
    calls = [("POST", "/key/generate", {}), ("POST", "/key/update", {"key": key}),
             ("POST", "/key/delete", {"keys": [key]}), ("GET", "/spend/logs", None)]
    for method, path, body in calls:
        response = gw.post(path, body, key) if method == "POST" else gw.get(path, key)
        assert response.status_code == 403, path
        assert error_of(response)["code"] == "admin_only"
        response = gw.post(path, body, None) if method == "POST" else gw.get(path, None)
        assert response.status_code == 401, path


def test_generate_validates(gw: Gateway) -> None:
    for body, param in (({"models": "chat"}, "models"), ({"max_budget": -1}, "max_budget"),
                        ({"budget_duration": "soon"}, "budget_duration"),
                        ({"duration": 5}, "duration"), ({"metadata": []}, "metadata"),
                        ({"tpm_limit": 1.5}, "tpm_limit"), ({"user_id": "x"}, "user_id")):
        response = gw.post("/key/generate", body)
        assert response.status_code == 400, body
        assert error_of(response)["param"] == param
    response = gw.http.post("/key/generate", content=b"[1, 2",
                            headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_json"


def test_keys_stored_only_as_hashes(gw: Gateway, backend: str, database_url: str) -> None:
    created = gw.create_key(key_alias="stored")
    rows = table(database_url, "llmrelay_keys")
    assert any(r["token"] == created["token"] for r in rows)
    assert created["key"] not in repr(rows)
    assert MASTER_KEY not in repr(rows)



def test_keys_across_replicas(gw: Gateway, emulator_server: Emulator, database_url: str,
                              tmp_path: Path) -> None:
    """A second process on the same database: a key made on one works on the other at once; a
    delete or an update made on one applies on the other within 5 s."""
    from .gateway import emulator_config

    other = Gateway(tmp_path, emulator_config(emulator_server, database_url),
                    emulator=emulator_server).start()
    try:
        created = gw.create_key(models=["chat"])
        assert other.chat(created["key"]).status_code == 200
        assert other.chat(created["key"], model="other").status_code == 403
        assert gw.post("/key/update", {"key": created["key"], "models": ["other"]}).status_code == 200
        _eventually(lambda: other.chat(created["key"], model="other").status_code == 200)
        assert gw.post("/key/delete", {"keys": [created["key"]]}).status_code == 200
        assert gw.chat(created["key"]).status_code == 401, "at once where it was deleted"
        _eventually(lambda: other.chat(created["key"]).status_code == 401)
    finally:
        other.close()


def _eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within 5 s"
        time.sleep(0.2)
