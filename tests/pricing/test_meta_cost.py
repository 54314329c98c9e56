"""``resp.meta.cost`` end to end: real calls to the emulators, priced through cost_of_parts."""

from __future__ import annotations

import pytest

import llmrelay
from llmrelay.pricing import register_model
from llmrelay.scope import CallScope, scoped
from llmrelay.testing import Emulator
from tests.helpers import call

MODES = ["sync", "async"]


def gpt_4o_mini(usage: llmrelay.Usage) -> float:
    # $0.15/M in, $0.60/M out
    return (usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.60) / 1_000_000


@pytest.mark.parametrize("mode", MODES)
def test_meta_cost_of_a_call(emulator: Emulator, mode: str) -> None:
    resp = call(mode, model="gpt-4o-mini", api_base=emulator.base_url("openai"),
                api_key=emulator.api_key)
    assert resp.usage is not None and resp.usage.prompt_tokens > 0
    assert resp.meta.cost == pytest.approx(gpt_4o_mini(resp.usage), rel=1e-9)
    assert llmrelay.completion_cost(resp) == pytest.approx(resp.meta.cost, rel=1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_meta_cost_of_a_stream(emulator: Emulator, mode: str) -> None:
    if mode == "sync":
        stream = llmrelay.completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}],
                                     api_base=emulator.base_url("openai"),
                                     api_key=emulator.api_key, stream=True)
        chunks = list(stream)
    else:
        import asyncio

        async def collect() -> tuple[object, list[object]]:
            s = await llmrelay.acompletion(model="gpt-4o-mini",
                                           messages=[{"role": "user", "content": "Hi"}],
                                           api_base=emulator.base_url("openai"),
                                           api_key=emulator.api_key, stream=True)
            return s, [c async for c in s]

        stream, chunks = asyncio.run(collect())  # type: ignore[assignment]
    assert chunks
    usage = stream.meta.usage
    assert usage is not None
    assert stream.meta.cost == pytest.approx(gpt_4o_mini(usage), rel=1e-9)


def test_fan_out_parts_are_summed(emulator: Emulator) -> None:
    resp = call("sync", model="anthropic/claude-3-5-sonnet-20241022", n=2, max_tokens=10,
                api_base=emulator.base_url("anthropic"), api_key=emulator.api_key)
    assert len(resp.meta.parts) == 2
    # $3/M in, $15/M out, each request priced on its own
    expected = sum((u.prompt_tokens * 3 + u.completion_tokens * 15) / 1_000_000
                   for _, u in resp.meta.parts if u is not None)
    assert resp.meta.cost == pytest.approx(expected, rel=1e-9)


def test_unknown_model_costs_none(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_BASE", emulator.base_url("azure"))
    resp = call("sync", model="azure/never-registered-xyz", api_key=emulator.api_key)
    assert resp.meta.cost is None
    with pytest.raises(llmrelay.UnknownModelError):
        llmrelay.completion_cost(resp)


def test_azure_deployment_priced_by_register_model(emulator: Emulator,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_BASE", emulator.base_url("azure"))
    register_model("azure/prod-mini", base_model="gpt-4o-mini")
    resp = call("sync", model="azure/prod-mini", api_key=emulator.api_key)
    assert resp.usage is not None
    assert resp.meta.cost == pytest.approx(gpt_4o_mini(resp.usage), rel=1e-9)


def test_router_base_model_prices_the_call(emulator: Emulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_BASE", emulator.base_url("azure"))
    with scoped(CallScope(deployment="eu", base_model="openai/gpt-4o-mini")):
        resp = call("sync", model="azure/eu-deployment", api_key=emulator.api_key)
    assert resp.meta.base_model == "openai/gpt-4o-mini"
    assert resp.usage is not None
    assert resp.meta.cost == pytest.approx(gpt_4o_mini(resp.usage), rel=1e-9)
    assert llmrelay.completion_cost(resp) == pytest.approx(resp.meta.cost, rel=1e-9)
