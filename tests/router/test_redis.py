"""Shared state on a real Redis: several Routers, in one process or several, see one set of
cooldowns and per-minute counters; a Redis that goes away never fails a call. Each runs sync
(redis-py) and async (a ``RedisLink`` per event loop)."""

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
from typing import Any, Iterator

import pytest
import redis

import llmrelay
from llmrelay.router import redis_state
from llmrelay.testing import Emulator

from .conftest import MESSAGES, MODES, RedisServer, azure, fail, sent
from .test_strategies import not_near_minute_end

WORKER = Path(__file__).with_name("redis_worker.py")


def shared(emu: Emulator, redis_url: str, prefix: str, model_list: list[dict[str, Any]],
           **settings: Any) -> llmrelay.Router:
    return llmrelay.Router(model_list=model_list, redis_url=redis_url, redis_prefix=prefix,
                           **settings)


class Calls:
    """Router calls in one mode: sync, or async on one event loop kept for the whole test."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.loop = asyncio.new_event_loop() if mode == "async" else None

    def run(self, coro: Any) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(coro)

    def completion(self, router: llmrelay.Router, **kwargs: Any) -> Any:
        kwargs.setdefault("model", "chat")
        kwargs.setdefault("messages", MESSAGES)
        if self.loop is None:
            return router.completion(**kwargs)
        return self.run(router.acompletion(**kwargs))

    def collect(self, stream: Any) -> list[Any]:
        if self.loop is None:
            return list(stream)

        async def drain() -> list[Any]:
            return [chunk async for chunk in stream]

        return self.run(drain())  # type: ignore[no-any-return]

    def close_stream(self, stream: Any) -> None:
        if self.loop is None:
            stream.close()
        else:
            self.run(stream.aclose())

    def deployments(self, router: llmrelay.Router) -> list[Any]:
        return router.deployments() if self.loop is None else self.run(router.adeployments())

    def close(self, router: llmrelay.Router) -> None:
        if self.loop is None:
            router.close()
        else:
            self.run(router.aclose())

    def end(self) -> None:
        if self.loop is not None:
            self.run(self.loop.shutdown_asyncgens())
            self.loop.close()


@pytest.fixture(params=MODES)
def calls(request: pytest.FixtureRequest) -> Iterator[Calls]:
    calls = Calls(request.param)
    yield calls
    calls.end()


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


def test_routes_and_shows_live_state_from_redis(emu: Emulator, redis_url: str, prefix: str,
                                                calls: Calls) -> None:
    not_near_minute_end()
    router = shared(emu, redis_url, prefix, [azure(emu, "a"), azure(emu, "b")])
    assert router.state.shared
    for _ in range(6):
        calls.completion(router)
    stream = calls.completion(router, stream=True)
    statuses = {d.id: d for d in calls.deployments(router)}
    assert sum(d.in_flight for d in statuses.values()) == 1
    calls.collect(stream)
    statuses = {d.id: d for d in calls.deployments(router)}
    assert sum(d.rpm_used for d in statuses.values()) == 7
    assert sum(d.in_flight for d in statuses.values()) == 0
    assert sum(d.tpm_used for d in statuses.values()) > 0
    used = [d.id for d in statuses.values() if d.rpm_used]  # shuffled: one may have had all 7
    assert used and all(statuses[i].latency is not None for i in used)
    client = redis.Redis.from_url(redis_url)
    assert all(client.exists(f"{prefix}:d:{i}") for i in used)
    client.close()
    calls.close(router)


def test_two_routers_share_cooldowns_and_rpm(emu: Emulator, redis_url: str, prefix: str,
                                             calls: Calls) -> None:
    not_near_minute_end()
    model_list = [azure(emu, "a", order=1, rpm=3), azure(emu, "b", order=2)]
    one = shared(emu, redis_url, prefix, model_list, cooldown_time=30)
    two = shared(emu, redis_url, prefix, model_list, cooldown_time=30)
    assert [calls.completion(one).meta.deployment, calls.completion(two).meta.deployment,
            calls.completion(one).meta.deployment,
            calls.completion(two).meta.deployment] == ["a", "a", "a", "b"]
    assert calls.deployments(two)[0].rpm_used == 3
    fail(emu, "b", 429)  # "a" is at its rpm; "b" now cools down, seen by both routers
    with pytest.raises(llmrelay.RateLimitError) as first:
        calls.completion(one)
    assert not isinstance(first.value, llmrelay.NoDeploymentAvailableError)
    cooling = calls.deployments(two)[1].cooling_until
    assert cooling is not None and cooling > time.time() + 25
    with pytest.raises(llmrelay.NoDeploymentAvailableError) as info:
        calls.completion(two)
    assert info.value.retry_after is not None and info.value.retry_after > 0
    calls.close(one)
    calls.close(two)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("processes", [2, 3])
def test_exact_rpm_across_processes(emu: Emulator, redis_url: str, prefix: str,
                                    processes: int, mode: str) -> None:
    not_near_minute_end(8)
    model_list = [azure(emu, "a", rpm=20), azure(emu, "b", rpm=17)]
    start_at = time.time() + 1.5
    jobs = [{"redis_url": redis_url, "prefix": prefix, "model_list": model_list, "calls": 30,
             "threads": 8, "start_at": start_at, "mode": mode} for _ in range(processes)]
    results = run_workers(jobs)
    outcomes: Counter[str] = Counter()
    for result in results:
        outcomes.update(result["outcomes"])
    assert outcomes["ok:a"] == 20 and outcomes["ok:b"] == 17
    assert outcomes["refused"] == 30 * processes - 37
    assert (sent(emu, "a"), sent(emu, "b")) == (20, 17)


def test_cooldowns_are_seen_by_every_process(emu: Emulator, redis_url: str, prefix: str,
                                             calls: Calls) -> None:
    model_list = [azure(emu, "a", order=1), azure(emu, "b", order=2)]
    router = shared(emu, redis_url, prefix, model_list, cooldown_time=30)
    fail(emu, "a", 429)
    assert calls.completion(router).meta.deployment == "b"
    calls.close(router)  # another process: nothing local carries over
    jobs = [{"redis_url": redis_url, "prefix": prefix, "model_list": model_list, "calls": 10,
             "threads": 4, "mode": mode} for mode in MODES]
    for result in run_workers(jobs):
        assert result["outcomes"] == {"ok:b": 10}
        assert result["deployments"]["a"]["cooling"] is True
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 21)


def test_failures_from_several_routers_add_up_to_a_cooldown(emu: Emulator, redis_url: str,
                                                            prefix: str, calls: Calls) -> None:
    model_list = [azure(emu, "a", order=1), azure(emu, "b", order=2)]
    routers = [shared(emu, redis_url, prefix, model_list, allowed_fails=2, cooldown_time=30)
               for _ in range(3)]
    fail(emu, "a", 500, times=3)
    for router in routers:
        assert calls.completion(router).meta.deployment == "b"
    # 3 > allowed_fails, together
    assert calls.deployments(routers[0])[0].cooling_until is not None
    for router in routers:
        calls.close(router)


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


def test_an_unreachable_redis_at_start_is_not_an_error(emu: Emulator, caplog: pytest.LogCaptureFixture,
                                                       calls: Calls) -> None:
    from .conftest import free_port

    router = llmrelay.Router(model_list=[azure(emu, "a")],
                             redis_url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    for _ in range(5):
        calls.completion(router)
    assert time.monotonic() - started < 3.0
    assert caplog.text.count("Redis is unreachable") == 1
    assert calls.deployments(router)[0].rpm_used == 5
    calls.close(router)


def test_scripts_are_reloaded_after_a_script_flush(emu: Emulator, throwaway_redis: RedisServer,
                                                   calls: Calls) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a")], redis_url=throwaway_redis.url,
                             redis_prefix="flush")
    calls.completion(router)
    client = redis.Redis.from_url(throwaway_redis.url)
    assert client.script_exists(redis_state.ROUTE.sha) == [True]
    client.script_flush()
    calls.completion(router)
    assert client.script_exists(redis_state.ROUTE.sha) == [True]
    assert router.state.connected  # type: ignore[attr-defined]
    client.script_flush()  # the status script too
    assert calls.deployments(router)[0].rpm_used == 2
    client.close()
    calls.close(router)


def test_a_dead_routers_in_flight_counts_are_taken_back(emu: Emulator, redis_url: str,
                                                       prefix: str, calls: Calls) -> None:
    model_list = [azure(emu, "a")]
    crashed = shared(emu, redis_url, prefix, model_list)
    stream = calls.completion(crashed, stream=True)
    assert calls.deployments(crashed)[0].in_flight == 1
    # The process dies without settling: its heartbeat stops.
    client = redis.Redis.from_url(redis_url)
    client.zadd(f"{prefix}:instances", {crashed.state._head[1]: time.time() - 120})  # type: ignore[attr-defined]
    alive = shared(emu, redis_url, prefix, model_list)
    calls.completion(alive)
    assert calls.deployments(alive)[0].in_flight == 0
    client.close()
    calls.close_stream(stream)
    calls.close(alive)


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
    await router.adeployments()  # its settlement sent: only the pick below waits on Redis
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


async def test_async_calls_ride_out_redis_killed_and_return_to_shared_state(
        emu: Emulator, throwaway_redis: RedisServer, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_state, "RETRY_INTERVAL", 0.3)
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b")],
                             redis_url=throwaway_redis.url, redis_prefix="akill2")
    caplog.set_level(logging.WARNING, logger="llmrelay")
    await router.acompletion(model="chat", messages=MESSAGES)
    errors: list[BaseException] = []
    done = 0
    stop = asyncio.Event()

    async def work() -> None:
        nonlocal done
        while not stop.is_set():
            try:
                await router.acompletion(model="chat", messages=MESSAGES)
                done += 1
            except BaseException as exc:  # any failed call fails the test
                errors.append(exc)
                return

    workers = [asyncio.ensure_future(work()) for _ in range(4)]
    while done < 20:
        await asyncio.sleep(0.01)
    before = done
    throwaway_redis.proc.kill()  # mid-run: pipelines on the wire lose their connection
    throwaway_redis.proc.wait()
    await asyncio.sleep(0.6)
    stop.set()
    await asyncio.gather(*workers)
    assert errors == []
    assert done > before + 4
    assert caplog.text.count("Redis is unreachable") == 1
    assert not router.state.connected  # type: ignore[attr-defined]

    throwaway_redis.start()  # the same port, empty
    await asyncio.sleep(0.35)
    for _ in range(4):
        await router.acompletion(model="chat", messages=MESSAGES)
    assert router.state.connected  # type: ignore[attr-defined]
    assert "reachable again" in caplog.text
    statuses = await router.adeployments()  # from the new Redis: the 4 calls since
    assert sum(d.rpm_used for d in statuses) == 4 and sum(d.in_flight for d in statuses) == 0
    await router.aclose()


def test_one_router_on_several_event_loops_at_once(emu: Emulator, redis_url: str,
                                                   prefix: str) -> None:
    not_near_minute_end()
    router = shared(emu, redis_url, prefix, [azure(emu, "a", rpm=25), azure(emu, "b", rpm=5)])
    outcomes: Counter[str] = Counter()
    links: list[Any] = []

    async def on_a_loop() -> None:
        gate = asyncio.Semaphore(5)

        async def one() -> str:
            async with gate:
                try:
                    resp = await router.acompletion(model="chat", messages=MESSAGES)
                except llmrelay.NoDeploymentAvailableError:
                    return "refused"
                return str(resp.meta.deployment)

        outcomes.update(await asyncio.gather(*(one() for _ in range(15))))
        links.append(router.state._links[asyncio.get_running_loop()][0])  # type: ignore[attr-defined]

    threads = [threading.Thread(target=asyncio.run, args=(on_a_loop(),)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == {"a": 25, "b": 5, "refused": 15}
    assert len({id(link) for link in links}) == 3  # a link per loop
    assert not router.state._links  # type: ignore[attr-defined]  # each closed with its loop
    assert [(d.rpm_used, d.in_flight) for d in router.deployments()] == [(25, 0), (5, 0)]
    router.close()


async def test_async_settlements_reach_redis_without_another_call(
        emu: Emulator, redis_url: str, prefix: str) -> None:
    router = shared(emu, redis_url, prefix, [azure(emu, "a")])
    client = redis.Redis.from_url(redis_url)
    key = f"{prefix}:d:a"

    async def settled(calls: int) -> None:
        deadline = time.monotonic() + 2
        while True:
            state = client.hgetall(key)
            if int(state.get(b"r", 0)) == calls and state.get(b"f") == b"0" and b"l" in state:
                return
            assert time.monotonic() < deadline, state
            await asyncio.sleep(0.01)

    await router.acompletion(model="chat", messages=MESSAGES)
    await settled(1)  # this loop sends what no pick carried, after a short linger
    assert not router.state._pending  # type: ignore[attr-defined]
    # A loop that ends right after its last call: the thread sends what it left.
    await asyncio.to_thread(asyncio.run, router.acompletion(model="chat", messages=MESSAGES))
    await settled(2)
    client.close()
    await router.aclose()


def test_a_settlement_whose_loop_closes_before_its_flush_still_lands(emu: Emulator, redis_url: str,
                                                                    prefix: str) -> None:
    """The loop's linger timer fires after its link closed, on the last turns of a loop that
    is shutting down: the settlement goes with the flusher thread, not into a link that will
    never send it."""
    not_near_minute_end()
    router = shared(emu, redis_url, prefix, [azure(emu, "a")])

    async def last_turns() -> None:
        await router.acompletion(model="chat", messages=MESSAGES)
        await llmrelay.aclose()
        link = router.state._links[asyncio.get_running_loop()][0]  # type: ignore[attr-defined]
        await link.close()  # as the loop's shutdown does
        router.state._flush_on_loop(link)  # type: ignore[attr-defined]  # the timer, due now

    for _ in range(3):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(last_turns())
        loop.close()  # nothing more runs on it
    assert [(d.rpm_used, d.in_flight) for d in router.deployments()] == [(3, 0)]
    router.close()


def test_an_answer_sent_before_the_outage_is_not_a_recovery(emu: Emulator, redis_url: str,
                                                           prefix: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """A pick that left before another thread saw Redis fail, answered late, must not end the
    outage: the next failure would warn again, and routing would go back to a dead Redis."""
    router = shared(emu, redis_url, prefix, [azure(emu, "a")])
    state = router.state
    caplog.set_level(logging.WARNING, logger="llmrelay")
    sent_before = time.monotonic()
    state._failed(ConnectionError("refused"), [])  # type: ignore[attr-defined]
    state._ticket([b"", b"1.0"], sent_before)  # type: ignore[attr-defined]  # the late answer
    assert not state.connected  # type: ignore[attr-defined]
    state._failed(ConnectionError("refused"), [])  # type: ignore[attr-defined]
    assert caplog.text.count("Redis is unreachable") == 1
    state._ticket([b"", b"1.0"], time.monotonic())  # type: ignore[attr-defined]  # sent after it
    assert state.connected  # type: ignore[attr-defined]
    assert caplog.text.count("reachable again") == 1
    router.close()
