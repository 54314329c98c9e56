"""Every failure maps to the contract's classes; retries, timeouts and force_timeout."""

from __future__ import annotations

import asyncio
import pickle
import time
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]


def kwargs(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, llmrelay.BadRequestError),
        (401, llmrelay.AuthenticationError),
        (403, llmrelay.PermissionDeniedError),
        (404, llmrelay.NotFoundError),
        (413, llmrelay.BadRequestError),
        (422, llmrelay.BadRequestError),
        (429, llmrelay.RateLimitError),
        (500, llmrelay.InternalServerError),
        (502, llmrelay.InternalServerError),
        (503, llmrelay.ServiceUnavailableError),
        (529, llmrelay.ServiceUnavailableError),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_status_maps_to_the_contract_class(
    mode: str, status: int, cls: type[llmrelay.APIError], emulator: Emulator
) -> None:
    emulator.fail(status)
    with pytest.raises(cls) as info:
        call(mode, num_retries=0, **kwargs(emulator))
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert (err.provider, err.model) == ("openai", "gpt-4o-mini")
    assert err.response["error"]["message"] == err.message  # the provider's own words
    assert err.request_id == "req_emulator_error"


def test_rate_limit_carries_retry_after(emulator: Emulator) -> None:
    emulator.fail(429, headers={"retry-after": "7", "retry-after-ms": ""})
    with pytest.raises(llmrelay.RateLimitError) as info:
        llmrelay.completion(messages=MESSAGES, num_retries=0, **kwargs(emulator))
    assert info.value.retry_after == 7.0


def test_context_window_error_is_refined_from_the_code(emulator: Emulator) -> None:
    body = {"error": {"message": "This model's maximum context length is 128000 tokens. However, "
                      "your messages resulted in 130512 tokens.", "type": "invalid_request_error",
                      "param": "messages", "code": "context_length_exceeded"}}
    emulator.fail(400, body=body)
    with pytest.raises(llmrelay.ContextWindowExceededError) as info:
        llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    assert "maximum context length" in info.value.message
    assert emulator.count() == 1  # a 400 is never retried


def test_real_wrong_key_401_from_the_emulator(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as info:
        llmrelay.completion(messages=MESSAGES, **kwargs(emulator, api_key="sk-wrong-key-0000"))
    assert "Incorrect API key provided" in info.value.message
    assert "sk-wrong-key-0000" not in str(info.value)
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [408, 409, 429, 500, 503])
def test_retryable_statuses_are_retried_then_succeed(
    mode: str, status: int, emulator: Emulator
) -> None:
    emulator.fail(status, times=2, headers={"retry-after-ms": "10"})
    resp = call(mode, **kwargs(emulator))
    assert resp.choices[0].message.content
    assert emulator.count() == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_are_not_retried(status: int, emulator: Emulator) -> None:
    emulator.fail(status, times=3)
    with pytest.raises(llmrelay.APIError):
        llmrelay.completion(messages=MESSAGES, num_retries=5, **kwargs(emulator))
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_retries_give_up_after_num_retries(mode: str, emulator: Emulator) -> None:
    emulator.fail(500, times=10, headers={"retry-after-ms": "5"})
    with pytest.raises(llmrelay.InternalServerError):
        call(mode, num_retries=3, **kwargs(emulator))
    assert emulator.count() == 4


def test_x_should_retry_false_is_honoured(emulator: Emulator) -> None:
    emulator.fail(500, headers={"x-should-retry": "false"})
    with pytest.raises(llmrelay.InternalServerError):
        llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    assert emulator.count() == 1


def test_retry_after_is_waited_for(emulator: Emulator) -> None:
    emulator.fail(429, headers={"retry-after-ms": "", "retry-after": "1"})
    started = time.monotonic()
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    assert time.monotonic() - started >= 1.0
    assert emulator.count() == 2


def test_backoff_without_retry_after_grows_exponentially_with_jitter() -> None:
    from llmrelay.exceptions import InternalServerError
    from llmrelay.retries import backoff_delay

    err = InternalServerError("x")
    delays = [backoff_delay(attempt, err) for attempt in range(6)]
    assert 0.375 <= delays[0] <= 0.5
    assert 0.75 <= delays[1] <= 1.0
    assert all(d <= 8.0 for d in delays)


@pytest.mark.parametrize("mode", MODES)
def test_dropped_connection_is_retried(mode: str, emulator: Emulator) -> None:
    emulator.drop(times=1)
    resp = call(mode, **kwargs(emulator))
    assert resp.choices[0].message.content
    assert emulator.count() == 2


@pytest.mark.parametrize("mode", MODES)
def test_dropped_connection_without_retries_is_a_connection_error(
    mode: str, emulator: Emulator
) -> None:
    emulator.drop(times=1)
    with pytest.raises(llmrelay.APIConnectionError) as info:
        call(mode, num_retries=0, **kwargs(emulator))
    assert not isinstance(info.value, llmrelay.Timeout)
    assert info.value.status_code is None


def test_refused_connection_is_a_connection_error() -> None:
    with pytest.raises(llmrelay.APIConnectionError):
        llmrelay.completion(messages=MESSAGES, model="gpt-4o-mini", api_key="k",
                            api_base="http://127.0.0.1:9/v1", num_retries=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "body", [b'{"id": "broken", ', b"<html>502 Bad Gateway</html>", b"[]", b'{"choices": 3}']
)
def test_malformed_bodies_raise_api_error_with_the_body(
    mode: str, body: bytes, emulator: Emulator
) -> None:
    emulator.malformed(body=body)
    with pytest.raises(llmrelay.APIError) as info:
        call(mode, **kwargs(emulator))
    err = info.value
    assert type(err) is llmrelay.APIError
    assert err.response is not None
    assert err.status_code == 200


def test_html_error_page_keeps_status_and_text(emulator: Emulator) -> None:
    emulator.malformed(body=b"<html>Bad Gateway</html>", status=502)
    with pytest.raises(llmrelay.InternalServerError) as info:
        llmrelay.completion(messages=MESSAGES, num_retries=0, **kwargs(emulator))
    assert "Bad Gateway" in info.value.message
    assert info.value.status_code == 502


@pytest.mark.parametrize("mode", MODES)
def test_per_request_timeout_raises_timeout(mode: str, emulator: Emulator) -> None:
    emulator.slow(1.0)
    with pytest.raises(llmrelay.Timeout):
        call(mode, timeout=0.2, num_retries=0, **kwargs(emulator))


@pytest.mark.parametrize("mode", MODES)
def test_force_timeout_bounds_the_whole_call_retries_included(
    mode: str, emulator: Emulator
) -> None:
    emulator.slow(0.3, times=10)
    emulator.fail(500, times=10, headers={"retry-after-ms": "0"})
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout):
        call(mode, force_timeout=0.8, num_retries=10, **kwargs(emulator))
    elapsed = time.monotonic() - started
    assert 0.7 < elapsed < 1.3
    assert 2 <= emulator.count() <= 3


def test_force_timeout_ends_the_call_when_the_backoff_would_outlast_it(
    emulator: Emulator,
) -> None:
    emulator.fail(429, times=5, headers={"retry-after-ms": "", "retry-after": "30"})
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout) as info:
        llmrelay.completion(messages=MESSAGES, force_timeout=2, **kwargs(emulator))
    assert time.monotonic() - started < 1.0
    assert isinstance(info.value.__cause__, llmrelay.RateLimitError)
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_force_timeout_on_a_stream_covers_the_first_chunk(mode: str, emulator: Emulator) -> None:
    emulator.slow(1.5)
    started = time.monotonic()
    with pytest.raises(llmrelay.Timeout):
        call(mode, stream=True, force_timeout=0.3, **kwargs(emulator))
    assert time.monotonic() - started < 1.2


@pytest.mark.parametrize("mode", MODES)
def test_force_timeout_does_not_cut_a_stream_that_started(mode: str, emulator: Emulator) -> None:
    emulator.slow_stream(0.06)  # ~16 events: the stream outlasts force_timeout
    started = time.monotonic()
    chunks = call(mode, stream=True, force_timeout=0.5, **kwargs(emulator))
    assert time.monotonic() - started > 0.5
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].message.content == "Hello from the emulator. You said: Hi there"


def test_exceptions_pickle_and_keep_their_fields() -> None:
    err = llmrelay.RateLimitError("slow down", status_code=429, provider="openai",
                                  model="gpt-4o", response={"error": {}}, retry_after=3.0)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is llmrelay.RateLimitError
    assert (copy.message, copy.retry_after, copy.provider) == ("slow down", 3.0, "openai")


def test_hierarchy_matches_the_contract() -> None:
    assert issubclass(llmrelay.ContextWindowExceededError, llmrelay.BadRequestError)
    assert issubclass(llmrelay.ContentPolicyViolationError, llmrelay.BadRequestError)
    assert issubclass(llmrelay.UnsupportedParamsError, llmrelay.BadRequestError)
    assert issubclass(llmrelay.ServiceUnavailableError, llmrelay.InternalServerError)
    assert issubclass(llmrelay.Timeout, llmrelay.APIConnectionError)
    for name in ("BadRequestError", "AuthenticationError", "PermissionDeniedError",
                 "NotFoundError", "RateLimitError", "InternalServerError", "APIConnectionError"):
        assert issubclass(getattr(llmrelay, name), llmrelay.APIError)
        assert getattr(llmrelay.exceptions, name) is getattr(llmrelay, name)


def test_async_cancellation_propagates(emulator: Emulator) -> None:
    async def main() -> None:
        emulator.slow(2.0)
        task = asyncio.create_task(llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator)))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_force_timeout_ends_at_the_first_chunk_even_when_later_reads_are_partial() -> None:
    """Narrow test of the chunk loop: after the first chunk, a read that completes no event
    (half an event, a keep-alive comment) must not be checked against force_timeout."""
    from llmrelay.api import _open_stream
    from llmrelay.call import prepare

    call = prepare("gpt-4o-mini", MESSAGES, {"stream": True}, api_key="k",
                   api_base="http://127.0.0.1:9/v1", options={}, timeout=None, force_timeout=0.2,
                   azure=False, logger_fn=None, verbose=False, num_retries=None,
                   drop_params=False, extra_headers=None, extra_body=None)
    event = (b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
             b'"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n')

    class SlowResponse:
        def iter_bytes(self) -> Any:
            yield event
            time.sleep(0.3)  # force_timeout has passed by now
            yield b": keep-alive\n\n"
            yield event[:20]
            yield event[20:]
            yield b"data: [DONE]\n\n"

        def close(self) -> None:
            pass

    chunks = list(_open_stream(call, SlowResponse()))  # type: ignore[arg-type]
    assert [c.choices[0].delta.content for c in chunks] == ["x", "x"]
