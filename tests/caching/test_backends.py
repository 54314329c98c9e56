"""Each backend as the rest of the world sees it: shared across processes, written by many
threads and processes at once, expiring entries, and failing open (Redis killed or paused, a
SQLite file that is locked, corrupt or out of space, a stored value that cannot be read)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.caching.conftest import RedisServer, make_cache
from tests.caching.test_keys import stored_keys
from tests.helpers import MESSAGES, at, call

ROOT = Path(__file__).resolve().parents[2]
MODES = ["sync", "async"]
SHARED = ["sqlite", "redis"]


def openai(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, **at(emulator, "openai"), **extra}


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "llmrelay" and r.levelno >= logging.WARNING and "cache" in r.getMessage()]


def run_python(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr
    return result


CALL_IN_A_PROCESS = """
    import json, os, llmrelay
    llmrelay.cache = llmrelay.Cache(os.environ["CACHE_URL"], namespace=os.environ["NS"])
    resp = llmrelay.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi there"}],
                               api_base=os.environ["BASE"], api_key=os.environ["KEY"])
    print(json.dumps({"hit": resp.meta.cache_hit, "content": resp.choices[0].message.content}))
"""


def shared_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("redis_url")) if backend == "redis" \
        else f"sqlite:///{tmp_path}/cache.db"


@pytest.mark.parametrize("backend", SHARED)
def test_a_hit_across_processes(emulator: Emulator, backend: str, namespace: str, tmp_path: Path,
                                request: pytest.FixtureRequest) -> None:
    env = {"CACHE_URL": shared_url(backend, tmp_path, request), "NS": namespace,
           "BASE": emulator.base_url("openai"), "KEY": emulator.api_key}
    first = run_python(CALL_IN_A_PROCESS, **env)
    second = run_python(CALL_IN_A_PROCESS, **env)
    assert (first["hit"], second["hit"]) == (False, True)
    assert first["content"] == second["content"]
    llmrelay.cache = made = llmrelay.Cache(env["CACHE_URL"], namespace=namespace)
    assert call("async", **openai(emulator)).meta.cache_hit
    assert emulator.count() == 1
    made.close()


@pytest.mark.parametrize("mode", MODES)
def test_entries_expire_after_their_ttl(emulator: Emulator, backend: str, namespace: str,
                                        tmp_path: Path, request: pytest.FixtureRequest,
                                        mode: str) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    llmrelay.cache = made = make_cache(backend, namespace, url, tmp_path, ttl=0.3)
    call(mode, **openai(emulator))
    assert call(mode, **openai(emulator)).meta.cache_hit
    time.sleep(0.45)
    assert not call(mode, **openai(emulator)).meta.cache_hit
    assert call(mode, **openai(emulator)).meta.cache_hit
    assert emulator.count() == 2
    made.close()


def test_concurrent_writers_in_threads(emulator: Emulator, cache: llmrelay.Cache,
                                       caplog: pytest.LogCaptureFixture) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(12):
                call("sync" if worker % 2 else "async", **openai(emulator, seed=(worker + i) % 6))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and cache_warnings(caplog) == []
    sent = emulator.count()
    assert 6 <= sent < 72  # every seed asked at least once; most answers came from the cache
    for seed in range(6):
        assert call("sync", **openai(emulator, seed=seed)).meta.cache_hit
    assert emulator.count() == sent


WRITER = """
    import json, os, llmrelay
    from llmrelay.caching.codec import encode
    from llmrelay.types import ModelResponse
    cache = llmrelay.Cache(os.environ["CACHE_URL"], namespace=os.environ["NS"], timeout=5)
    me = int(os.environ["WORKER"])
    answer = ModelResponse(id="x", model="m", choices=[])
    for i in range(40):
        cache.set(f"{cache.namespace}:{me}-{i}", encode(answer, 512), None)
        assert cache.get(f"{cache.namespace}:{me}-{i}") is not None
    print(json.dumps({"failing": cache._failing}))
"""


@pytest.mark.parametrize("backend", SHARED)
def test_concurrent_writers_in_processes(backend: str, namespace: str, tmp_path: Path,
                                         request: pytest.FixtureRequest) -> None:
    url = shared_url(backend, tmp_path, request)
    code = textwrap.dedent(WRITER)
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "CACHE_URL": url, "NS": namespace,
                                   "WORKER": str(w)}) for w in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == {"failing": False}, err
    cache = llmrelay.Cache(url, namespace=namespace)
    assert all(cache.get(f"{namespace}:{w}-{i}") for w in range(4) for i in range(40))
    cache.close()


@pytest.mark.parametrize("mode", MODES)
def test_redis_killed_mid_run(emulator: Emulator, throwaway_redis: RedisServer, namespace: str,
                              caplog: pytest.LogCaptureFixture, mode: str) -> None:
    caplog.set_level(logging.INFO, logger="llmrelay")
    made = llmrelay.Cache(throwaway_redis.url, namespace=namespace, timeout=0.3)
    made.retry_after = 0.2
    llmrelay.cache = made
    first = call(mode, **openai(emulator))
    assert call(mode, **openai(emulator)).meta.cache_hit
    throwaway_redis.kill()
    for _ in range(4):
        answer = call(mode, **openai(emulator))
        assert answer == first and not answer.meta.cache_hit
        time.sleep(0.1)
    assert emulator.count() == 5
    warnings = cache_warnings(caplog)
    assert len(warnings) == 1 and "redis (redis://127.0.0.1" in warnings[0]
    throwaway_redis.start()
    time.sleep(0.25)
    call(mode, **openai(emulator))  # the restarted Redis is empty: a miss, then stored
    assert call(mode, **openai(emulator)).meta.cache_hit
    assert emulator.count() == 6
    assert len(cache_warnings(caplog)) == 1
    assert any("answers again" in r.getMessage() for r in caplog.records)
    made.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_slow_redis_costs_at_most_its_timeout(emulator: Emulator, throwaway_redis: RedisServer,
                                                namespace: str, caplog: pytest.LogCaptureFixture,
                                                mode: str) -> None:
    made = llmrelay.Cache(throwaway_redis.url, namespace=namespace, timeout=0.3)
    llmrelay.cache = made
    call(mode, **openai(emulator))
    plain = time.perf_counter()
    call(mode, **openai(emulator, cache={"no-cache": True, "no-store": True}))
    plain = time.perf_counter() - plain
    throwaway_redis.pause()
    try:
        started = time.perf_counter()
        answer = call(mode, **openai(emulator))
        slow = time.perf_counter() - started
        assert not answer.meta.cache_hit
        assert 0.3 <= slow < 0.3 + plain + 0.5  # one timeout (the lookup); the store is skipped
        started = time.perf_counter()
        call(mode, **openai(emulator))
        assert time.perf_counter() - started < 0.25  # left alone for retry_after: no wait
        assert len(cache_warnings(caplog)) == 1
        assert "Timeout" in cache_warnings(caplog)[0]
    finally:
        throwaway_redis.resume()
    made.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_locked_sqlite_file_costs_at_most_its_timeout(emulator: Emulator, namespace: str,
                                                        tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture,
                                                        mode: str) -> None:
    path = tmp_path / "cache.db"
    llmrelay.cache = made = llmrelay.Cache(f"sqlite:///{path}", namespace=namespace, timeout=0.2)
    call(mode, **openai(emulator))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert call(mode, **openai(emulator)).meta.cache_hit  # WAL: readers are not blocked
        started = time.perf_counter()
        answer = call(mode, **openai(emulator, seed=3))  # its store waits for the lock
        assert not answer.meta.cache_hit and time.perf_counter() - started < 1.5
        assert len(cache_warnings(caplog)) == 1 and "locked" in cache_warnings(caplog)[0]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert emulator.count() == 2
    made.close()


@pytest.mark.parametrize("where", ["a directory", "not a database"])
@pytest.mark.parametrize("mode", MODES)
def test_a_broken_sqlite_file_never_fails_a_call(emulator: Emulator, tmp_path: Path, where: str,
                                                 caplog: pytest.LogCaptureFixture,
                                                 mode: str) -> None:
    path = tmp_path / "cache.db"
    if where == "a directory":
        path.mkdir()
    else:
        path.write_bytes(b"this is no SQLite file at all " * 200)
    llmrelay.cache = llmrelay.Cache(f"sqlite:///{path}")
    llmrelay.cache.retry_after = 0.0
    for _ in range(3):
        assert call(mode, **openai(emulator)).choices[0].message.content
    assert emulator.count() == 3
    assert len(cache_warnings(caplog)) == 1


DISK_FULL = """
    import json, logging, os, resource, signal, llmrelay
    logging.basicConfig(level=logging.WARNING)
    cache = llmrelay.Cache("sqlite:///" + os.environ["DB"], namespace="n")
    cache.retry_after = 0.0
    cache.set("n:small", b"\\x01{}", None)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG
    limit = os.path.getsize(os.environ["DB"]) + 64 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    for i in range(3):
        cache.set(f"n:big{i}", b"\\x01" + os.urandom(512 * 1024), None)   # never raises
    print(json.dumps({"small": cache.get("n:small") == b"\\x01{}",
                      "big": cache.get("n:big0"), "failing": cache._failing}))
"""


def test_a_full_disk_never_fails_a_store(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    result = run_python(DISK_FULL, DB=str(db))
    assert result["small"] is True and result["big"] is None
    assert result["stderr"].count("llmrelay cache") == 1
    assert "full" in result["stderr"] or "I/O" in result["stderr"]


@pytest.mark.parametrize("mode", MODES)
def test_a_value_that_cannot_be_read_is_a_miss(emulator: Emulator, cache: llmrelay.Cache,
                                               backend: str, tmp_path: Path,
                                               request: pytest.FixtureRequest,
                                               caplog: pytest.LogCaptureFixture,
                                               mode: str) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    first = call(mode, **openai(emulator))
    (key,) = stored_keys(backend, cache, url, tmp_path)
    cache.store.set(key, b"\x02 damaged beyond repair", None)
    again = call(mode, **openai(emulator))
    assert not again.meta.cache_hit and again == first
    assert call(mode, **openai(emulator)).meta.cache_hit  # overwritten by the fresh answer
    assert emulator.count() == 2
    assert len(cache_warnings(caplog)) == 1


def test_cache_settings_are_checked() -> None:
    for bad in ({"ttl": 0}, {"ttl": -1}, {"timeout": 0}, {"size": 0}, {"namespace": ""}):
        with pytest.raises(ValueError):
            llmrelay.Cache(**bad)  # type: ignore[arg-type]
    for url in ("mysql://x", "sqlite://relative.db", "sqlite:///:memory:"):
        with pytest.raises(ValueError):
            llmrelay.Cache(url)
    made = llmrelay.Cache("redis://:hunter2secret@127.0.0.1:1/0")
    assert "hunter2secret" not in repr(made) and "****" in repr(made)


def test_sqlite_urls_expand_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               emulator: Emulator) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    llmrelay.cache = made = llmrelay.Cache("sqlite:///~/.cache/llmrelay/test.db", ttl=60)
    call("sync", **openai(emulator))
    assert call("sync", **openai(emulator)).meta.cache_hit
    assert (tmp_path / ".cache" / "llmrelay" / "test.db").exists()
    made.close()
