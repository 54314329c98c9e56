"""User callbacks on plain (non-stream) calls: one ``CallEvent`` per call, field by field, sync
and async, sync and async callbacks, raising callbacks, global and per-call lists."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

import llmrelay
from llmrelay import hooks
from llmrelay.observe.event import public_params
from llmrelay.scope import CallScope, scoped
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, at, call
from tests.observe.conftest import AsyncRecorder, Recorder

MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
def test_success_event_field_by_field(emulator: Emulator, recorder: Recorder, mode: str) -> None:
    before = time.time()
    resp = call(mode, model="gpt-4o-mini", temperature=0.5, max_tokens=50, user="u-1",
                callbacks=[recorder], **at(emulator, "openai"))
    after = time.time()
    event = recorder.one("success")
    assert event.call_type == "completion"
    assert event.provider == "openai"
    assert event.model == resp.model == resp.meta.model == "gpt-4o-mini-2024-07-18"
    assert event.deployment is None
    assert event.params == {"temperature": 0.5, "max_tokens": 50, "user": "u-1"}
    assert event.messages == MESSAGES
    assert event.response is resp
    assert event.exception is None
    assert event.usage == resp.usage and event.usage.prompt_tokens == 5
    assert event.latency == resp.meta.latency and 0 < event.latency < 5
    assert event.time_to_first_token is None
    assert event.attempts == 1
    assert event.cache_hit is False
    assert event.stream is False
    assert event.request_id == "req_emulator"
    assert before - 0.001 <= event.start_time <= event.end_time <= after + 0.001
    assert event.end_time - event.start_time == pytest.approx(event.latency, abs=1e-6)
    assert event.meta is resp.meta


@pytest.mark.parametrize("mode", MODES)
def test_cost_is_the_calls_meta_cost(emulator: Emulator, recorder: Recorder, mode: str) -> None:
    resp = call(mode, model="gpt-4o-mini", callbacks=[recorder], **at(emulator, "openai"))
    event = recorder.one("success")
    # gpt-4o-mini: $0.15 / $0.60 per million input / output tokens; 5 in, 8 out.
    assert event.cost == resp.meta.cost == pytest.approx((5 * 0.15 + 8 * 0.60) / 1e6)
    resp.meta.cost = 0.000123  # the same meta: whatever it says, the event says
    assert event.cost == 0.000123


def test_cost_of_an_unknown_model_is_none(emulator: Emulator, recorder: Recorder) -> None:
    resp = llmrelay.completion(model="openai/my-own-finetune-xyz", messages=MESSAGES,
                               callbacks=[recorder], **at(emulator, "openai"))
    assert recorder.one("success").cost is None is resp.meta.cost


@pytest.mark.parametrize("mode", MODES)
def test_failure_event_field_by_field(emulator: Emulator, recorder: Recorder, mode: str) -> None:
    emulator.fail(401)
    with pytest.raises(llmrelay.AuthenticationError) as raised:
        call(mode, model="claude-3-5-haiku-latest", callbacks=[recorder],
             **at(emulator, "anthropic"))
    event = recorder.one("failure")
    assert event.exception is raised.value
    assert event.response is None
    assert (event.call_type, event.provider, event.model) == (
        "completion", "anthropic", "claude-3-5-haiku-latest")
    assert event.attempts == 1
    assert event.usage is None
    assert event.stream is False
    assert event.latency is not None and event.latency >= 0
    assert event.end_time >= event.start_time


@pytest.mark.parametrize("mode", MODES)
def test_retries_report_once_with_every_attempt_counted(
    emulator: Emulator, recorder: Recorder, mode: str
) -> None:
    emulator.fail(500, times=2)
    resp = call(mode, model="gpt-4o-mini", num_retries=2, callbacks=[recorder],
                **at(emulator, "openai"))
    event = recorder.one("success")
    assert event.attempts == 3 == emulator.count() == resp.meta.attempts
    assert event.response is resp

    failing = Recorder()
    emulator.fail(503, times=3)
    with pytest.raises(llmrelay.ServiceUnavailableError):
        call(mode, model="gpt-4o-mini", num_retries=2, callbacks=[failing],
             **at(emulator, "openai"))
    assert failing.one("failure").attempts == 3


def test_refused_before_any_request_is_reported(recorder: Recorder) -> None:
    with pytest.raises(llmrelay.BadRequestError) as raised:
        llmrelay.completion(model="no-such-provider/x", messages=MESSAGES, callbacks=[recorder])
    event = recorder.one("failure")
    assert event.exception is raised.value
    assert event.attempts == 0
    assert event.response is None


@pytest.mark.parametrize("mode", MODES)
def test_async_callbacks_have_finished_before_the_call_returns(
    emulator: Emulator, mode: str
) -> None:
    recorder = AsyncRecorder()
    call(mode, model="gpt-4o-mini", callbacks=[recorder], **at(emulator, "openai"))
    assert [k for k, _ in recorder.events] == ["success"]
    # completion(): run to completion on the callbacks' loop thread; acompletion(): awaited
    # in the caller's own loop.
    expected = "llmrelay-callbacks" if mode == "sync" else threading.current_thread().name
    assert recorder.threads == [expected]


async def test_sync_completion_in_a_thread_running_a_loop_runs_async_callbacks(
    emulator: Emulator,
) -> None:
    recorder = AsyncRecorder()
    asyncio.get_running_loop()  # this thread runs a loop, blocked by the sync call below
    llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, callbacks=[recorder],
                        **at(emulator, "openai"))
    assert [k for k, _ in recorder.events] == ["success"]


def test_an_async_callback_that_calls_completion_itself(emulator: Emulator) -> None:
    inner = Recorder()

    class Nested:
        async def on_success(self, event: llmrelay.CallEvent) -> None:
            if event.params.get("user") == "outer":
                llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, user="inner",
                                    callbacks=[AsyncRecorder(), inner], **at(emulator, "openai"))

    llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, user="outer",
                        callbacks=[Nested()], **at(emulator, "openai"))
    assert inner.one("success").params["user"] == "inner"


@pytest.mark.parametrize("mode", MODES)
def test_any_object_with_either_method(emulator: Emulator, mode: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    only_success = SimpleNamespace(on_success=lambda e: seen.append("s"))
    only_failure = SimpleNamespace(on_failure=lambda e: seen.append("f"))

    class Neither:
        pass

    with caplog.at_level(logging.WARNING, logger="llmrelay"):
        call(mode, model="gpt-4o-mini", callbacks=[only_success, only_failure, Neither()],
             **at(emulator, "openai"))
    assert seen == ["s"]
    emulator.fail(400)
    with pytest.raises(llmrelay.BadRequestError):
        call(mode, model="gpt-4o-mini", callbacks=[only_success, only_failure],
             **at(emulator, "openai"))
    assert seen == ["s", "f"]
    assert "has neither on_success nor on_failure" in caplog.text


class Raising:
    def __init__(self, asynchronous: bool) -> None:
        self.asynchronous = asynchronous

    def on_success(self, event: llmrelay.CallEvent) -> Any:
        return self._raise()

    def on_failure(self, event: llmrelay.CallEvent) -> Any:
        return self._raise()

    def _raise(self) -> Any:
        if not self.asynchronous:
            raise RuntimeError("callback bug")

        async def fail() -> None:
            await asyncio.sleep(0)
            raise RuntimeError("async callback bug")

        return fail()


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync-cb", "async-cb"])
@pytest.mark.parametrize("mode", MODES)
def test_a_raising_callback_is_logged_and_changes_nothing(
    emulator: Emulator, recorder: Recorder, caplog: pytest.LogCaptureFixture, mode: str,
    asynchronous: bool,
) -> None:
    with caplog.at_level(logging.ERROR, logger="llmrelay"):
        resp = call(mode, model="gpt-4o-mini", callbacks=[Raising(asynchronous), recorder],
                    **at(emulator, "openai"))
        assert resp.choices[0].message.content.startswith("Hello from the emulator")
        emulator.fail(400)
        with pytest.raises(llmrelay.BadRequestError):
            call(mode, model="gpt-4o-mini", callbacks=[Raising(asynchronous), recorder],
                 **at(emulator, "openai"))
    assert [k for k, _ in recorder.events] == ["success", "failure"]
    raised = [r for r in caplog.records if r.name == "llmrelay" and "Raising.on_" in r.getMessage()]
    assert [r.getMessage().split()[2] for r in raised] == ["Raising.on_success", "Raising.on_failure"]
    assert all(r.exc_info and "callback bug" in str(r.exc_info[1]) for r in raised)


@pytest.mark.parametrize("mode", MODES)
def test_global_and_per_call_callbacks(emulator: Emulator, mode: str) -> None:
    order: list[str] = []
    everywhere = SimpleNamespace(on_success=lambda e: order.append("global"))
    this_call = SimpleNamespace(on_success=lambda e: order.append("call"))
    llmrelay.callbacks.append(everywhere)
    call(mode, model="gpt-4o-mini", callbacks=[this_call], **at(emulator, "openai"))
    assert order == ["global", "call"]
    call(mode, model="gpt-4o-mini", **at(emulator, "openai"))
    assert order == ["global", "call", "global"]


@pytest.mark.parametrize("mode", MODES)
def test_calls_that_do_not_report_run_no_user_callbacks(
    emulator: Emulator, recorder: Recorder, mode: str
) -> None:
    llmrelay.callbacks.append(recorder)
    with scoped(CallScope(deployment="eu", report=False)):
        call(mode, model="gpt-4o-mini", callbacks=[recorder], **at(emulator, "openai"))
    assert recorder.events == []


def test_params_never_carry_credentials(emulator: Emulator, recorder: Recorder) -> None:
    llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, callbacks=[recorder],
                        api_key=emulator.api_key, api_base=emulator.base_url("openai"))
    event = recorder.one("success")
    assert emulator.api_key not in repr(event.params) and "api_key" not in event.params
    assert emulator.api_key not in repr(event)
    assert public_params({
        "aws_secret_access_key": "s", "aws_access_key_id": "i", "aws_session_token": "t",
        "azure_ad_token": "a", "api_key": "k", "vertex_credentials": "c", "password": "p",
        "max_tokens": 5, "max_completion_tokens": 6, "top_k": 3, "input_type": "x",
    }) == {"max_tokens": 5, "max_completion_tokens": 6, "top_k": 3, "input_type": "x"}


def test_nothing_listens_nothing_is_built(emulator: Emulator) -> None:
    built: list[int] = []

    def start() -> Any:
        built.append(1)
        raise AssertionError("built with nobody listening")

    assert hooks.begin(None, None, start) is None
    assert hooks.begin([], CallScope(report=False), start) is None
    assert built == []


def test_import_llmrelay_loads_neither_observe_nor_opentelemetry() -> None:
    code = (
        "import sys, llmrelay\n"
        "from llmrelay.testing import Emulator\n"
        "with Emulator() as emu:\n"
        "    llmrelay.completion(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'x'}],\n"
        "                        api_base=emu.base_url('openai'), api_key=emu.api_key)\n"
        "loaded = [m for m in sys.modules if 'observe' in m or 'opentelemetry' in m]\n"
        "assert not loaded, loaded\n"
        "llmrelay.CallEvent\n"
        "assert 'llmrelay.observe' in sys.modules\n"
        "assert not [m for m in sys.modules if 'opentelemetry' in m]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
