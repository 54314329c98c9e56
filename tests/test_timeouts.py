"""Every documented form of ``timeout`` against a slow emulator answer: it times out when it
should and not when it should not, sync and async, streaming and not, with and without
``force_timeout`` cutting it (issue 8: ``httpx.Timeout`` once crashed the sync path)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import call

MODES = ["sync", "async"]
STREAMS = [False, True]

# (timeout, the limit it puts on waiting for the answer, in seconds)
FIRES: list[tuple[Any, float]] = [
    (0.25, 0.25),
    (1, 1.0),
    (httpx.Timeout(0.25), 0.25),
    (httpx.Timeout(5.0, read=0.25), 0.25),
    (httpx.Timeout(0.25, connect=None), 0.25),
    (httpx.Timeout(0.25, write=None, pool=None), 0.25),
]
# Timeouts that must let an answer 0.3 s late through: None fields mean no limit, as in httpx.
HOLDS: list[Any] = [
    None,
    2.0,
    2,
    httpx.Timeout(None),
    httpx.Timeout(2.0),
    httpx.Timeout(0.1, read=None),
    httpx.Timeout(2.0, connect=None),
    httpx.Timeout(2.0, write=None, pool=None),
]


def openai(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, "num_retries": 0, **extra}


def timed(fn: Any) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        return fn(), time.monotonic() - started
    except llmrelay.APIError as exc:
        return exc, time.monotonic() - started


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("timeout", "limit"), FIRES, ids=repr)
def test_timeout_fires_on_a_late_answer(
    emulator: Emulator, mode: str, stream: bool, timeout: Any, limit: float
) -> None:
    emulator.slow(limit + 0.6)
    result, elapsed = timed(lambda: call(mode, stream=stream, timeout=timeout, **openai(emulator)))
    assert isinstance(result, llmrelay.Timeout), result
    assert limit * 0.8 <= elapsed < limit + 0.5


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("timeout", HOLDS, ids=repr)
def test_timeout_lets_an_answer_within_it_through(
    emulator: Emulator, mode: str, stream: bool, timeout: Any
) -> None:
    emulator.slow(0.3)
    result, elapsed = timed(lambda: call(mode, stream=stream, timeout=timeout, **openai(emulator)))
    assert not isinstance(result, Exception), result
    text = (llmrelay.stream_chunk_builder(result) if stream else result).choices[0].message.content
    assert text == "Hello from the emulator. You said: Hi there"
    assert elapsed >= 0.3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("timeout", [0.25, httpx.Timeout(5.0, read=0.25)], ids=repr)
def test_read_timeout_between_stream_events(emulator: Emulator, mode: str, timeout: Any) -> None:
    emulator.slow_stream(0.7)
    result, elapsed = timed(lambda: call(mode, stream=True, timeout=timeout, **openai(emulator)))
    assert isinstance(result, llmrelay.Timeout), result
    assert elapsed < 1.5


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("timeout", [None, 5.0, 5, httpx.Timeout(5.0), httpx.Timeout(None),
                                     httpx.Timeout(5.0, read=None)], ids=repr)
def test_force_timeout_cuts_a_longer_timeout(
    emulator: Emulator, mode: str, stream: bool, timeout: Any
) -> None:
    emulator.slow(1.2)
    result, elapsed = timed(lambda: call(mode, stream=stream, timeout=timeout, force_timeout=0.3,
                                         **openai(emulator)))
    assert isinstance(result, llmrelay.Timeout), result
    assert 0.25 <= elapsed < 0.9


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("timeout", [2.0, httpx.Timeout(2.0, read=None)], ids=repr)
def test_force_timeout_with_room_lets_the_answer_through(
    emulator: Emulator, mode: str, stream: bool, timeout: Any
) -> None:
    emulator.slow(0.3)
    result, _ = timed(lambda: call(mode, stream=stream, timeout=timeout, force_timeout=2.0,
                                   **openai(emulator)))
    assert not isinstance(result, Exception), result


@pytest.mark.parametrize("mode", MODES)
def test_the_shorter_per_request_timeout_wins_under_force_timeout(
    emulator: Emulator, mode: str
) -> None:
    emulator.slow(1.2)
    result, elapsed = timed(lambda: call(mode, timeout=httpx.Timeout(0.25), force_timeout=3.0,
                                         **openai(emulator)))
    assert isinstance(result, llmrelay.Timeout), result
    assert elapsed < 0.8


@pytest.mark.parametrize("mode", MODES)
def test_a_timed_out_attempt_is_retried(emulator: Emulator, mode: str) -> None:
    emulator.slow(0.8)  # only the first attempt is slow
    result = call(mode, timeout=httpx.Timeout(0.25), **{**openai(emulator), "num_retries": 1})
    assert result.choices[0].message.content
    assert emulator.count() == 2


