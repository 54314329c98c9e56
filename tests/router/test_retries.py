"""The Router's retry loop and cooldowns, against scripted failures of emulated deployments.
Request counts per deployment are exact."""

from __future__ import annotations

import time
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator

from .conftest import MODES, azure, fail, route, sent

FAST = {"retry-after-ms": "10"}  # a short backoff for a 5xx the router retries


@pytest.mark.parametrize("mode", MODES)
def test_retryable_failure_goes_to_another_deployment_at_once(emu: Emulator, mode: str) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)])
    fail(emu, "a", 500, headers={"retry-after": "2"})
    started = time.monotonic()
    resp = route(mode, router)
    assert time.monotonic() - started < 1.5  # no backoff (2 s) before another deployment
    assert (resp.meta.deployment, resp.meta.attempts) == ("b", 2)
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 1)
    assert all(d.cooling_until is None for d in router.deployments())  # 1 <= allowed_fails


@pytest.mark.parametrize("status", [429, 401, 403, 404])
@pytest.mark.parametrize("mode", MODES)
def test_deployment_errors_cool_it_down_at_once(emu: Emulator, state: dict[str, Any], mode: str, status: int) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)],
                             cooldown_time=30, allowed_fails=5)
    fail(emu, "a", status)
    before = time.time()
    assert route(mode, router).meta.deployment == "b"
    cooling = {d.id: d.cooling_until for d in router.deployments()}
    assert cooling["b"] is None
    assert cooling["a"] is not None and before + 29 < cooling["a"] < time.time() + 30.5
    for _ in range(3):
        assert route(mode, router).meta.deployment == "b"
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 4)


def test_real_credentials_and_deployment_errors(emu: Emulator) -> None:
    """A wrong key (401) and a deployment that does not exist (404), as the provider says them."""
    router = llmrelay.Router(model_list=[
        azure(emu, "wrong-key", order=1, params={"api_key": "sk-not-this-one"}),
        azure(emu, "missing-deployment", order=2), azure(emu, "good", order=3),
    ], cooldown_time=30)
    resp = router.completion(model="chat", messages=[{"role": "user", "content": "x"}])
    assert (resp.meta.deployment, resp.meta.attempts) == ("good", 3)
    assert [d.cooling_until is not None for d in router.deployments()] == [True, True, False]
    router.completion(model="chat", messages=[{"role": "user", "content": "x"}])
    assert (sent(emu, "wrong-key"), sent(emu, "missing-deployment"), sent(emu, "good")) == (1, 1, 2)


def test_cooldown_is_retry_after_when_longer(emu: Emulator, state: dict[str, Any]) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)],
                             cooldown_time=0.1)
    fail(emu, "a", 429, headers={"retry-after": "0.6", "retry-after-ms": "600"})
    assert router.completion(model="chat", messages=[{"role": "user", "content": "x"}]).meta.deployment == "b"
    cooling = router.deployments()[0].cooling_until
    assert cooling is not None and cooling - time.time() > 0.4
    time.sleep(0.3)
    assert router.completion(model="chat", messages=[{"role": "user", "content": "x"}]).meta.deployment == "b"
    time.sleep(0.4)  # the Retry-After is over: "a" takes requests again
    assert router.completion(model="chat", messages=[{"role": "user", "content": "x"}]).meta.deployment == "a"
    assert (sent(emu, "a"), sent(emu, "b")) == (2, 2)


def test_more_than_allowed_fails_in_a_minute_cools_down(emu: Emulator, state: dict[str, Any]) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)],
                             allowed_fails=2, cooldown_time=0.3)
    fail(emu, "a", 503, times=3, headers=FAST)
    for expected_cooling in (False, False, True):
        assert router.completion(model="chat", messages=[{"role": "user", "content": "x"}]).meta.deployment == "b"
        assert (router.deployments()[0].cooling_until is not None) is expected_cooling
    router.completion(model="chat", messages=[{"role": "user", "content": "x"}])
    assert (sent(emu, "a"), sent(emu, "b")) == (3, 4)
    time.sleep(0.35)
    resp = router.completion(model="chat", messages=[{"role": "user", "content": "x"}])
    assert resp.meta.deployment == "a"


@pytest.mark.parametrize("mode", MODES)
def test_dropped_connection_is_retried_elsewhere(emu: Emulator, mode: str) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)])
    emu.drop(provider="azure")
    resp = route(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts) == ("b", 2)
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 1)


@pytest.mark.parametrize("mode", MODES)
def test_slow_answer_times_out_and_is_retried_elsewhere(emu: Emulator, mode: str) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)],
                             timeout=0.2)
    emu.slow(3.0, provider="azure")
    started = time.monotonic()
    resp = route(mode, router)
    assert time.monotonic() - started < 2.0
    assert (resp.meta.deployment, resp.meta.attempts) == ("b", 2)


@pytest.mark.parametrize("status", [400, 413, 422])
@pytest.mark.parametrize("mode", MODES)
def test_request_errors_are_raised_at_once(emu: Emulator, mode: str, status: int) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2),
                                         azure(emu, "c", group="backup")],
                             fallbacks={"chat": ["backup"]}, allowed_fails=0)
    fail(emu, "a", status)
    with pytest.raises(llmrelay.BadRequestError) as info:
        route(mode, router)
    assert info.value.status_code == status
    assert (sent(emu, "a"), sent(emu, "b"), sent(emu, "c")) == (1, 0, 0)
    assert all(d.cooling_until is None for d in router.deployments())


def test_unsupported_params_are_raised_at_once(emu: Emulator) -> None:
    claude = {"model_name": "chat", "id": "claude", "order": 1, "params": {
        "model": "anthropic/claude-3-5-haiku-latest", "api_base": emu.base_url("anthropic"),
        "api_key": emu.api_key}}
    router = llmrelay.Router(model_list=[claude, azure(emu, "b", order=2)], allowed_fails=0)
    with pytest.raises(llmrelay.UnsupportedParamsError, match="logit_bias"):
        router.completion(model="chat", messages=[{"role": "user", "content": "x"}],
                          logit_bias={"1": 1})
    assert len(emu.requests) == 0
    assert all(d.cooling_until is None for d in router.deployments())


@pytest.mark.parametrize("mode", MODES)
def test_one_deployment_is_retried_after_the_backoff(emu: Emulator, state: dict[str, Any], mode: str) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "only")], num_retries=2)
    fail(emu, "only", 500, times=2, headers={"retry-after-ms": "150"})
    started = time.monotonic()
    resp = route(mode, router)
    elapsed = time.monotonic() - started
    assert (resp.meta.deployment, resp.meta.attempts) == ("only", 3)
    assert elapsed >= 0.3
    assert sent(emu, "only") == 3


def test_the_wait_is_at_least_retry_after_then_the_same_deployment(emu: Emulator, state: dict[str, Any]) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "only")], cooldown_time=0.05)
    fail(emu, "only", 429, headers={"retry-after": "0.3", "retry-after-ms": "300"})
    started = time.monotonic()
    resp = router.completion(model="chat", messages=[{"role": "user", "content": "x"}])
    assert time.monotonic() - started >= 0.3
    assert (resp.meta.deployment, resp.meta.attempts) == ("only", 2)


@pytest.mark.parametrize("mode", MODES)
def test_nothing_eligible_after_the_wait_exhausts_the_group(emu: Emulator, state: dict[str, Any], mode: str) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "only")], cooldown_time=30)
    fail(emu, "only", 429)
    started = time.monotonic()
    with pytest.raises(llmrelay.RateLimitError) as info:
        route(mode, router)
    assert not isinstance(info.value, llmrelay.NoDeploymentAvailableError)  # a request was sent
    assert info.value.provider == "azure"
    assert time.monotonic() - started < 5.0  # no sleeping into a 30 s cooldown
    assert sent(emu, "only") == 1


@pytest.mark.parametrize("mode", MODES)
def test_no_deployment_available_sends_nothing(emu: Emulator, state: dict[str, Any], mode: str) -> None:
    router = llmrelay.Router(**state, model_list=[azure(emu, "a"), azure(emu, "b")], cooldown_time=20,
                             num_retries=1)
    fail(emu, "a", 429)
    fail(emu, "b", 429)
    with pytest.raises(llmrelay.RateLimitError):
        route(mode, router)
    assert len(emu.requests) == 2
    started = time.monotonic()
    with pytest.raises(llmrelay.NoDeploymentAvailableError) as info:
        route(mode, router)
    assert time.monotonic() - started < 0.5  # never sleeps waiting for a deployment
    assert len(emu.requests) == 2
    err = info.value
    assert err.status_code == 429 and isinstance(err, llmrelay.RateLimitError)
    assert err.deployment is None  # type: ignore[attr-defined]
    assert err.retry_after is not None and 19 < err.retry_after <= 20
    assert "'chat'" in err.message


def test_retries_are_per_group_and_per_call(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "only")], num_retries=0)
    fail(emu, "only", 500, headers=FAST)
    with pytest.raises(llmrelay.InternalServerError):
        router.completion(model="chat", messages=[{"role": "user", "content": "x"}])
    fail(emu, "only", 500, headers=FAST)
    resp = router.completion(model="chat", messages=[{"role": "user", "content": "x"}],
                             num_retries=1)
    assert resp.meta.attempts == 2
    assert sent(emu, "only") == 3


def test_the_last_error_keeps_its_class_and_provider_message(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", order=1), azure(emu, "b", order=2)],
                             num_retries=1)
    fail(emu, "a", 500)
    fail(emu, "b", 503)
    with pytest.raises(llmrelay.ServiceUnavailableError) as info:
        router.completion(model="chat", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 503
    assert "Sorry about that" in info.value.message
    assert info.value.model == "b"
    assert info.value.deployment == "b"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
def test_force_timeout_bounds_the_routed_call_and_does_not_fall_back(emu: Emulator,
                                                                     mode: str) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b", group="backup")],
                             fallbacks={"chat": ["backup"]}, force_timeout=0.3)
    emu.slow(3.0, provider="azure")
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout):
        route(mode, router)
    assert time.monotonic() - started < 2.0
    assert (sent(emu, "a"), sent(emu, "b")) == (1, 0)
    assert all(d.cooling_until is None for d in router.deployments())


def test_force_timeout_covers_backoffs(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "only")], num_retries=3)
    fail(emu, "only", 500, headers={"retry-after": "5"})
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout) as info:
        router.completion(model="chat", messages=[{"role": "user", "content": "x"}],
                          force_timeout=3.0)
    assert time.monotonic() - started < 1.5  # not sleeping into the deadline
    assert isinstance(info.value.__cause__, llmrelay.InternalServerError)
    assert sent(emu, "only") == 1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_retries": "two"}, "num_retries must be a non-negative integer"),
    ({"num_retries": -1}, "num_retries"),
    ({"force_timeout": "soon"}, "force_timeout must be a positive number"),
    ({"force_timeout": 0}, "force_timeout"),
])
def test_bad_call_options_are_bad_requests_before_any_request(emu: Emulator,
                                                              kwargs: dict[str, object],
                                                              match: str) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a")])
    with pytest.raises(llmrelay.BadRequestError, match=match):
        router.completion(model="chat", messages=[{"role": "user", "content": "x"}], **kwargs)
    assert len(emu.requests) == 0
    assert router.deployments()[0].rpm_used == 0
