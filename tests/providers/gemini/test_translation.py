"""Golden translation cases for Gemini (tests/golden/gemini/<case>/), no network.

``input.json`` is a call (``model``, ``messages``, OpenAI params and extras, ``drop_params``);
``request.json`` the ``generateContent`` body it must build; ``response.json`` +
``expected.json`` a GenerateContentResponse and the ``ModelResponse`` it must become;
``stream.sse`` + ``expected_chunks.jsonl`` raw SSE and its chunks; ``error.json`` the exception
(``class``, ``match``, optional ``status_code`` and ``chunks_before``) that building, parsing or
streaming must raise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import llmrelay
from llmrelay.call import Call
from llmrelay.providers.gemini import ADAPTER
from llmrelay.providers.gemini.stream import GeminiStreamDecoder
from llmrelay.types import ModelResponseChunk
from tests.providers import golden_cases
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

GOLDEN = golden_cases.GOLDEN / "gemini"
DEFAULT_INPUT = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hi"}]}


def prepare_case(case: Path) -> Call:
    return prepare_input(case_input(case, DEFAULT_INPUT), api_key="AIza-golden")


GEMINI = Golden("gemini", prepare_case, lambda case: (case / "stream.sse").read_bytes(),
                lambda call: GeminiStreamDecoder())


def test_golden_cases_are_many() -> None:
    assert len(GEMINI.cases("request.json")) >= 35
    assert len(GEMINI.cases("response.json")) >= 20
    assert len(GEMINI.cases("stream.sse")) >= 15


@pytest.mark.parametrize("case", GEMINI.cases("request.json"))
def test_request(case: Path) -> None:
    check_request(GEMINI, case)


@pytest.mark.parametrize("case", GEMINI.cases("input.json", "error.json", without=("stream.sse", "response.json")))
def test_request_refused(case: Path) -> None:
    check_request_refused(GEMINI, case)


@pytest.mark.parametrize("case", GEMINI.cases("response.json", "expected.json"))
def test_response(case: Path) -> None:
    check_response(GEMINI, case)


@pytest.mark.parametrize("case", GEMINI.cases("response.json", "error.json"))
def test_response_refused(case: Path) -> None:
    check_response_refused(GEMINI, case)


@pytest.mark.parametrize("step", [1, 7, 17, 4096])
@pytest.mark.parametrize("case", GEMINI.cases("stream.sse", "expected_chunks.jsonl"))
def test_stream(case: Path, step: int) -> None:
    check_stream(GEMINI, case, step)


@pytest.mark.parametrize("step", [1, 5, 17, 4096])
@pytest.mark.parametrize("case", GEMINI.cases("stream.sse", "error.json"))
def test_stream_error(case: Path, step: int) -> None:
    check_stream_error(GEMINI, case, step)


def test_stream_error_carries_the_retry_delay() -> None:
    chunks: list[ModelResponseChunk] = []
    with pytest.raises(llmrelay.RateLimitError) as info:
        GEMINI.translate(GOLDEN / "stream_error_bare_json_mid_stream", chunks, 17)
    assert info.value.retry_after == 12.5 and info.value.code == "RESOURCE_EXHAUSTED"


def test_url_headers_and_stream_flag() -> None:
    call = prepare_call("gemini/gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {"stream": True},
                        api_key="AIza-x", api_base="https://proxy.example/google/")
    assert call.request.method == "POST"
    assert call.request.url == ("https://proxy.example/google/v1beta/models/gemini-2.5-flash:"
                                "streamGenerateContent?alt=sse")
    assert call.request.stream is True
    assert dict(call.request.headers) == {"x-goog-api-key": "AIza-x", "content-type": "application/json"}
    assert "key=" not in call.request.url  # keys in URLs end up in logs
    assert "AIza-x" not in repr(call.request)


@pytest.mark.parametrize(("base", "model", "url"), [
    ("https://generativelanguage.googleapis.com", "gemini-2.5-flash",
     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
    ("https://gw.example/v1beta", "models/gemini-2.5-flash",
     "https://gw.example/v1beta/models/gemini-2.5-flash:generateContent"),
    ("https://gw.example/v1", "gemini-2.0-flash", "https://gw.example/v1/models/gemini-2.0-flash:generateContent"),
])
def test_endpoint(base: str, model: str, url: str) -> None:
    from llmrelay.providers.gemini.request import endpoint

    assert endpoint(base, model, stream=False) == url


def test_adapter_fields() -> None:
    assert (ADAPTER.name, ADAPTER.api_key_env, ADAPTER.default_base_url, ADAPTER.base_url_env,
            ADAPTER.native_n) == ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
                                  "https://generativelanguage.googleapis.com", "GEMINI_API_BASE", True)


@pytest.mark.parametrize(("model", "expected"), [
    ("gemini-2.5-flash", ("gemini", "gemini-2.5-flash")),
    ("gemini/gemini-3-pro-preview", ("gemini", "gemini-3-pro-preview")),
    ("gemini/gemma-3-27b-it", ("gemini", "gemma-3-27b-it")),
    ("Gemini-2.0-Flash", ("gemini", "Gemini-2.0-Flash")),
])
def test_routing(model: str, expected: tuple[str, str]) -> None:
    assert llmrelay.get_provider(model) == expected


@pytest.mark.parametrize(("model", "param", "expected"), [
    ("gemini-2.5-flash", "temperature", True),
    ("gemini-2.5-flash", "seed", True),
    ("gemini-2.5-flash", "n", True),
    ("gemini-2.5-flash", "logprobs", True),
    ("gemini-2.5-flash", "reasoning_effort", True),
    ("gemini-3-pro-preview", "reasoning_effort", True),
    ("gemini-2.0-flash", "reasoning_effort", False),
    ("gemini-1.5-pro", "thinking", False),
    ("gemini-2.5-flash", "logit_bias", False),
    ("gemini-2.5-flash", "user", False),
    ("gemini-2.5-flash", "parallel_tool_calls", False),
    ("gemini-2.5-flash", "tools", True),
])
def test_supports_follows_the_table(model: str, param: str, expected: bool) -> None:
    assert llmrelay.supports(model, param) is expected


def test_missing_key_names_both_variables() -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        llmrelay.completion(model="gemini-2.5-flash", messages=[{"role": "user", "content": "Hi"}])


@pytest.mark.parametrize("var", ["GEMINI_API_KEY", "GOOGLE_API_KEY"])
def test_key_and_base_from_environment(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "AIza-env")
    monkeypatch.setenv("GEMINI_API_BASE", "https://env.example")
    call = prepare_call("gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {}, api_key=None)
    assert call.request.url == "https://env.example/v1beta/models/gemini-2.5-flash:generateContent"
    assert call.request.headers["x-goog-api-key"] == "AIza-env"


def test_gemini_key_wins_over_google_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-google")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-gemini")
    call = prepare_call("gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {}, api_key=None)
    assert call.request.headers["x-goog-api-key"] == "AIza-gemini"
