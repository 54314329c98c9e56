"""llmrelay against the Azure OpenAI emulator over real sockets, sync and async."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import call

MODES = ["sync", "async"]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
CONTENT_FILTER_400 = {"error": {
    "message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
               "management policy.", "type": None, "param": "prompt", "code": "content_filter",
    "status": 400, "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
        "jailbreak": {"filtered": True, "detected": True}}}}}


def azure(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "azure/gpt-4o", "api_base": emulator.base_url("azure"),
            "api_key": emulator.api_key, **extra}


@pytest.mark.parametrize("mode", MODES)
def test_text_with_filter_results(mode: str, emulator: Emulator) -> None:
    resp = call(mode, **azure(emulator, max_tokens=50, temperature=0.3))
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert resp.model == "gpt-4o-2024-07-18" and resp.choices[0].finish_reason == "stop"
    assert resp.prompt_filter_results[0]["content_filter_results"]["jailbreak"]["detected"] is False
    assert resp.choices[0].content_filter_results["hate"]["severity"] == "safe"
    sent = emulator.requests[-1]
    assert sent.path == "/openai/deployments/gpt-4o/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == emulator.api_key and "authorization" not in sent.headers
    assert sent.body == {"messages": [{"role": "user", "content": "Hi there"}], "max_tokens": 50,
                         "temperature": 0.3}


@pytest.mark.parametrize("mode", MODES)
def test_azure_flag_ad_token_and_version(mode: str, emulator: Emulator) -> None:
    resp = call(mode, model="my-deployment", azure=True, api_base=emulator.base_url("azure"),
                azure_ad_token=emulator.api_key, api_version="2025-01-01-preview")
    assert resp.choices[0].message.content
    sent = emulator.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {emulator.api_key}"
    assert "api-key" not in sent.headers
    assert sent.query == {"api-version": "2025-01-01-preview"}


def test_version_and_base_from_the_environment(emulator: Emulator,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_KEY", emulator.api_key)
    monkeypatch.setenv("AZURE_API_BASE", emulator.base_url("azure"))
    monkeypatch.setenv("AZURE_API_VERSION", "2024-06-01")
    llmrelay.completion(model="azure/gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert emulator.requests[-1].query == {"api-version": "2024-06-01"}


def test_missing_base_fails_before_any_request(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="AZURE_API_BASE"):
        llmrelay.completion(model="azure/gpt-4o", messages=[{"role": "user", "content": "x"}],
                            api_key="k")
    assert emulator.count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_stream_tool_call_with_usage(mode: str, emulator: Emulator) -> None:
    chunks = call(mode, **azure(emulator, stream=True, tools=TOOLS,
                                stream_options={"include_usage": True}))
    assert all(c.id and c.model for c in chunks)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].finish_reason == "tool_calls"
    tool = built.choices[0].message.tool_calls[0]
    assert (tool.function.name, tool.function.arguments) == ("get_weather", '{"city": "city-1"}')


@pytest.mark.parametrize("mode", MODES)
def test_stream_text_without_usage(mode: str, emulator: Emulator) -> None:
    chunks = call(mode, **azure(emulator, stream=True))
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == (
        "Hello from the emulator. You said: Hi there")
    assert [c.choices[0].finish_reason for c in chunks].count("stop") == 1


@pytest.mark.parametrize("mode", MODES)
def test_native_n(mode: str, emulator: Emulator) -> None:
    resp = call(mode, **azure(emulator, n=2))
    assert [c.index for c in resp.choices] == [0, 1]
    assert emulator.count("azure") == 1


def test_reasoning_deployment_follows_the_openai_table(emulator: Emulator) -> None:
    resp = call("sync", **azure(emulator, model="azure/o3-mini", max_tokens=5))
    assert resp.choices[0].finish_reason == "length"
    assert emulator.requests[-1].body["max_completion_tokens"] == 5
    with pytest.raises(llmrelay.UnsupportedParamsError, match="temperature"):
        call("sync", **azure(emulator, model="azure/o3-mini", temperature=0.5))
    assert emulator.count() == 1
    assert not llmrelay.supports("azure/o3-mini", "temperature")
    assert llmrelay.supports("azure/gpt-4o", "temperature")


@pytest.mark.parametrize("mode", MODES)
def test_wrong_key_gets_azures_401(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as info:
        call(mode, **azure(emulator, api_key="wrong"))
    assert info.value.status_code == 401
    assert "Access denied due to invalid subscription key" in info.value.message
    assert info.value.response["error"]["code"] == "401"
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_unknown_deployment(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError) as info:
        call(mode, **azure(emulator, model="azure/missing-gpt"))
    assert info.value.code == "DeploymentNotFound"
    assert info.value.request_id == "00000000-0000-4000-8000-000000000000"


def test_unsupported_api_version(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="API version not supported"):
        call("sync", **azure(emulator, api_version="2019-01-01"))


@pytest.mark.parametrize(
    ("status", "cls", "attempts"),
    [
        (400, llmrelay.BadRequestError, 1),
        (403, llmrelay.PermissionDeniedError, 1),
        (404, llmrelay.NotFoundError, 1),
        (429, llmrelay.RateLimitError, 3),
        (500, llmrelay.InternalServerError, 3),
        (503, llmrelay.ServiceUnavailableError, 3),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_error_statuses(mode: str, status: int, cls: type[Exception], attempts: int,
                        emulator: Emulator) -> None:
    emulator.fail(status, times=5, provider="azure", headers={"retry-after-ms": "1"})
    with pytest.raises(cls) as info:
        call(mode, **azure(emulator))
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert emulator.count("azure") == attempts


def test_rate_limit_is_retried_then_succeeds(emulator: Emulator) -> None:
    emulator.fail(429, times=1, provider="azure")
    resp = call("sync", **azure(emulator))
    assert resp.choices[0].message.content
    assert emulator.count("azure") == 2


@pytest.mark.parametrize("mode", MODES)
def test_content_filter_400(mode: str, emulator: Emulator) -> None:
    emulator.fail(400, body=CONTENT_FILTER_400, provider="azure")
    with pytest.raises(llmrelay.ContentPolicyViolationError) as info:
        call(mode, **azure(emulator, stream=True))
    assert "content management policy" in info.value.message
    assert emulator.count("azure") == 1


@pytest.mark.parametrize("mode", MODES)
def test_dropped_connection_and_malformed_body(mode: str, emulator: Emulator) -> None:
    emulator.drop(times=2, provider="azure")
    with pytest.raises(llmrelay.APIConnectionError):
        call(mode, **azure(emulator, num_retries=1))
    assert emulator.count("azure") == 2
    emulator.malformed(provider="azure")
    with pytest.raises(llmrelay.APIError) as info:
        call(mode, **azure(emulator))
    assert type(info.value) is llmrelay.APIError and info.value.response == '{"id": "broken", '


@pytest.mark.parametrize("mode", MODES)
def test_mid_stream_error(mode: str, emulator: Emulator) -> None:
    emulator.stream_error(provider="azure")
    with pytest.raises(llmrelay.InternalServerError, match="server had an error"):
        call(mode, **azure(emulator, stream=True))
