"""Golden translation cases for Anthropic (tests/golden/anthropic/<case>/), no network.

``input.json`` is a call (``model``, ``messages``, OpenAI params and extras, ``drop_params``);
``request.json`` the Messages body it must build; ``response.json`` + ``expected.json`` a Message
and the ``ModelResponse`` it must become; ``stream.sse`` + ``expected_chunks.jsonl`` raw SSE and
its chunks; ``error.json`` the exception (``class``, ``match``, optional ``status_code`` and
``chunks_before``) that building, parsing or streaming must raise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import llmrelay
from llmrelay.call import Call
from llmrelay.providers.anthropic import ADAPTER
from llmrelay.streaming import SSEDecoder
from tests.providers.golden_cases import (
    Golden,
    case_input,
    check_request,
    check_request_refused,
    check_response,
    check_response_refused,
    check_stream,
    check_stream_error,
    prepare_call,
    prepare_input,
)

DEFAULT_INPUT = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}


def prepare_case(case: Path) -> Call:
    return prepare_input(case_input(case, DEFAULT_INPUT), api_key="sk-ant-golden")


ANTHROPIC = Golden("anthropic", prepare_case, lambda case: (case / "stream.sse").read_text().encode(),
                   lambda call: SSEDecoder())


@pytest.mark.parametrize("case", ANTHROPIC.cases("request.json"))
def test_request(case: Path) -> None:
    check_request(ANTHROPIC, case)


@pytest.mark.parametrize("case", ANTHROPIC.cases("input.json", "error.json", without=("stream.sse",)))
def test_request_refused(case: Path) -> None:
    check_request_refused(ANTHROPIC, case)


@pytest.mark.parametrize("case", ANTHROPIC.cases("response.json", "expected.json"))
def test_response(case: Path) -> None:
    check_response(ANTHROPIC, case)


@pytest.mark.parametrize("case", ANTHROPIC.cases("response.json", "error.json"))
def test_response_refused(case: Path) -> None:
    check_response_refused(ANTHROPIC, case)


@pytest.mark.parametrize("case", ANTHROPIC.cases("stream.sse", "expected_chunks.jsonl"))
def test_stream(case: Path) -> None:
    check_stream(ANTHROPIC, case, 17)


@pytest.mark.parametrize("case", ANTHROPIC.cases("stream.sse", "error.json"))
def test_stream_error(case: Path) -> None:
    check_stream_error(ANTHROPIC, case, 17)


def test_headers_url_and_stream_flag() -> None:
    call = prepare_call("anthropic/claude-haiku-4-5", [{"role": "user", "content": "Hi"}], {"stream": True},
                        api_key="sk-ant-x", api_base="https://proxy.example/anthropic/",
                        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    assert call.request.method == "POST"
    assert call.request.url == "https://proxy.example/anthropic/v1/messages"
    assert call.request.stream is True
    assert dict(call.request.headers) == {
        "x-api-key": "sk-ant-x", "anthropic-version": "2023-06-01",
        "content-type": "application/json", "anthropic-beta": "prompt-caching-2024-07-31"}


def test_base_url_ending_in_v1_is_not_doubled() -> None:
    from llmrelay.providers.anthropic.request import messages_url

    assert messages_url("https://api.anthropic.com") == "https://api.anthropic.com/v1/messages"
    assert messages_url("https://gw.example/v1") == "https://gw.example/v1/messages"


def test_adapter_fields() -> None:
    assert (ADAPTER.name, ADAPTER.api_key_env, ADAPTER.default_base_url, ADAPTER.base_url_env,
            ADAPTER.native_n) == ("anthropic", ("ANTHROPIC_API_KEY",), "https://api.anthropic.com",
                                  "ANTHROPIC_API_BASE", False)


@pytest.mark.parametrize(("model", "param", "expected"), [
    ("claude-3-5-sonnet-20241022", "temperature", True),
    ("claude-3-5-sonnet-20241022", "top_k", True),
    ("claude-sonnet-4-20250514", "top_p", True),
    ("claude-sonnet-4-5", "temperature", True),
    ("claude-opus-4-7", "temperature", False),
    ("claude-opus-4-7", "top_p", False),
    ("claude-sonnet-4-6", "top_k", False),
    ("anthropic/claude-opus-5", "temperature", False),
    ("claude-3-haiku-20240307", "logit_bias", False),
    ("claude-3-haiku-20240307", "seed", False),
    ("claude-3-haiku-20240307", "presence_penalty", False),
    ("claude-3-haiku-20240307", "tools", True),
])
def test_supports_follows_the_table(model: str, param: str, expected: bool) -> None:
    assert llmrelay.supports(model, param) is expected


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="ANTHROPIC_API_KEY"):
        llmrelay.completion(model="claude-haiku-4-5", messages=[{"role": "user", "content": "Hi"}])


def test_key_and_base_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env")
    monkeypatch.setenv("ANTHROPIC_API_BASE", "https://env.example")
    call = prepare_call("claude-haiku-4-5", [{"role": "user", "content": "Hi"}], {}, api_key=None)
    assert call.request.url == "https://env.example/v1/messages"
    assert call.request.headers["x-api-key"] == "sk-ant-env"
