"""Shared state on a real Redis: several Routers, in one process or several, see one set of
cooldowns and per-minute counters; a Redis that goes away never fails a call."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

import llmrelay
from llmrelay.router import redis_state
from llmrelay.testing import Emulator

from .conftest import MESSAGES, RedisServer, azure, fail, sent
from .test_strategies import not_near_minute_end

WORKER = Path(__file__).with_name("redis_worker.py")


def shared(emu: Emulator, redis_url: str, prefix: str, model_list: list[dict[str, Any]],
           **settings: Any) -> llmrelay.Router:
    return llmrelay.Router(model_list=model_list, redis_url=redis_url, redis_prefix=prefix,
                           **settings)


def run_workers(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    procs = [subprocess.Popen([sys.executable, str(WORKER), json.dumps(job)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for job in jobs]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_routes_and_shows_live_state_from_redis(emu: Emulator, redis_url: str, prefix: str) -> None:
    not_near_minute_end()
    router = shared(emu, redis_url, prefix, [azure(emu, "a"), azure(emu, "b")])
    assert router.state.shared
    for _ in range(6):
        router.completion(model="chat", messages=MESSAGES)
    stream = router.completion(model="chat", messages=MESSAGES, stream=True)
    statuses = {d.id: d for d in router.deployments()}
    assert sum(d.in_flight for d in statuses.values()) == 1
    list(stream)
    statuses = {d.id: d for d in router.deployments()}
    assert sum(d.rpm_used for d in statuses.values()) == 7
    assert sum(d.in_flight for d in statuses.values()) == 0
    assert sum(d.tpm_used for d in statuses.values()) > 0
    assert all(d.latency is not None for d in statuses.values())
    client = redis.Redis.from_url(redis_url)
    assert client.exists(f"{prefix}:d:a") and client.exists(f"{prefix}:d:b")
    client.close()
    router.close()


def test_two_routers_share_cooldowns_and_rpm(emu: Emulator, redis_url: str, prefix: str) -> None:
    not_near_minute_end()
    model_list = [azure(emu, "a", order=1, rpm=3), azure(emu, "b", order=2)]
    one = shared(emu, redis_url, prefix, model_list, cooldown_time=30)
    two = shared(emu, redis_url, prefix, model_list, cooldown_time=30)
    assert [one.completion(model="chat", messages=MESSAGES).meta.deployment,
            two.completion(model="chat", messages=MESSAGES).meta.deployment,
            one.completion(model="chat", messages=MESSAGES).meta.deployment,
            two.completion(model="chat", messages=MESSAGES).meta.deployment] == ["a", "a", "a", "b"]
    assert two.deployments()[0].rpm_used == 3
    fail(emu, "b", 429)  # "a" is at its rpm; "b" now cools down, seen by both routers
    with pytest.raises(llmrelay.RateLimitError) as first:
        one.completion(model="chat", messages=MESSAGES)
    assert not isinstance(first.value, llmrelay.NoDeploymentAvailableError)
    cooling = two.deployments()[1].cooling_until
    assert cooling is not None and cooling > time.time() + 25
    with pytest.raises(llmrelay.NoDeploymentAvailableError) as info:
        two.completion(model="chat", messages=MESSAGES)
    assert info.value.retry_after is not None and info.value.retry_after > 0
    one.close()
    two.close()


@pytest.mark.parametrize("processes", [2, 3])
def test_exact_rpm_across_processes(emu: Emulator, redis_url: str, prefix: str,
                                    processes: int) -> None:
    not_near_minute_end(8)
    model_list = [azure(emu, "a", rpm=20), azure(emu, "b", rpm=17)]
    start_at = time.time() + 1.5
    jobs = [{"redis_url": redis_url, "prefix": prefix, "model_list": model_list, "calls": 30,
             "threads": 8, "start_at": start_at} for _ in range(processes)]
    results = run_workers(jobs)
    outcomes: Counter[str] = Counter()
    for result in results:
        outcomes.update(result["outcomes"])
    assert outcomes["ok:a"] == 20 and outcomes["ok:b"] == 17
    assert outcomes["refused"] == 30 * processes - 37
    assert (sent(emu, "a"), sent(emu, "b")) == (20, 17)


def test_cooldowns_are_seen_by_every_process(emu: Emulator, redis_url: str, prefix: str) -> None:
    model_list = [azure(emu, "a", order=1), azure(emu, "b", order=2)]
    router = shared(emu, redis_url, prefix, model_list, cooldown_time=30)
    fail(emu, "a", 429)
    assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "b"
    router.close()  # another process: nothing local carries over
    jobs = [{"redis_url": redis_url, "prefix": prefix, "model_list": model_list, "calls": 10,
             "threads": 4} for _ in range(2)]
    for result in run_workers(jobs):
        assert result["outcomes"] == {"ok:b": 10}
        assert result["deployments"]["a"]["cooling"] is True
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 21)


def test_failures_from_several_routers_add_up_to_a_cooldown(emu: Emulator, redis_url: str,
                                                            prefix: str) -> None:
    model_list = [azure(emu, "a", order=1), azure(emu, "b", order=2)]
    routers = [shared(emu, redis_url, prefix, model_list, allowed_fails=2, cooldown_time=30)
               for _ in range(3)]
    fail(emu, "a", 500, times=3)
    for router in routers:
        assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "b"
    assert routers[0].deployments()[0].cooling_until is not None  # 3 > allowed_fails, together
    for router in routers:
        router.close()


async def test_async_calls_share_the_redis_state(emu: Emulator, redis_url: str, prefix: str) -> None:
    not_near_minute_end()
    router = shared(emu, redis_url, prefix, [azure(emu, "a", rpm=70), azure(emu, "b", rpm=50)],
                    routing_strategy="least-busy")
    gate = asyncio.Semaphore(50)

    async def one() -> str:
        async with gate:
            try:
                return str((await router.acompletion(model="chat", messages=MESSAGES)).meta.deployment)
            except llmrelay.NoDeploymentAvailableError:
                return "refused"

    served = Counter(await asyncio.gather(*(one() for _ in range(150))))
    assert served == {"a": 70, "b": 50, "refused": 30}
    statuses = await router.adeployments()
    assert [(d.rpm_used, d.in_flight) for d in statuses] == [(70, 0), (50, 0)]
    router.close()


def test_redis_killed_mid_run_keeps_calls_flowing(emu: Emulator, throwaway_redis: RedisServer,
                                                  caplog: pytest.LogCaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_state, "RETRY_INTERVAL", 0.3)
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b")],
                             redis_url=throwaway_redis.url, redis_prefix="kill")
    errors: list[BaseException] = []
    done = 0
    stop = threading.Event()

    def work() -> None:
        nonlocal done
        while not stop.is_set():
            try:
                router.completion(model="chat", messages=MESSAGES)
                done += 1
            except BaseException as exc:  # any failed call fails the test
                errors.append(exc)

    caplog.set_level(logging.WARNING, logger="llmrelay")
    router.completion(model="chat", messages=MESSAGES)  # imports and script loads done
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while done < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    before = done
    throwaway_redis.proc.kill()
    throwaway_redis.proc.wait()
    time.sleep(0.6)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert done > before > 0
    assert caplog.text.count("Redis is unreachable") == 1
    assert not router.state.connected  # type: ignore[attr-defined]

    # Redis comes back on the same port: the router returns to shared state.
    revived = subprocess.Popen(
        ["redis-server", "--port", str(throwaway_redis.port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", throwaway_redis.dir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis.from_url(throwaway_redis.url)
        deadline = time.monotonic() + 5
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        time.sleep(0.35)
        for _ in range(4):
            router.completion(model="chat", messages=MESSAGES)
        assert router.state.connected  # type: ignore[attr-defined]
        assert client.exists("kill:d:a") or client.exists("kill:d:b")
        assert "reachable again" in caplog.text
        client.close()
    finally:
        router.close()
        revived.kill()
        revived.wait()


def test_an_unreachable_redis_at_start_is_not_an_error(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    from .conftest import free_port

    router = llmrelay.Router(model_list=[azure(emu, "a")],
                             redis_url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    for _ in range(5):
        router.completion(model="chat", messages=MESSAGES)
    assert time.monotonic() - started < 3.0
    assert caplog.text.count("Redis is unreachable") == 1
    assert router.deployments()[0].rpm_used == 5


def test_scripts_are_reloaded_after_a_script_flush(emu: Emulator, throwaway_redis: RedisServer) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a")], redis_url=throwaway_redis.url,
                             redis_prefix="flush")
    router.completion(model="chat", messages=MESSAGES)
    client = redis.Redis.from_url(throwaway_redis.url)
    assert client.script_exists(redis_state.ROUTE.sha) == [True]
    client.script_flush()
    router.completion(model="chat", messages=MESSAGES)
    assert client.script_exists(redis_state.ROUTE.sha) == [True]
    assert router.state.connected  # type: ignore[attr-defined]
    assert router.deployments()[0].rpm_used == 2
    client.close()
    router.close()


def test_a_dead_routers_in_flight_counts_are_taken_back(emu: Emulator, redis_url: str,
                                                       prefix: str) -> None:
    model_list = [azure(emu, "a")]
    crashed = shared(emu, redis_url, prefix, model_list)
    stream = crashed.completion(model="chat", messages=MESSAGES, stream=True)
    assert crashed.deployments()[0].in_flight == 1
    # The process dies without settling: its heartbeat stops.
    client = redis.Redis.from_url(redis_url)
    client.zadd(f"{prefix}:instances", {crashed.state._head[1]: time.time() - 120})  # type: ignore[attr-defined]
    alive = shared(emu, redis_url, prefix, model_list)
    alive.completion(model="chat", messages=MESSAGES)
    assert alive.deployments()[0].in_flight == 0
    client.close()
    stream.close()
    alive.close()


async def test_async_calls_survive_redis_going_away(emu: Emulator,
                                                    throwaway_redis: RedisServer) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b")],
                             redis_url=throwaway_redis.url, redis_prefix="akill")
    gate = asyncio.Semaphore(20)

    async def one() -> str:
        async with gate:
            return str((await router.acompletion(model="chat", messages=MESSAGES)).meta.deployment)

    assert len(await asyncio.gather(*(one() for _ in range(40)))) == 40
    throwaway_redis.proc.kill()
    throwaway_redis.proc.wait()
    started = time.monotonic()
    assert len(await asyncio.gather(*(one() for _ in range(40)))) == 40
    assert time.monotonic() - started < 2.0
    statuses = await router.adeployments()  # local state while Redis is gone
    assert sum(d.rpm_used for d in statuses) >= 40
    await router.aclose()


def test_a_forked_worker_is_a_router_instance_of_its_own(emu: Emulator, redis_url: str,
                                                         prefix: str) -> None:
    import multiprocessing

    router = shared(emu, redis_url, prefix, [azure(emu, "a")])
    router.completion(model="chat", messages=MESSAGES)
    assert router.deployments()[0].in_flight == 0  # the parent's settlement is sent
    parent_instance = router.state._head[1]  # type: ignore[attr-defined]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child() -> None:
        resp = router.completion(model="chat", messages=MESSAGES)
        queue.put((router.state._head[1], resp.meta.deployment,  # type: ignore[attr-defined]
                   router.deployments()[0].in_flight))

    proc = context.Process(target=child)
    proc.start()
    instance, deployment, in_flight = queue.get(timeout=20)
    proc.join(20)
    assert proc.exitcode == 0
    assert instance != parent_instance and deployment == "a" and in_flight == 0
    assert router.deployments()[0].rpm_used == 2
    router.close()


async def test_a_caller_cancelled_mid_pick_leaves_nothing_in_flight(
        emu: Emulator, throwaway_redis: RedisServer) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a")], redis_url=throwaway_redis.url,
                             redis_prefix="cancel")
    await router.acompletion(model="chat", messages=MESSAGES)  # connections and scripts ready
    blocker = redis.Redis.from_url(throwaway_redis.url)
    busy = ("local t0 = redis.call('TIME') local s0 = t0[1] + t0[2] / 1e6 "
            "repeat local t = redis.call('TIME') until t[1] + t[2] / 1e6 - s0 > 0.15 return 1")
    hold = threading.Thread(target=blocker.eval, args=(busy, 0))
    hold.start()
    await asyncio.sleep(0.03)  # Redis is busy: the next pick waits for it
    call = asyncio.ensure_future(router.acompletion(model="chat", messages=MESSAGES))
    await asyncio.sleep(0.03)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    hold.join()
    await asyncio.sleep(0.1)  # the abandoned pick lands, and is released
    (status,) = await router.adeployments()
    assert status.in_flight == 0
    assert sent(emu, "a") == 1  # the cancelled call never reached the deployment
    blocker.close()
    await router.aclose()
