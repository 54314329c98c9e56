"""One Router shared by threads and event loops: counts stay exact, nothing is lost."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import llmrelay
from llmrelay.testing import Emulator

from .conftest import MESSAGES, azure, sent
from .test_strategies import not_near_minute_end


def test_eight_threads_through_one_router(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b"), azure(emu, "c")],
                             routing_strategy="least-busy")

    def work(_: int) -> list[str]:
        return [router.completion(model="chat", messages=MESSAGES).meta.deployment
                for _ in range(40)]

    with ThreadPoolExecutor(8) as pool:
        served = [d for batch in pool.map(work, range(8)) for d in batch]
    assert len(served) == 320
    assert sum(sent(emu, n) for n in "abc") == 320
    statuses = router.deployments()
    assert sum(d.rpm_used for d in statuses) == 320
    assert all(d.in_flight == 0 for d in statuses)
    assert min(sent(emu, n) for n in "abc") > 50  # least-busy spread the load


def test_rpm_is_exact_across_threads_and_event_loops(emu: Emulator) -> None:
    not_near_minute_end(5)
    router = llmrelay.Router(model_list=[azure(emu, "limited", rpm=60)])
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> str:
        try:
            router.completion(model="chat", messages=MESSAGES)
            return "ok"
        except llmrelay.NoDeploymentAvailableError:
            return "refused"

    def threads() -> None:
        with ThreadPoolExecutor(6) as pool:
            got = list(pool.map(lambda _: one(), range(60)))
        with lock:
            outcomes.extend(got)

    async def loop() -> None:
        async def aone() -> str:
            try:
                await router.acompletion(model="chat", messages=MESSAGES)
                return "ok"
            except llmrelay.NoDeploymentAvailableError:
                return "refused"

        got = await asyncio.gather(*(aone() for _ in range(60)))
        with lock:
            outcomes.extend(got)

    runner = threading.Thread(target=threads)
    runner.start()
    asyncio.run(loop())
    runner.join()
    assert outcomes.count("ok") == 60
    assert outcomes.count("refused") == 60
    assert sent(emu, "limited") == 60


async def test_500_async_calls_at_100_in_flight(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b")],
                             routing_strategy="least-busy")
    gate = asyncio.Semaphore(100)
    peak = 0
    running = 0

    async def one() -> str:
        nonlocal peak, running
        async with gate:
            running += 1
            peak = max(peak, running)
            try:
                resp = await router.acompletion(model="chat", messages=MESSAGES)
            finally:
                running -= 1
            return str(resp.meta.deployment)

    started = time.monotonic()
    served = await asyncio.gather(*(one() for _ in range(500)))
    assert time.monotonic() - started < 30
    assert len(served) == 500 and set(served) == {"a", "b"}
    assert peak == 100
    assert sent(emu, "a") + sent(emu, "b") == 500
    statuses = router.deployments()
    assert sum(d.rpm_used for d in statuses) == 500
    assert all(d.in_flight == 0 for d in statuses)
