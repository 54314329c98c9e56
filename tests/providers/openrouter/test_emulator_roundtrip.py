"""llmrelay against the OpenRouter emulator over real sockets, sync and async."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import call

MODES = ["sync", "async"]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def openrouter(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "openrouter/openai/gpt-4o-mini", "api_base": emulator.base_url("openrouter"),
            "api_key": emulator.api_key, **extra}


@pytest.mark.parametrize("mode", MODES)
def test_text_with_provider_fields(mode: str, emulator: Emulator) -> None:
    resp = call(mode, **openrouter(emulator))
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert resp.id.startswith("gen-") and resp.model == "openai/gpt-4o-mini"
    assert resp.provider == "OpenAI" and resp.choices[0].native_finish_reason == "stop"
    assert resp.usage.cost > 0
    sent = emulator.requests[-1]
    assert sent.path == "/api/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {emulator.api_key}"
    assert sent.body["model"] == "openai/gpt-4o-mini"


def test_attribution_headers_and_extras_pass_through(emulator: Emulator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OR_SITE_URL", "https://myapp.example")
    monkeypatch.setenv("OR_APP_NAME", "My App")
    extras = {"models": ["openai/gpt-4o"], "route": "fallback", "transforms": ["middle-out"],
              "provider": {"only": ["openai"], "allow_fallbacks": False},
              "plugins": [{"id": "web"}], "top_k": 5, "repetition_penalty": 1.05}
    call("sync", **openrouter(emulator, temperature=0.1, seed=3, **extras))
    sent = emulator.requests[-1]
    assert sent.headers["http-referer"] == "https://myapp.example"
    assert sent.headers["x-title"] == "My App"
    assert {k: sent.body[k] for k in extras} == extras
    assert (sent.body["temperature"], sent.body["seed"]) == (0.1, 3)


def test_key_and_base_from_the_environment(emulator: Emulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", emulator.api_key)
    monkeypatch.setenv("OPENROUTER_API_BASE", emulator.base_url("openrouter"))
    resp = llmrelay.completion(model="openrouter/anthropic/claude-sonnet-4.5",
                               messages=[{"role": "user", "content": "x"}])
    assert resp.provider == "Anthropic"


@pytest.mark.parametrize("mode", MODES)
def test_n_is_fanned_out(mode: str, emulator: Emulator) -> None:
    one = call(mode, **openrouter(emulator))
    resp = call(mode, **openrouter(emulator, n=3))
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert emulator.count("openrouter") == 4
    assert all("n" not in r.body for r in emulator.requests)
    assert resp.usage.total_tokens == 3 * one.usage.total_tokens


@pytest.mark.parametrize("mode", MODES)
def test_reasoning(mode: str, emulator: Emulator) -> None:
    kw = openrouter(emulator, model="openrouter/anthropic/claude-sonnet-4.5",
                    reasoning={"effort": "high"})
    resp = call(mode, **kw)
    thinking = "The user wrote: Hi there. A short friendly answer will do."
    assert resp.choices[0].message.reasoning_content == thinking
    assert resp.usage.completion_tokens_details.reasoning_tokens == 11
    chunks = call(mode, **kw, stream=True)
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].message.reasoning_content == thinking
    assert built.choices[0].message.content == resp.choices[0].message.content


@pytest.mark.parametrize("mode", MODES)
def test_stream_tool_call_usage_only_when_asked(mode: str, emulator: Emulator) -> None:
    plain = call(mode, **openrouter(emulator, stream=True, tools=TOOLS))
    assert all(c.usage is None for c in plain)
    chunks = call(mode, **openrouter(emulator, stream=True, tools=TOOLS,
                                     stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert [c for c in chunks if c.usage is not None] == [chunks[-1]]
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].finish_reason == "tool_calls"
    tool = built.choices[0].message.tool_calls[0]
    assert (tool.function.name, tool.function.arguments) == ("get_weather", '{"city": "city-1"}')
    assert [c.choices[0].finish_reason for c in chunks if c.choices].count("tool_calls") == 1


@pytest.mark.parametrize("mode", MODES)
def test_wrong_key_gets_openrouters_401(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as info:
        call(mode, **openrouter(emulator, api_key="sk-or-wrong"))
    assert info.value.message == "No auth credentials found"
    assert info.value.response == {"error": {"message": "No auth credentials found", "code": 401}}


def test_invalid_model(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="is not a valid model ID"):
        call("sync", **openrouter(emulator, model="openrouter/openai/missing-model"))


@pytest.mark.parametrize(
    ("status", "cls", "attempts"),
    [
        (400, llmrelay.BadRequestError, 1),
        (402, llmrelay.BadRequestError, 1),
        (403, llmrelay.PermissionDeniedError, 1),
        (404, llmrelay.NotFoundError, 1),
        (408, llmrelay.Timeout, 2),
        (429, llmrelay.RateLimitError, 2),
        (502, llmrelay.InternalServerError, 2),
        (503, llmrelay.ServiceUnavailableError, 2),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_error_statuses(mode: str, status: int, cls: type[Exception], attempts: int,
                        emulator: Emulator) -> None:
    emulator.fail(status, times=5, provider="openrouter", headers={"retry-after": "0"})
    with pytest.raises(cls) as info:
        call(mode, **openrouter(emulator, num_retries=1))
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert emulator.count("openrouter") == attempts


def test_upstream_rate_limit_message_and_retry_after(emulator: Emulator) -> None:
    emulator.fail(429, provider="openrouter")
    with pytest.raises(llmrelay.RateLimitError) as info:
        call("sync", **openrouter(emulator, num_retries=0))
    assert info.value.message.startswith("Provider returned error (OpenAI): ")
    assert info.value.retry_after == 0.0


@pytest.mark.parametrize(("status", "cls"), [(429, llmrelay.RateLimitError),
                                             (502, llmrelay.InternalServerError)])
@pytest.mark.parametrize("mode", MODES)
def test_mid_stream_error_chunk(mode: str, status: int, cls: type[Exception],
                                emulator: Emulator) -> None:
    emulator.stream_error(status=status, provider="openrouter")
    with pytest.raises(cls):
        call(mode, **openrouter(emulator, stream=True))


@pytest.mark.parametrize("mode", MODES)
def test_dropped_connection(mode: str, emulator: Emulator) -> None:
    emulator.drop(provider="openrouter")
    with pytest.raises(llmrelay.APIConnectionError):
        call(mode, **openrouter(emulator, num_retries=0))
