"""What the core keeps from one call for the next (plans, settings, headers, parsed URLs) never
outlives what it was made from: a changed environment variable, argument or registration is
seen by the very next call."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay import registry
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]


def openai(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


@pytest.mark.parametrize("mode", MODES)
def test_a_changed_environment_variable_is_seen_by_the_next_identical_call(
    mode: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for organization in ("org-one", "org-two", None, "org-three"):
        if organization is None:
            monkeypatch.delenv("OPENAI_ORGANIZATION", raising=False)
        else:
            monkeypatch.setenv("OPENAI_ORGANIZATION", organization)
        call(mode, **openai(emulator))
        assert emulator.requests[-1].headers.get("openai-organization") == organization


@pytest.mark.parametrize("mode", MODES)
def test_key_and_base_from_the_environment_follow_it_call_by_call(
    mode: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", emulator.base_url("openai"))
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
    call(mode, model="gpt-4o-mini", messages=MESSAGES)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-rotated")
    with pytest.raises(llmrelay.AuthenticationError):  # the emulator accepts only its own key
        call(mode, model="gpt-4o-mini", messages=MESSAGES, num_retries=0)
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(llmrelay.AuthenticationError) as info:  # refused before any request
        call(mode, model="gpt-4o-mini", messages=MESSAGES)
    assert "OPENAI_API_KEY" in info.value.message
    assert emulator.count() == 2


@pytest.mark.parametrize("mode", MODES)
def test_arguments_that_differ_make_requests_that_differ(mode: str, emulator: Emulator) -> None:
    call(mode, **openai(emulator, max_tokens=5))
    call(mode, **openai(emulator, max_tokens=6, extra_headers={"x-trace": "a"}))
    call(mode, **openai(emulator, max_tokens=6, extra_headers={"x-trace": "b"}))
    call(mode, **openai(emulator, max_tokens=6, timeout=30.0))
    bodies = [r.body for r in emulator.requests]
    assert [b["max_tokens"] for b in bodies] == [5, 6, 6, 6]
    traces = [r.headers.get("x-trace") for r in emulator.requests]
    assert traces == [None, "a", "b", None]


@pytest.mark.parametrize("mode", MODES)
def test_a_list_argument_changed_in_place_is_sent_as_it_is_now(
    mode: str, emulator: Emulator
) -> None:
    tools = [{"type": "function", "function": {"name": "first", "parameters": {"type": "object"}}}]
    call(mode, **openai(emulator, tools=tools))
    tools[0]["function"]["name"] = "second"
    tools.append({"type": "function", "function": {"name": "third"}})
    call(mode, **openai(emulator, tools=tools))
    sent = [[t["function"]["name"] for t in r.body["tools"]] for r in emulator.requests]
    assert sent == [["first"], ["second", "third"]]


def test_a_provider_registered_anew_is_used_by_the_next_call(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    original = registry.get_adapter("openai")
    llmrelay.completion(**openai(emulator))

    def build(request: Any, settings: Any) -> Any:
        built = original.build_request(request, settings)
        return replace(built, headers={**built.headers, "x-adapter": "replaced"})

    monkeypatch.setitem(registry._loaded, "openai", replace(original, build_request=build))
    llmrelay.completion(**openai(emulator))
    assert [r.headers.get("x-adapter") for r in emulator.requests] == [None, "replaced"]


@pytest.mark.parametrize("mode", MODES)
def test_two_endpoints_and_two_keys_in_turn_each_get_their_own(
    mode: str, emulator: Emulator
) -> None:
    for base in ("openai", "openrouter", "openai"):
        llm_kwargs = openai(emulator)
        llm_kwargs["api_base"] = emulator.base_url(base)
        if base == "openrouter":
            llm_kwargs["model"] = "openrouter/openai/gpt-4o-mini"
        call(mode, **llm_kwargs)
    paths = [r.path for r in emulator.requests]
    assert len(set(paths)) == 2 and paths[0] == paths[2]
