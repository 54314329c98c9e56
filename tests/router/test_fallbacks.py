"""Fallback groups: the generic list, ``"*"``, context-window and content-policy lists, cycles,
and which error the caller gets when everything failed."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator

from .conftest import MODES, azure, fail, route, sent

CONTEXT = {"error": {"message": "This model's maximum context length is 128000 tokens. However, "
                                "your messages resulted in 200000 tokens.",
                     "type": "invalid_request_error", "param": "messages",
                     "code": "context_length_exceeded"}}
POLICY = {"error": {"message": "The response was filtered due to the prompt triggering Azure "
                               "OpenAI's content management policy.", "type": None,
                    "param": "prompt", "code": "content_filter", "status": 400,
                    "innererror": {"code": "ResponsibleAIPolicyViolation"}}}


def groups(emu: Emulator, **settings: Any) -> llmrelay.Router:
    """chat = a, b; backup = c; long = d; safe = e; other = f."""
    return llmrelay.Router(model_list=[
        azure(emu, "a", order=1), azure(emu, "b", order=2), azure(emu, "c", group="backup"),
        azure(emu, "d", group="long"), azure(emu, "e", group="safe"),
        azure(emu, "f", group="other"),
    ], **settings)


def counts(emu: Emulator) -> tuple[int, ...]:
    return tuple(sent(emu, name) for name in "abcdef")


@pytest.mark.parametrize("mode", MODES)
def test_exhausted_group_falls_back_in_order(emu: Emulator, mode: str) -> None:
    router = groups(emu, num_retries=1, fallbacks={"chat": ["backup", "other"]})
    fail(emu, "a", 500)
    fail(emu, "b", 500)
    fail(emu, "c", 500, headers={"retry-after-ms": "10"}, times=2)
    resp = route(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts) == ("f", 5)
    assert counts(emu) == (1, 1, 2, 0, 0, 1)


@pytest.mark.parametrize("mode", MODES)
def test_star_applies_to_every_group_after_its_own_list(emu: Emulator, mode: str) -> None:
    router = groups(emu, num_retries=0, fallbacks={"chat": ["backup"], "*": ["other"]})
    fail(emu, "a", 500)
    fail(emu, "c", 500)
    assert route(mode, router).meta.deployment == "f"
    assert counts(emu) == (1, 0, 1, 0, 0, 1)
    fail(emu, "d", 500)
    assert route(mode, router, model="long").meta.deployment == "f"


@pytest.mark.parametrize("mode", MODES)
def test_context_window_errors_go_to_their_own_list_without_retrying(emu: Emulator,
                                                                    mode: str) -> None:
    router = groups(emu, fallbacks={"chat": ["backup"]}, context_window_fallbacks={"chat": ["long"]})
    fail(emu, "a", 400, body=CONTEXT)
    resp = route(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts) == ("d", 2)
    assert counts(emu) == (1, 0, 0, 1, 0, 0)
    assert all(d.cooling_until is None for d in router.deployments())


@pytest.mark.parametrize("mode", MODES)
def test_content_policy_errors_go_to_their_own_list(emu: Emulator, mode: str) -> None:
    router = groups(emu, fallbacks={"chat": ["backup"]}, content_policy_fallbacks={"chat": ["safe"]})
    fail(emu, "a", 400, body=POLICY)
    resp = route(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts) == ("e", 2)
    assert counts(emu) == (1, 0, 0, 0, 1, 0)


def test_context_window_error_without_its_list_is_raised(emu: Emulator) -> None:
    router = groups(emu, fallbacks={"chat": ["backup"]})
    fail(emu, "a", 400, body=CONTEXT)
    with pytest.raises(llmrelay.ContextWindowExceededError, match="maximum context length"):
        route("sync", router)
    assert counts(emu) == (1, 0, 0, 0, 0, 0)


def test_content_policy_error_without_its_list_is_raised(emu: Emulator) -> None:
    router = groups(emu, context_window_fallbacks={"chat": ["long"]})
    fail(emu, "a", 400, body=POLICY)
    with pytest.raises(llmrelay.ContentPolicyViolationError):
        route("sync", router)
    assert counts(emu) == (1, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("mode", MODES)
def test_cycles_cannot_loop(emu: Emulator, mode: str) -> None:
    router = groups(emu, num_retries=0, fallbacks={"chat": ["backup", "chat"],
                                                   "backup": ["chat", "backup"],
                                                   "*": ["backup", "chat"]})
    fail(emu, "a", 500)
    fail(emu, "c", 502)
    with pytest.raises(llmrelay.InternalServerError) as info:
        route(mode, router)
    assert info.value.status_code == 502  # the last error, from "backup"
    assert counts(emu) == (1, 0, 1, 0, 0, 0)


def test_a_fallback_groups_own_fallbacks_are_not_followed(emu: Emulator) -> None:
    router = groups(emu, num_retries=0, fallbacks={"chat": ["backup"], "backup": ["other"]})
    fail(emu, "a", 500)
    fail(emu, "c", 500)
    with pytest.raises(llmrelay.InternalServerError):
        route("sync", router)
    assert counts(emu) == (1, 0, 1, 0, 0, 0)


def test_other_request_errors_never_fall_back(emu: Emulator) -> None:
    router = groups(emu, fallbacks={"chat": ["backup"], "*": ["other"]},
                    context_window_fallbacks={"chat": ["long"]})
    fail(emu, "a", 400)
    with pytest.raises(llmrelay.BadRequestError) as info:
        route("sync", router)
    assert type(info.value) is llmrelay.BadRequestError
    assert counts(emu) == (1, 0, 0, 0, 0, 0)


def test_nothing_eligible_anywhere_is_no_deployment_available(emu: Emulator) -> None:
    router = groups(emu, cooldown_time=5, fallbacks={"chat": ["backup"]}, num_retries=1)
    long = {"retry-after": "10"}
    fail(emu, "a", 429, headers=long)
    fail(emu, "b", 429, headers=long)
    fail(emu, "c", 429)  # backup cools for 5 s, chat for 10 s
    with pytest.raises(llmrelay.RateLimitError) as sent_error:
        route("sync", router)
    assert not isinstance(sent_error.value, llmrelay.NoDeploymentAvailableError)
    assert counts(emu) == (1, 1, 1, 0, 0, 0)
    with pytest.raises(llmrelay.NoDeploymentAvailableError) as info:
        route("sync", router)
    assert counts(emu) == (1, 1, 1, 0, 0, 0)
    assert info.value.retry_after is not None and 4 < info.value.retry_after <= 5
    assert "'chat', 'backup'" in info.value.message


def test_a_sent_request_makes_the_provider_error_the_answer(emu: Emulator) -> None:
    router = groups(emu, cooldown_time=10, fallbacks={"chat": ["backup"]}, num_retries=0)
    fail(emu, "c", 429)
    with pytest.raises(llmrelay.RateLimitError):
        route("sync", router, model="backup")
    fail(emu, "a", 500)
    with pytest.raises(llmrelay.InternalServerError):  # "backup" has nothing eligible
        route("sync", router)
    assert counts(emu) == (1, 0, 1, 0, 0, 0)


def test_an_empty_group_goes_straight_to_its_fallbacks(emu: Emulator) -> None:
    router = groups(emu, cooldown_time=10, fallbacks={"chat": ["backup"]}, num_retries=1)
    fail(emu, "a", 429)
    fail(emu, "b", 429)
    resp = route("sync", router)  # a and b cool down at once; backup answers
    assert (resp.meta.deployment, resp.meta.attempts) == ("c", 3)
    resp = route("sync", router)  # nothing eligible in chat: backup, with nothing sent to chat
    assert (resp.meta.deployment, resp.meta.attempts) == ("c", 1)
    assert counts(emu) == (1, 1, 2, 0, 0, 0)
