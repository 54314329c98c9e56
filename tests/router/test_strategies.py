"""Which deployment takes a request: the strategies and eligibility (cooldown, rpm, tpm, order)."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest

import llmrelay
from llmrelay.router.deployments import parse_model_list
from llmrelay.router.memory_state import MemoryState
from llmrelay.router.state import Ticket
from llmrelay.router.strategies import resolve_strategy
from llmrelay.testing import Emulator

from .conftest import MESSAGES, azure, fail, sent


def not_near_minute_end(margin: float = 3.0) -> None:
    """Per-minute counters reset at the UTC minute: keep a test inside one minute."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


def test_weights_hold_statistically_over_many_picks() -> None:
    random.seed(1234)
    table = parse_model_list([
        {"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "a", "weight": 6},
        {"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "b", "weight": 3},
        {"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "c"},
    ])
    strategy = resolve_strategy("simple-shuffle")
    state = MemoryState(allowed_fails=3)
    counts: Counter[str] = Counter()
    n = 20_000
    for _ in range(n):
        ticket = state.pick(strategy.order(table), strategy.mode(False))
        assert isinstance(ticket, Ticket)
        counts[ticket.deployment.id] += 1
        state.settle(ticket)
    expected = {"a": 0.6, "b": 0.3, "c": 0.1}
    chi2 = sum((counts[k] - n * p) ** 2 / (n * p) for k, p in expected.items())
    assert chi2 < 13.8, (counts, chi2)  # p = 0.001 with 2 degrees of freedom


def test_weights_apply_among_the_eligible_only() -> None:
    random.seed(99)
    table = parse_model_list([
        {"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "a", "weight": 5},
        {"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "b", "weight": 1},
        {"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "c", "weight": 3},
    ])
    strategy = resolve_strategy("simple-shuffle")
    state = MemoryState(allowed_fails=0)
    first = state.pick(table[:1], "first")
    assert isinstance(first, Ticket)
    state.settle(first, failure=2, cooldown=60)  # "a" cools down
    counts: Counter[str] = Counter()
    for _ in range(8000):
        ticket = state.pick(strategy.order(table), "first")
        assert isinstance(ticket, Ticket)
        counts[ticket.deployment.id] += 1
        state.settle(ticket)
    assert counts["a"] == 0
    assert 0.72 < counts["c"] / 8000 < 0.78  # 3 / (3 + 1)


def test_weighted_end_to_end_with_a_fixed_seed(emu: Emulator) -> None:
    random.seed(7)
    router = llmrelay.Router(model_list=[azure(emu, "heavy", weight=4), azure(emu, "light")])
    for _ in range(200):
        router.completion(model="chat", messages=MESSAGES)
    assert sent(emu, "heavy") + sent(emu, "light") == 200
    assert 0.72 < sent(emu, "heavy") / 200 < 0.88


def test_least_busy_goes_where_fewest_are_in_flight(emu: Emulator, state: dict[str, Any]) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "a"), azure(emu, "b"), azure(emu, "c")],
                             routing_strategy="least-busy")
    streams = [router.completion(model="chat", messages=MESSAGES, stream=True) for _ in range(3)]
    assert sorted(s.meta.deployment for s in streams) == ["a", "b", "c"]
    assert [d.in_flight for d in router.deployments()] == [1, 1, 1]
    streams[1].close()  # its deployment is now the least busy
    freed = streams[1].meta.deployment
    assert router.completion(model="chat", messages=MESSAGES).meta.deployment == freed
    more = router.completion(model="chat", messages=MESSAGES, stream=True)
    assert more.meta.deployment == freed
    for s in (streams[0], streams[2], more):
        list(s)
    assert [d.in_flight for d in router.deployments()] == [0, 0, 0]


def test_latency_based_tries_untried_first_then_the_fastest(emu: Emulator, state: dict[str, Any]) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "slow"), azure(emu, "fast")],
                             routing_strategy="latency-based")
    emu.slow(0.15, provider="azure", times=1)
    first = router.completion(model="chat", messages=MESSAGES).meta.deployment
    second = router.completion(model="chat", messages=MESSAGES).meta.deployment
    assert {first, second} == {"slow", "fast"}  # both untried, both tried once
    quick = second
    slow = first
    for _ in range(5):
        assert router.completion(model="chat", messages=MESSAGES).meta.deployment == quick
    latencies = {d.id: d.latency for d in router.deployments()}
    assert latencies[slow] > 0.1 > latencies[quick]  # type: ignore[operator]


def test_latency_based_streams_use_time_to_first_token(emu: Emulator, state: dict[str, Any]) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "a"), azure(emu, "b")],
                             routing_strategy="latency-based")
    emu.slow(0.15, provider="azure", times=1)  # the first stream waits before its first byte
    s1 = router.completion(model="chat", messages=MESSAGES, stream=True)
    list(s1)
    s2 = router.completion(model="chat", messages=MESSAGES, stream=True)
    list(s2)
    assert {s1.meta.deployment, s2.meta.deployment} == {"a", "b"}
    ttft = {d.id: d.time_to_first_token for d in router.deployments()}
    assert ttft[s1.meta.deployment] > 0.1 > ttft[s2.meta.deployment]  # type: ignore[index,operator]
    for _ in range(3):
        s = router.completion(model="chat", messages=MESSAGES, stream=True)
        list(s)
        assert s.meta.deployment == s2.meta.deployment


def test_usage_based_picks_fewest_tokens_this_minute(emu: Emulator, state: dict[str, Any]) -> None:
    not_near_minute_end()
    router = llmrelay.Router(**state, model_list=[azure(emu, "a"), azure(emu, "b")],
                             routing_strategy="usage-based")
    long = [{"role": "user", "content": "word " * 40}]
    first = router.completion(model="chat", messages=long).meta.deployment
    other = "b" if first == "a" else "a"
    for _ in range(3):  # short calls go to the other until it catches up
        assert router.completion(model="chat", messages=MESSAGES).meta.deployment == other
    used = {d.id: d.tpm_used for d in router.deployments()}
    assert used[first] > used[other] > 0


def test_cost_based_cheapest_first_unpriced_last(emu: Emulator, state: dict[str, Any]) -> None:
    cheap = {"input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7}
    dear = {"input_cost_per_token": 1e-5, "output_cost_per_token": 3e-5}
    router = llmrelay.Router(**state, model_list=[
        azure(emu, "dear", model_info=dear), azure(emu, "cheap", model_info=cheap),
        azure(emu, "unknown-price"),
    ], routing_strategy="cost-based", cooldown_time=60, num_retries=2)
    for _ in range(3):
        assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "cheap"
    fail(emu, "cheap", 429)
    resp = router.completion(model="chat", messages=MESSAGES)
    assert (resp.meta.deployment, resp.meta.attempts) == ("dear", 2)
    fail(emu, "dear", 429)
    resp = router.completion(model="chat", messages=MESSAGES)
    assert (resp.meta.deployment, resp.meta.attempts) == ("unknown-price", 2)
    assert (sent(emu, "cheap"), sent(emu, "dear"), sent(emu, "unknown-price")) == (4, 2, 1)


def test_cost_based_ties_are_random(emu: Emulator) -> None:
    random.seed(3)
    price = {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}
    router = llmrelay.Router(model_list=[azure(emu, "a", model_info=price),
                                         azure(emu, "b", model_info=price)],
                             routing_strategy="cost-based")
    for _ in range(40):
        router.completion(model="chat", messages=MESSAGES)
    assert 8 < sent(emu, "a") < 32


def test_cost_based_uses_the_price_data(emu: Emulator) -> None:
    """Two deployments priced by the shipped data (via base_model): the cheaper model wins."""
    router = llmrelay.Router(model_list=[
        azure(emu, "big", base_model="gpt-4o"), azure(emu, "mini", base_model="gpt-4o-mini"),
    ], routing_strategy="cost-based")
    for _ in range(3):
        assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "mini"


def test_order_tiers_fall_through_only_when_nothing_earlier_is_eligible(emu: Emulator, state: dict[str, Any]) -> None:
    router = llmrelay.Router(**state, model_list=[
        azure(emu, "second", order=2), azure(emu, "first", order=1), azure(emu, "last"),
    ], cooldown_time=60)
    for _ in range(4):
        assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "first"
    fail(emu, "first", 429)
    assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "second"
    assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "second"
    assert sent(emu, "last") == 0


def test_rpm_limits_per_minute_then_no_deployment_available(emu: Emulator, state: dict[str, Any]) -> None:
    not_near_minute_end()
    router = llmrelay.Router(**state, model_list=[azure(emu, "a", rpm=2), azure(emu, "b", rpm=3)])
    for _ in range(5):
        router.completion(model="chat", messages=MESSAGES)
    assert (sent(emu, "a"), sent(emu, "b")) == (2, 3)
    with pytest.raises(llmrelay.NoDeploymentAvailableError) as info:
        router.completion(model="chat", messages=MESSAGES)
    err = info.value
    assert isinstance(err, llmrelay.RateLimitError)
    assert err.status_code == 429
    left = 60 - time.time() % 60
    assert err.retry_after is not None and abs(err.retry_after - left) < 1.0
    assert len(emu.requests) == 5
    assert [(d.rpm_used, d.rpm) for d in router.deployments()] == [(2, 2), (3, 3)]


def test_tpm_counts_tokens_when_usage_arrives(emu: Emulator, state: dict[str, Any]) -> None:
    not_near_minute_end()
    router = llmrelay.Router(**state, model_list=[azure(emu, "small", tpm=10, order=1), azure(emu, "big", order=9)])
    resp = router.completion(model="chat", messages=MESSAGES)
    assert resp.meta.deployment == "small"
    assert resp.usage.total_tokens > 10
    assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "big"
    tpm = {d.id: d.tpm_used for d in router.deployments()}
    assert tpm["small"] == resp.usage.total_tokens
