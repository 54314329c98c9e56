"""llmrelay against the Replicate emulator over real sockets: waiting, polling, streaming,
cancellation, fan-out and every error path, sync and async."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import at, call

MODES = ["sync", "async"]
LLAMA = "replicate/meta/meta-llama-3-8b-instruct"
VERSION = "8e6975e5ed6174911a6ff3d60540dfd4844201974602551e10e9e87ab143d81e"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
ANSWER = "Hello from the emulator.\nYou said: Hi there"


def run(mode: str, emulator: Emulator, **kwargs: Any) -> Any:
    """``completion`` or ``acompletion`` against the emulator; streams collected into a list."""
    return call(mode, **{"model": LLAMA, "messages": MESSAGES, **at(emulator, "replicate"),
                         **kwargs})


def canceled(emulator: Emulator) -> list[str]:
    return list(emulator.state.get("replicate", {}).get("canceled", []))


@pytest.mark.parametrize("mode", MODES)
def test_prefer_wait_answers_in_one_request(mode: str, emulator: Emulator) -> None:
    resp = run(mode, emulator, max_tokens=50, temperature=0.5)
    assert resp.choices[0].message.content == ANSWER
    assert resp.choices[0].finish_reason == "stop"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (4, 7, 11)
    assert resp.model == "meta/meta-llama-3-8b-instruct"
    [create] = emulator.requests
    assert create.path == "/v1/models/meta/meta-llama-3-8b-instruct/predictions"
    assert create.headers["prefer"] == "wait"
    assert create.headers["authorization"] == f"Bearer {emulator.api_key}"
    assert create.body == {"input": {"prompt": "Hi there", "system_prompt": "Be brief.",
                                     "max_tokens": 50, "temperature": 0.5}}


@pytest.mark.parametrize("mode", MODES)
def test_versioned_model_and_raw_inputs(mode: str, emulator: Emulator) -> None:
    resp = run(mode, emulator, model=f"replicate/acme/tiny:{VERSION}",
               prompt="Raw prompt", stop=["You said"], top_k=5)
    assert resp.choices[0].message.content == "Hello from the emulator.\n"
    [create] = emulator.requests
    assert create.path == "/v1/predictions"
    assert create.body["version"] == VERSION
    assert create.body["input"]["prompt"] == "Raw prompt"
    assert create.body["input"]["stop_sequences"] == "You said"
    assert create.body["input"]["top_k"] == 5


@pytest.mark.parametrize("mode", MODES)
def test_unfinished_prediction_is_polled(mode: str, emulator: Emulator) -> None:
    started = time.monotonic()
    resp = run(mode, emulator, model="replicate/emu/llm-polls-2", max_tokens=3)
    elapsed = time.monotonic() - started
    assert resp.choices[0].message.content == "Hello from the"
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 3
    polls = [r for r in emulator.requests if r.method == "GET"]
    assert len(polls) == 2
    assert all(r.path == f"/v1/predictions/{resp.id}" for r in polls)
    assert all(r.headers["authorization"] == f"Bearer {emulator.api_key}" for r in polls)
    assert 1.4 < elapsed < 3.0  # 1 s after "starting", 0.5 s after "processing"
    assert canceled(emulator) == []


@pytest.mark.parametrize("mode", MODES)
def test_force_timeout_cancels_the_prediction(mode: str, emulator: Emulator) -> None:
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout) as info:
        run(mode, emulator, model="replicate/emu/llm-polls-100", force_timeout=0.8)
    assert time.monotonic() - started < 2.0
    assert info.value.provider == "replicate"
    create = emulator.requests[0]
    assert "prefer" not in create.headers  # no hold: 0.8 s leaves no room for one
    [prediction_id] = canceled(emulator)
    assert emulator.count("replicate", rf"/v1/predictions/{prediction_id}/cancel$") == 1


@pytest.mark.parametrize("mode", MODES)
def test_hold_fits_inside_force_timeout(mode: str, emulator: Emulator) -> None:
    run(mode, emulator, force_timeout=30, timeout=40)
    assert emulator.requests[0].headers["prefer"] == "wait=15"


async def test_asyncio_cancellation_cancels_the_prediction(emulator: Emulator) -> None:
    task = asyncio.create_task(llmrelay.acompletion(
        model="replicate/emu/llm-polls-100", messages=MESSAGES,
        api_base=emulator.base_url("replicate"), api_key=emulator.api_key))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(canceled(emulator)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_n_runs_parallel_predictions(mode: str, emulator: Emulator) -> None:
    resp = run(mode, emulator, n=3)
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert all(c.message.content == ANSWER for c in resp.choices)
    assert resp.usage.completion_tokens == 21
    assert emulator.count("replicate", r"/predictions$") == 3
    assert all("n" not in r.body["input"] for r in emulator.requests)


@pytest.mark.parametrize("mode", MODES)
def test_stream(mode: str, emulator: Emulator) -> None:
    chunks = run(mode, emulator, stream=True, stream_options={"include_usage": True})
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks].count("stop") == 1
    assert chunks[-1].choices[0].finish_reason == "stop"
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].message.content == ANSWER
    create, stream = emulator.requests
    # Every chunk carries the prediction's id, which only the create answer named.
    prediction_id = emulator.state["replicate"]["streams"][stream.path.rsplit("/", 1)[-1]]
    assert {c.id for c in chunks} == {prediction_id}
    assert create.body["stream"] is True and "prefer" not in create.headers
    assert stream.method == "GET" and stream.path.startswith("/v1/streams/")
    assert stream.headers["accept"] == "text/event-stream"
    assert canceled(emulator) == []


def test_closing_a_stream_early_cancels_it(emulator: Emulator) -> None:
    stream = llmrelay.completion(model=LLAMA, messages=MESSAGES, stream=True,
                                 api_base=emulator.base_url("replicate"), api_key=emulator.api_key)
    next(stream)
    stream.close()
    assert len(canceled(emulator)) == 1


async def test_closing_an_async_stream_early_cancels_it(emulator: Emulator) -> None:
    stream = await llmrelay.acompletion(model=LLAMA, messages=MESSAGES, stream=True,
                                        api_base=emulator.base_url("replicate"),
                                        api_key=emulator.api_key)
    await stream.__anext__()
    await stream.aclose()
    assert len(canceled(emulator)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_failed_prediction(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.InternalServerError) as info:
        run(mode, emulator, model="replicate/emu/llm-fails")
    assert "CUDA out of memory" in info.value.message
    assert info.value.response["status"] == "failed"
    assert emulator.count("replicate") == 1  # a failed prediction is not retried


@pytest.mark.parametrize("mode", MODES)
def test_prompt_too_long_fails_as_context_window(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.ContextWindowExceededError) as info:
        run(mode, emulator, messages=[{"role": "user", "content": "word " * 5000}])
    assert "maximum context length is 4096 tokens" in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_failed_prediction_mid_stream(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.InternalServerError) as info:
        run(mode, emulator, model="replicate/emu/llm-fails", stream=True)
    assert "CUDA out of memory" in info.value.message
    assert info.value.provider == "replicate"


@pytest.mark.parametrize("mode", MODES)
def test_stream_error_fault(mode: str, emulator: Emulator) -> None:
    emulator.stream_error(provider="replicate")
    with pytest.raises(llmrelay.InternalServerError) as info:
        run(mode, emulator, stream=True)
    assert "Prediction interrupted" in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_model_without_stream(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="does not stream"):
        run(mode, emulator, model="replicate/emu/llm-no-stream", stream=True)


@pytest.mark.parametrize("mode", MODES)
def test_bad_key(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as info:
        run(mode, emulator, api_key="r8_wrong")
    assert info.value.status_code == 401
    assert info.value.message == "Unauthenticated: You did not pass a valid authentication token"


@pytest.mark.parametrize("mode", MODES)
def test_input_validation_422(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError) as info:
        run(mode, emulator, max_tokens=5, prompt=12)
    assert info.value.status_code == 422
    assert "input.prompt: Invalid type. Expected: string, given: int" in info.value.message
    assert emulator.count("replicate") == 1


@pytest.mark.parametrize("mode", MODES)
def test_unknown_version_and_model(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="Invalid version or not permitted"):
        run(mode, emulator, model="replicate/acme/tiny:nope")
    with pytest.raises(llmrelay.NotFoundError):
        run(mode, emulator, model="replicate/missing/model")


@pytest.mark.parametrize("mode", MODES)
def test_429_is_retried_after_retry_after(mode: str, emulator: Emulator) -> None:
    emulator.fail(429, provider="replicate")
    started = time.monotonic()
    resp = run(mode, emulator)
    assert time.monotonic() - started >= 1.0  # Retry-After: 1
    assert resp.choices[0].message.content == ANSWER
    assert emulator.count("replicate", r"/predictions$") == 2


@pytest.mark.parametrize("mode", MODES)
def test_429_exhausted(mode: str, emulator: Emulator) -> None:
    emulator.fail(429, provider="replicate", headers={"retry-after": "0"}, times=3)
    with pytest.raises(llmrelay.RateLimitError) as info:
        run(mode, emulator, num_retries=1)
    assert info.value.retry_after == 0
    assert "Request was throttled" in info.value.message
    assert emulator.count("replicate") == 2


@pytest.mark.parametrize("mode", MODES)
def test_poll_errors_are_retried(mode: str, emulator: Emulator) -> None:
    emulator.fail(503, provider="replicate", path=r"/v1/predictions/\w+$")
    resp = run(mode, emulator, model="replicate/emu/llm-polls-1")
    assert resp.choices[0].message.content == ANSWER
    assert emulator.count("replicate", r"/v1/predictions/\w+$") == 2


@pytest.mark.parametrize("mode", MODES)
def test_server_error_not_retried_when_asked(mode: str, emulator: Emulator) -> None:
    emulator.fail(500, provider="replicate")
    with pytest.raises(llmrelay.InternalServerError) as info:
        run(mode, emulator, num_retries=0)
    assert info.value.response["title"] == "Internal server error"


@pytest.mark.parametrize("mode", MODES)
def test_malformed_body(mode: str, emulator: Emulator) -> None:
    emulator.malformed(provider="replicate", status=201)
    with pytest.raises(llmrelay.APIError, match="not JSON"):
        run(mode, emulator)
