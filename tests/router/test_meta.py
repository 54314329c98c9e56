"""What a routed answer says about itself (``resp.meta``) and what ``deployments()`` shows."""

from __future__ import annotations

import time

import pytest

import llmrelay
from llmrelay.testing import Emulator

from .conftest import MESSAGES, MODES, azure, fail, route, sent


def test_deployments_before_any_call(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", rpm=5), azure(emu, "b", group="x")])
    first, second = router.deployments()
    assert (first.id, first.model_name, first.model) == ("a", "chat", "azure/a")
    assert (second.id, second.model_name, second.model) == ("b", "x", "azure/b")
    for d in (first, second):
        assert (d.cooling_until, d.rpm_used, d.tpm_used, d.in_flight, d.latency) == (None, 0, 0, 0, None)
    assert first.rpm == 5


@pytest.mark.parametrize("mode", MODES)
def test_meta_names_the_deployment_and_counts_every_attempt(emu: Emulator, mode: str) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2),
                                         azure(emu, "c", group="backup")],
                             fallbacks={"chat": ["backup"]}, num_retries=1)
    resp = route(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts, resp.meta.provider) == ("a", 1, "azure")
    fail(emu, "a", 500)
    fail(emu, "b", 500)
    resp = route(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts) == ("c", 3)
    assert resp.meta.model is not None and resp.meta.latency is not None
    assert "meta" not in resp.model_dump()


def test_deployments_show_live_use(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a")], cooldown_time=30)
    resp = router.completion(model="chat", messages=MESSAGES)
    (a,) = router.deployments()
    assert (a.rpm_used, a.tpm_used, a.in_flight) == (1, resp.usage.total_tokens, 0)
    assert a.latency is not None and 0 < a.latency < 1
    fail(emu, "a", 429)
    before = time.time()
    with pytest.raises(llmrelay.RateLimitError):
        router.completion(model="chat", messages=MESSAGES)
    (a,) = router.deployments()
    assert a.cooling_until is not None and before + 29 < a.cooling_until < time.time() + 31
    assert a.rpm_used == 2


def test_cost_uses_the_deployments_base_model(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "priced", base_model="gpt-4o"),
                                         azure(emu, "unpriced", group="other")])
    resp = router.completion(model="chat", messages=MESSAGES)
    expected = llmrelay.completion_cost(model="gpt-4o", usage=resp.usage.model_dump())
    assert resp.meta.cost == pytest.approx(expected)
    assert router.completion(model="other", messages=MESSAGES).meta.cost is None


@pytest.mark.parametrize("stream", [False, True])
def test_cost_uses_model_info_prices(emu: Emulator, stream: bool) -> None:
    prices = {"input_cost_per_token": 2e-6, "output_cost_per_token": 5e-6}
    router = llmrelay.Router(model_list=[azure(emu, "own", model_info=prices)])
    if stream:
        result = router.completion(model="chat", messages=MESSAGES, stream=True)
        list(result)
        meta, usage = result.meta, result.meta.usage
    else:
        result = router.completion(model="chat", messages=MESSAGES)
        meta, usage = result.meta, result.usage
    assert usage is not None
    assert meta.cost == pytest.approx(usage.prompt_tokens * 2e-6 + usage.completion_tokens * 5e-6)


def test_n_greater_than_one_goes_to_one_deployment(emu: Emulator) -> None:
    claude = {"model_name": "claude", "id": "claude", "params": {
        "model": "anthropic/claude-3-5-haiku-latest", "api_base": emu.base_url("anthropic"),
        "api_key": emu.api_key}}
    router = llmrelay.Router(model_list=[azure(emu, "a"), claude])
    resp = router.completion(model="chat", messages=MESSAGES, n=3)
    assert len(resp.choices) == 3 and sent(emu, "a") == 1  # Azure answers n itself
    resp = router.completion(model="claude", messages=MESSAGES, n=2)
    assert len(resp.choices) == 2
    assert resp.meta.deployment == "claude"
    assert emu.count(provider="anthropic") == 2  # parallel requests, all to that deployment


def test_a_failed_fan_out_fails_over_as_a_whole(emu: Emulator) -> None:
    def claude(ident: str, order: int) -> dict[str, object]:
        return {"model_name": "claude", "id": ident, "order": order, "params": {
            "model": "anthropic/claude-3-5-haiku-latest", "api_base": emu.base_url("anthropic"),
            "api_key": emu.api_key}}

    router = llmrelay.Router(model_list=[claude("c1", 1), claude("c2", 2)])
    emu.fail(500, provider="anthropic")
    resp = router.completion(model="claude", messages=MESSAGES, n=2)
    assert len(resp.choices) == 2
    assert resp.meta.deployment == "c2"
    # c1's refused request ends its fan-out at once: its sibling was sent or never started.
    assert emu.count(provider="anthropic") in (3, 4)
