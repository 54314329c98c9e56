"""The official ``replicate`` SDK pointed at the emulator: it must parse everything the
emulator says and raise its own exceptions for scripted failures."""

from __future__ import annotations

from typing import Any

import pytest

replicate = pytest.importorskip("replicate")
from replicate.exceptions import ModelError, ReplicateError  # noqa: E402

from llmrelay.testing import Emulator  # noqa: E402

LLAMA = "meta/meta-llama-3-8b-instruct"
VERSION = "8e6975e5ed6174911a6ff3d60540dfd4844201974602551e10e9e87ab143d81e"
ANSWER = "Hello from the emulator.\nYou said: Write a haiku"


def client(emulator: Emulator, token: str | None = None) -> Any:
    sdk = replicate.Client(api_token=token or emulator.api_key, base_url=emulator.url)
    sdk.poll_interval = 0.01
    return sdk


def test_run_official_model_waits(emulator: Emulator) -> None:
    output = client(emulator).run(LLAMA, input={"prompt": "Write a haiku", "max_tokens": 64})
    assert "".join(output) == ANSWER
    [create] = emulator.requests
    assert create.headers["prefer"] == "wait"


def test_run_polls_an_unfinished_prediction(emulator: Emulator) -> None:
    output = client(emulator).run("emu/llm-polls-3", input={"prompt": "Write a haiku"})
    assert "".join(output) == ANSWER
    assert emulator.count("replicate", r"/v1/predictions/\w+$") == 3


async def test_async_run(emulator: Emulator) -> None:
    output = await client(emulator).async_run(LLAMA, input={"prompt": "Write a haiku"})
    assert "".join(output) == ANSWER


def test_versioned_create_wait_and_reload(emulator: Emulator) -> None:
    sdk = client(emulator)
    prediction = sdk.predictions.create(version=VERSION, input={"prompt": "Write a haiku"})
    assert prediction.status == "starting"
    assert prediction.urls["get"].endswith(f"/v1/predictions/{prediction.id}")
    prediction.wait()
    assert prediction.status == "succeeded"
    assert "".join(prediction.output) == ANSWER
    assert prediction.metrics["output_token_count"] == 8
    prediction.reload()
    assert prediction.completed_at is not None


def test_cancel(emulator: Emulator) -> None:
    sdk = client(emulator)
    prediction = sdk.models.predictions.create(model="emu/llm-polls-50", input={"prompt": "x"})
    prediction.cancel()
    assert prediction.status == "canceled"
    assert emulator.state["replicate"]["canceled"] == [prediction.id]


def test_stream(emulator: Emulator) -> None:
    events = list(client(emulator).stream(LLAMA, input={"prompt": "Write a haiku"}))
    assert "".join(str(e) for e in events) == ANSWER
    assert events[-1].event.value == "done"
    assert all(e.id for e in events)


async def test_async_stream(emulator: Emulator) -> None:
    stream = await client(emulator).async_stream(LLAMA, input={"prompt": "Write a haiku"})
    events = [e async for e in stream]
    assert "".join(str(e) for e in events) == ANSWER


def test_stream_failure_is_an_error_event(emulator: Emulator) -> None:
    with pytest.raises(RuntimeError, match="CUDA out of memory"):
        list(client(emulator).stream("emu/llm-fails", input={"prompt": "x"}))


def test_failed_prediction_is_a_model_error(emulator: Emulator) -> None:
    with pytest.raises(ModelError) as info:
        client(emulator).run("emu/llm-fails", input={"prompt": "x"})
    assert info.value.prediction.status == "failed"
    assert "CUDA out of memory" in str(info.value)


def test_bad_token(emulator: Emulator) -> None:
    with pytest.raises(ReplicateError) as info:
        client(emulator, token="r8_wrong").run(LLAMA, input={"prompt": "x"})
    assert (info.value.status, info.value.title) == (401, "Unauthenticated")
    assert info.value.detail == "You did not pass a valid authentication token"


def test_validation_error(emulator: Emulator) -> None:
    with pytest.raises(ReplicateError) as info:
        client(emulator).run(LLAMA, input={"max_tokens": 5})
    assert (info.value.status, info.value.title) == (422, "Input validation failed")
    assert info.value.detail == "- input: prompt is required\n"


def test_invalid_version(emulator: Emulator) -> None:
    with pytest.raises(ReplicateError) as info:
        client(emulator).predictions.create(version="0" * 63, input={"prompt": "x"})
    assert info.value.status == 422
    assert info.value.title == "Invalid version or not permitted"


def test_scripted_429_on_create_is_not_retried_by_the_sdk(emulator: Emulator) -> None:
    emulator.fail(429, provider="replicate")
    with pytest.raises(ReplicateError) as info:
        client(emulator).run(LLAMA, input={"prompt": "x"})
    assert info.value.status == 429
    assert info.value.detail.startswith("Request was throttled")
    assert emulator.count("replicate") == 1


def test_scripted_503_on_poll_is_retried_by_the_sdk(emulator: Emulator) -> None:
    emulator.fail(503, provider="replicate", path=r"/v1/predictions/\w+$",
                  headers={"retry-after": "0"})
    output = client(emulator).run("emu/llm-polls-1", input={"prompt": "Write a haiku"})
    assert "".join(output) == ANSWER
