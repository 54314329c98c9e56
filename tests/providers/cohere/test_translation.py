"""Golden translation tests for the Cohere adapter: tests/golden/cohere/<case>/, no network.

input.json -> request.json (or request_error.json); response.json -> expected.json (or
response_error.json); stream.sse -> expected_chunks.jsonl (then stream_error.json, if any).
Requests go through ``llmrelay.call.prepare`` so validation and the capability table apply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.call import Call
from llmrelay.config import ProviderSettings
from llmrelay.providers.base import CallContext
from llmrelay.providers.cohere import ADAPTER
from llmrelay.streaming import SSEDecoder
from tests.providers import golden_cases
from tests.providers.golden_cases import case_input, feed_stream, prepare_input, read

GOLDEN = golden_cases.GOLDEN / "cohere"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
DEFAULT_INPUT = {"model": "command-r", "messages": [{"role": "user", "content": "Hi"}]}


def cases_with(name: str) -> list[Any]:
    return golden_cases.cases("cohere", name)


def prepared(data: dict[str, Any], *, api_key: str | None = "co-test", api_base: str | None = None) -> Call:
    return prepare_input(data, api_key=api_key, prefix="cohere/", api_base=api_base)


def context(case: Path) -> CallContext:
    data = case_input(case, DEFAULT_INPUT)
    request = {k: v for k, v in data.items() if k != "drop_params"}
    return CallContext("cohere", data["model"], request,  # type: ignore[arg-type]
                       ProviderSettings(api_key="co-test", base_url="https://api.cohere.com"))


def error_class(spec: dict[str, Any]) -> type[Exception]:
    cls = getattr(llmrelay, spec["class"])
    assert isinstance(cls, type) and issubclass(cls, Exception)
    return cls


def check_error(exc: pytest.ExceptionInfo[Exception], spec: dict[str, Any]) -> None:
    assert type(exc.value) is error_class(spec)
    assert spec["contains"] in str(exc.value)
    if "param" in spec:
        assert exc.value.param == spec["param"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", cases_with("request.json"))
def test_request(case: Path) -> None:
    request = prepared(read(case, "input.json")).request
    expected = read(case, "request.json")
    assert {"url": request.url, "stream": request.stream, "json": request.json} == expected


@pytest.mark.parametrize("case", cases_with("request_error.json"))
def test_request_error(case: Path) -> None:
    spec = read(case, "request_error.json")
    with pytest.raises(Exception) as exc:
        prepared(read(case, "input.json"))
    check_error(exc, spec)
    assert exc.value.provider == "cohere"  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", cases_with("expected.json"))
def test_response(case: Path) -> None:
    response = ADAPTER.parse_response(read(case, "response.json"), context(case))
    assert isinstance(response, llmrelay.ModelResponse)
    assert response.model_dump(exclude_none=True, exclude={"created"}) == read(case, "expected.json")


@pytest.mark.parametrize("case", cases_with("response_error.json"))
def test_response_error(case: Path) -> None:
    with pytest.raises(Exception) as exc:
        ADAPTER.parse_response(read(case, "response.json"), context(case))
    check_error(exc, read(case, "response_error.json"))


def translate(case: Path, piece: int) -> tuple[list[dict[str, Any]], Exception | None]:
    """Feed stream.sse in ``piece``-byte slices; the chunks made, and the error that ended it."""
    translator = ADAPTER.stream_translator(context(case))
    raw = (case / "stream.sse").read_bytes()
    chunks: list[Any] = []
    try:
        feed_stream(translator, SSEDecoder(), raw, piece, chunks)
    except llmrelay.APIError as exc:
        return [c.model_dump(exclude_none=True, exclude={"created"}) for c in chunks], exc
    return [c.model_dump(exclude_none=True, exclude={"created"}) for c in chunks], None


@pytest.mark.parametrize("piece", [1 << 20, 7])
@pytest.mark.parametrize("case", cases_with("stream.sse"))
def test_stream(case: Path, piece: int) -> None:
    chunks, error = translate(case, piece)
    expected = [json.loads(line) for line in (case / "expected_chunks.jsonl").read_text().splitlines()]
    assert chunks == expected
    if (case / "stream_error.json").exists():
        spec = read(case, "stream_error.json")
        assert type(error) is error_class(spec)
        assert spec["contains"] in str(error)
    else:
        assert error is None


def test_stream_rebuilds_like_the_plain_answer() -> None:
    """The streamed tool-call case rebuilds into the same message the plain parser makes."""
    chunks, _ = translate(GOLDEN / "stream_tool_calls", 64)
    built = llmrelay.stream_chunk_builder(chunks).choices[0].message
    assert built.reasoning_content == "I will look."  # type: ignore[attr-defined]
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in built.tool_calls or []] == [
        ("get_time_1", "get_time", {"location": "Tokyo"}),
        ("get_weather_2", "get_weather", {"location": "Tokyo"}),
    ]


def test_request_headers_and_url() -> None:
    request = prepared({**DEFAULT_INPUT, "stream": True}, api_base="http://proxy.local/cohere/").request
    assert request.url == "http://proxy.local/cohere/v2/chat"
    assert request.headers["authorization"] == "Bearer co-test"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "text/event-stream"


def test_key_and_base_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", "co-from-env")
    monkeypatch.setenv("COHERE_API_BASE", "http://env.local")
    request = prepared(DEFAULT_INPUT, api_key=None).request
    assert request.headers["authorization"] == "Bearer co-from-env"
    assert request.url == "http://env.local/v2/chat"
    monkeypatch.setenv("COHERE_API_KEY", "co-preferred")
    assert prepared(DEFAULT_INPUT, api_key=None).request.headers["authorization"] == "Bearer co-preferred"


def test_missing_key_names_both_variables() -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="COHERE_API_KEY or CO_API_KEY"):
        prepared(DEFAULT_INPUT, api_key=None)


def test_routing_and_capabilities() -> None:
    assert llmrelay.get_provider("command-r-plus") == ("cohere", "command-r-plus")
    assert llmrelay.get_provider("cohere/command-a-03-2025") == ("cohere", "command-a-03-2025")
    assert llmrelay.supports("command-r", "temperature")
    assert llmrelay.supports("command-r", "tools")
    for param in ("logit_bias", "user", "top_logprobs", "parallel_tool_calls"):
        assert not llmrelay.supports("command-r", param)


@pytest.mark.parametrize(
    ("status", "body", "cls", "request_id"),
    [
        (400, {"id": "a", "message": "invalid request: temperature must be between 0 and 1.0 inclusive."},
         llmrelay.BadRequestError, "a"),
        (400, {"id": "b", "message": "too many tokens: size limit exceeded by 11326 tokens. Try using "
               "shorter or fewer inputs, or setting prompt_truncation='AUTO'."},
         llmrelay.ContextWindowExceededError, "b"),
        (400, {"id": "c", "error_type": "TOO_MANY_TOKENS",
               "message": "the prompt does not fit"}, llmrelay.ContextWindowExceededError, "c"),
        (400, {"message": "too many tokens: max tokens must be less than or equal to 4096, the "
               "maximum output for this model - received 8192."}, llmrelay.BadRequestError, None),
        (401, {"message": "invalid api token"}, llmrelay.AuthenticationError, None),
        (402, {"id": "d", "message": "Please add or update your payment method to continue"},
         llmrelay.PermissionDeniedError, "d"),
        (403, {"id": "e", "message": "forbidden"}, llmrelay.PermissionDeniedError, "e"),
        (404, {"id": "f", "message": "model 'x' not found, make sure the correct model ID was used "
               "and that you have access to the model."}, llmrelay.NotFoundError, "f"),
        (422, {"id": "g", "message": "unprocessable"}, llmrelay.BadRequestError, "g"),
        (429, {"id": "h", "message": "You are past the per minute request limit, please wait and "
               "try again later."}, llmrelay.RateLimitError, "h"),
        (498, {"id": "i", "message": "blocked input"}, llmrelay.ContentPolicyViolationError, "i"),
        (499, {"id": "j", "message": "request cancelled"}, llmrelay.InternalServerError, "j"),
        (500, {"id": "k", "message": "internal server error"}, llmrelay.InternalServerError, "k"),
        (503, {"id": "l", "message": "service unavailable"}, llmrelay.ServiceUnavailableError, "l"),
        (504, "<html>gateway timeout</html>", llmrelay.InternalServerError, None),
    ],
)
def test_parse_error(status: int, body: Any, cls: type[Exception], request_id: str | None) -> None:
    error = ADAPTER.parse_error(status, body, {}, context(CASES[0]))
    assert type(error) is cls
    expected_message = body["message"] if isinstance(body, dict) else body
    assert error.message == expected_message
    assert error.request_id == request_id
