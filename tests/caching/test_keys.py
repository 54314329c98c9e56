"""What the key covers (everything that changes the answer) and what it does not (streaming,
credentials, timeouts, retries, logging, callbacks, key order); keys are short hashes, never the
request; values are compact, and compressed where they leave the process."""

from __future__ import annotations

import re
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.caching.keys import KEY_HEX, request_key
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, at, call

BASE: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.5}
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]

# Each changes the answer: a call with it must not hit the entry of BASE.
CHANGES = {
    "messages": {"messages": [{"role": "user", "content": "Something else"}]},
    "model": {"model": "gpt-4o"},
    "temperature": {"temperature": 0.6},
    "n": {"n": 2},
    "seed": {"seed": 1},
    "user": {"user": "someone"},
    "tools": {"tools": TOOLS},
    "max_tokens": {"max_tokens": 5},
    "stop": {"stop": ["x"]},
    "response_format": {"response_format": {"type": "json_object"}},
    "extra_body": {"extra_body": {"service_tier": "flex"}},
    "extra_headers": {"extra_headers": {"OpenAI-Beta": "assistants=v2"}},
    "provider extra": {"top_k": 3},
}

# None of these changes the answer: a call with it hits the entry of BASE.
SAME = {
    "stream": {"stream": True},
    "stream_options": {"stream": True, "stream_options": {"include_usage": True}},
    "timeout": {"timeout": 30},
    "force_timeout": {"force_timeout": 30},
    "num_retries": {"num_retries": 5},
    "logger_fn": {"logger_fn": lambda _: None},
    "verbose": {"verbose": False},
    "callbacks": {"callbacks": []},
    "cache": {"cache": {"ttl": 60}},
    "an unset parameter": {"seed": None},
    "key order": {"messages": [{"content": "Hi there", "role": "user"}]},
    "a credential header": {"extra_headers": {"Authorization": "Bearer other"}},
}


@pytest.fixture
def memory(namespace: str) -> Any:
    llmrelay.cache = made = llmrelay.Cache(namespace=namespace)
    yield made
    llmrelay.cache = None


@pytest.mark.parametrize("change", CHANGES)
def test_what_changes_the_answer_changes_the_key(emulator: Emulator, memory: Any,
                                                 change: str) -> None:
    call("sync", **at(emulator, "openai"), **BASE)
    answer = call("sync", **at(emulator, "openai"), **{**BASE, **CHANGES[change]})
    assert not answer.meta.cache_hit
    assert emulator.count() == 2


@pytest.mark.parametrize("same", SAME)
def test_what_leaves_the_answer_alone_leaves_the_key(emulator: Emulator, memory: Any,
                                                     same: str) -> None:
    call("sync", **at(emulator, "openai"), **BASE)
    answer = call("sync", **at(emulator, "openai"), **{**BASE, **SAME[same]})
    assert emulator.count() == 1
    if not isinstance(answer, list):  # a stream comes back as its chunks
        assert answer.meta.cache_hit


def test_the_api_key_is_not_in_the_key_but_the_endpoint_is(emulator: Emulator,
                                                             memory: Any) -> None:
    first = call("sync", **at(emulator, "openai"), **BASE)
    # The emulator would refuse this key: the answer is the cached one, nothing is sent.
    other_key = call("sync", api_base=emulator.base_url("openai"), api_key="sk-another-key",
                     **BASE)
    slash = call("sync", api_base=emulator.base_url("openai") + "/", api_key=emulator.api_key,
                 **BASE)
    assert other_key == first == slash and emulator.count() == 1
    elsewhere = call("sync", api_base=emulator.base_url("openrouter"), api_key=emulator.api_key,
                     **{**BASE, "model": "openai/openai/gpt-4o-mini"})
    assert not elsewhere.meta.cache_hit and emulator.count() == 2


def test_keys_are_short_hashes_under_the_namespace() -> None:
    payload = {"messages": [{"role": "user", "content": "x" * 10_000}], "params": {"seed": 1}}
    key = request_key("tenant-a", payload)
    assert re.fullmatch(rf"tenant-a:[0-9a-f]{{{KEY_HEX}}}", key)
    assert request_key("tenant-a", dict(reversed(payload.items()))) == key
    assert request_key("tenant-b", payload) != key
    with pytest.raises(TypeError):
        request_key("n", {"messages": [object()]})


def test_an_unkeyable_request_is_simply_not_cached(emulator: Emulator, memory: Any) -> None:
    for _ in range(2):  # JSON can send keys of mixed types, but cannot sort them
        call("sync", **at(emulator, "openai"), **BASE, logit_bias={1: 1, "2": 1})
    assert emulator.count() == 2


def stored_keys(backend: str, cache: llmrelay.Cache, redis_url: str, tmp_path: Path
                ) -> dict[str, bytes]:
    if backend == "memory":
        return {k: v for k, (v, _) in cache.store._entries.items()}  # type: ignore[attr-defined]
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "cache.db") as db:
            return dict(db.execute("SELECT key, value FROM llmrelay_cache").fetchall())
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{cache.namespace}:*"))
    found = {k.decode(): client.get(k) for k in keys}
    client.close()
    return found  # type: ignore[return-value]


def test_stored_keys_hold_no_payload_and_values_are_compact(
        emulator: Emulator, cache: llmrelay.Cache, backend: str, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    secret_prompt = "the-launch-code-is-0000 " * 20
    small = call("sync", **at(emulator, "openai"), model="gpt-4o-mini",
                 messages=[{"role": "user", "content": secret_prompt}])
    big = call("sync", **at(emulator, "openai"), model="gpt-4o-mini", n=30,
               messages=[{"role": "user", "content": secret_prompt}])
    entries = stored_keys(backend, cache, url, tmp_path)
    assert len(entries) == 2
    for key in entries:
        assert re.fullmatch(rf"{re.escape(cache.namespace)}:[0-9a-f]{{{KEY_HEX}}}", key)
        assert "launch-code" not in key and len(key) <= len(cache.namespace) + 1 + KEY_HEX
    raw = {len(r.model_dump_json()): r for r in (small, big)}
    by_size = sorted(entries.values(), key=len)
    small_value, big_value = by_size
    if backend == "memory":  # in process: plain JSON, nothing to gain from compressing
        assert all(v[:1] == b"\x01" for v in by_size)
    else:
        assert big_value[:1] == b"\x02"
        json_size = max(raw)
        assert len(big_value) < json_size / 4  # 30 equal choices compress well
        assert zlib.decompress(big_value[1:]) == raw[json_size].model_dump_json().encode()
        assert len(small_value) < 1200
