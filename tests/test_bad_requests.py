"""Malformed requests, on every provider: an llmrelay error that names the field, before any
request is sent, never a ``TypeError`` / ``KeyError`` / ... from the translation, and never
the key in the message. Each case here once crashed, hung or was sent (found by fuzzing)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator, aws

MODELS = {
    "openai": "gpt-4o-mini",
    "azure": "azure/gpt-4o",
    "anthropic": "claude-3-7-sonnet-20250219",
    "cohere": "cohere/command-a-03-2025",
    "replicate": "replicate/meta/meta-llama-3-8b-instruct",
    "openrouter": "openrouter/openai/gpt-4o-mini",
    "gemini": "gemini/gemini-2.5-flash",
    "bedrock": "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0",
    "mistral": "mistral/mistral-small-latest",
    "groq": "groq/llama-3.3-70b-versatile",
    "deepseek": "deepseek/deepseek-chat",
    "xai": "xai/grok-3",
    "together_ai": "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "fireworks_ai": "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
    "perplexity": "perplexity/sonar",
    "ollama": "ollama/llama3.2",
    "hosted_vllm": "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
}
EMBEDDERS = {
    "openai": "text-embedding-3-small",
    "cohere": "cohere/embed-v4.0",
    "gemini": "gemini/gemini-embedding-001",
    "bedrock": "bedrock/amazon.titan-embed-text-v2:0",
    "mistral": "mistral/mistral-embed",
    "ollama": "ollama/nomic-embed-text",
}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(**fields: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, **fields}


def connect(emulator: Emulator, provider: str) -> dict[str, Any]:
    if provider == "bedrock":
        return {"api_base": emulator.base_url("bedrock"), "aws_access_key_id": aws.ACCESS_KEY_ID,
                "aws_secret_access_key": aws.SECRET_ACCESS_KEY, "aws_region_name": "us-east-1"}
    return {"api_base": emulator.base_url(provider), "api_key": emulator.api_key}


# (id, keyword arguments of the call, text the message must contain)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("role-unhashable", {"messages": [{"role": ["user"], "content": "x"}]}, "messages[0].role"),
    ("part-type-unhashable", {"messages": [user([{"type": ["text"], "text": "x"}])]},
     "messages[0].content[0]"),
    ("content-empty-list", {"messages": [user([])]}, "messages[0].content"),
    ("tool-calls-int", {"messages": [user("x"), assistant(tool_calls=5)]},
     "messages[1].tool_calls"),
    ("tool-calls-dict", {"messages": [user("x"), assistant(tool_calls={"id": "a"})]},
     "messages[1].tool_calls"),
    ("function-call-str", {"messages": [user("x"), assistant(function_call="f")]},
     "messages[1].function_call"),
    ("function-call-args-dict",
     {"messages": [user("x"), assistant(function_call={"name": "f", "arguments": {}})]},
     "messages[1].function_call"),
    ("name-int", {"messages": [user("x"), {"role": "tool", "tool_call_id": "a", "content": "y",
                                           "name": 5}]}, "messages[1].name"),
    ("surrogate", {"messages": [user("\ud800")]}, "JSON"),
    ("n-huge", {"n": 10 ** 9}, "n must be"),
    ("n-zero", {"n": 0}, "n must be"),
    ("max-tokens-zero", {"max_tokens": 0}, "max_tokens"),
    ("temperature-nan", {"temperature": float("nan")}, "temperature"),
    ("top-p-inf", {"top_p": float("inf")}, "top_p"),
    ("top-k-str", {"top_k": "5"}, "top_k"),
    ("reasoning-effort-dict", {"reasoning_effort": {"a": 1}}, "reasoning_effort"),
    ("tool-parameters-str", {"tools": [{"type": "function", "function": {
        "name": "f", "parameters": "x"}}]}, "tools[0] parameters"),
    ("tool-choice-bogus", {"tools": [TOOL], "tool_choice": "bogus"}, "tool_choice"),
    ("tool-choice-function-str", {"tools": [TOOL], "tool_choice": {
        "type": "function", "function": "f"}}, "tool_choice.function"),
    ("tool-choice-undefined", {"tools": [TOOL], "tool_choice": {
        "type": "function", "function": {"name": "nope"}}}, "'nope'"),
    ("function-call-undefined", {"functions": [{"name": "f"}], "function_call": {"name": "g"}},
     "'g'"),
    ("json-schema-schema-list", {"response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": [1]}}}, "json_schema.schema"),
    ("include-usage-str", {"stream": True, "stream_options": {"include_usage": "yes"}},
     "include_usage"),
    ("logit-bias-key", {"logit_bias": {"abc": 1}}, "logit_bias"),
    ("logit-bias-nan", {"logit_bias": {"1": float("nan")}}, "logit_bias"),
    ("extra-body-str", {"extra_body": "x"}, "extra_body"),
    ("extra-body-list", {"extra_body": [1]}, "extra_body"),
    ("extra-body-unserialisable", {"extra_body": {"x": object()}}, "x is not JSON"),
    ("extra-kwarg-unserialisable", {"bogus_extra": object()}, "bogus"),
    ("extra-headers-str", {"extra_headers": "x"}, "extra_headers"),
    ("extra-headers-value-int", {"extra_headers": {"X-A": 5}}, "extra_headers['X-A']"),
    ("extra-headers-value-none", {"extra_headers": {"X-A": None}}, "extra_headers['X-A']"),
    ("extra-headers-value-dict", {"extra_headers": {"X-A": {"a": 1}}}, "extra_headers['X-A']"),
    ("extra-headers-value-newline", {"extra_headers": {"X-A": "a\r\nX-B: b"}},
     "extra_headers['X-A']"),
    ("extra-headers-value-non-ascii", {"extra_headers": {"X-A": "\u2603"}}, "extra_headers['X-A']"),
    ("extra-headers-name-int", {"extra_headers": {5: "a"}}, "header name"),
    ("extra-headers-name-space", {"extra_headers": {"X A": "a"}}, "header name"),
    ("logger-fn-str", {"logger_fn": "x"}, "logger_fn"),
    ("api-base-int", {"api_base": 5}, "api_base"),
]
# Keys in the message: never quoted back.
SECRET_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("api-key-int", {"api_key": 5}, "api_key"),
    ("api-key-newline", {"api_key": "sk-secret-value\nX-Injected: 1"}, "api_key"),
]
ANTHROPIC_SHAPED = ["anthropic", "bedrock"]
THINKING_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("thinking-int", {"thinking": 5}, "thinking"),
    ("thinking-str", {"thinking": "on"}, "thinking"),
    ("thinking-budget-str", {"thinking": {"type": "enabled", "budget_tokens": "1000"}},
     "thinking"),
    ("thinking-no-budget", {"thinking": {"type": "enabled"}}, "thinking"),
    # Anthropic and Bedrock send thinking blocks back; other providers never read them.
    ("thinking-blocks-int", {"messages": [user("x"), {"role": "assistant", "content": "y",
                                                       "thinking_blocks": 5}, user("z")]},
     "thinking_blocks"),
]


def refused(emulator: Emulator, provider: str, kwargs: dict[str, Any], field: str,
            mode: str = "sync") -> llmrelay.BadRequestError:
    call = {"model": MODELS[provider], "messages": [user("Hi there")],
            **connect(emulator, provider), "num_retries": 0, **kwargs}
    with pytest.raises(llmrelay.BadRequestError) as info:
        if mode == "async":
            asyncio.run(_acall(call))
        else:
            result = llmrelay.completion(**call)
            if call.get("stream"):
                list(result)
    assert field in str(info.value), str(info.value)
    assert emulator.count() == 0
    assert emulator.api_key not in str(info.value)
    return info.value


async def _acall(call: dict[str, Any]) -> Any:
    result = await llmrelay.acompletion(**call)
    if call.get("stream"):
        return [chunk async for chunk in result]
    return result


@pytest.mark.parametrize("provider", list(MODELS))
@pytest.mark.parametrize(("kwargs", "field"), [pytest.param(k, f, id=i) for i, k, f in CASES])
def test_malformed_request_refused_before_sending(emulator: Emulator, provider: str,
                                                  kwargs: dict[str, Any], field: str) -> None:
    refused(emulator, provider, kwargs, field)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "bedrock", "cohere"])
@pytest.mark.parametrize(("kwargs", "field"),
                         [pytest.param(k, f, id=i) for i, k, f in CASES[::4]])
@pytest.mark.parametrize("mode", ["stream", "async"])
def test_malformed_request_refused_streaming_and_async(emulator: Emulator, provider: str,
                                                       kwargs: dict[str, Any], field: str,
                                                       mode: str) -> None:
    if mode == "stream":
        kwargs = {"stream": True, **kwargs}
    refused(emulator, provider, kwargs, field, "async" if mode == "async" else "sync")


@pytest.mark.parametrize("provider", [p for p in MODELS if p != "bedrock"])
@pytest.mark.parametrize(("kwargs", "field"),
                         [pytest.param(k, f, id=i) for i, k, f in SECRET_CASES])
def test_bad_api_key_refused_without_quoting_it(emulator: Emulator, provider: str,
                                                kwargs: dict[str, Any], field: str) -> None:
    error = refused(emulator, provider, kwargs, field)
    assert "sk-secret-value" not in str(error) and "sk-secret-value" not in error.message


@pytest.mark.parametrize("provider", ANTHROPIC_SHAPED)
@pytest.mark.parametrize(("kwargs", "field"),
                         [pytest.param(k, f, id=i) for i, k, f in THINKING_CASES])
def test_malformed_thinking_refused(emulator: Emulator, provider: str, kwargs: dict[str, Any],
                                    field: str) -> None:
    refused(emulator, provider, kwargs, field)


def test_reasoning_content_must_be_text_for_cohere(emulator: Emulator) -> None:
    messages = [user("x"), {"role": "assistant", "content": "y", "reasoning_content": 5}, user("z")]
    refused(emulator, "cohere", {"messages": messages}, "messages[1].reasoning_content")


@pytest.mark.parametrize("provider", ["cohere", "bedrock"])
def test_unknown_tool_type_refused_where_only_functions_go(emulator: Emulator,
                                                           provider: str) -> None:
    refused(emulator, provider, {"tools": [{"type": "bogus"}]}, "'bogus'")


def test_boundary_error_names_provider_and_model(emulator: Emulator) -> None:
    error = refused(emulator, "gemini", {"messages": [user([])]}, "messages[0].content")
    assert (error.provider, error.model) == ("gemini", "gemini-2.5-flash")
    error = refused(emulator, "anthropic", {"tools": [TOOL], "tool_choice": "bogus"}, "tool_choice")
    assert (error.provider, error.model) == ("anthropic", "claude-3-7-sonnet-20250219")


def test_valid_odd_inputs_still_sent(emulator: Emulator) -> None:
    """What OpenAI accepts stays accepted: an assistant turn with tool calls and an empty
    content list, an extra header in plain ASCII, a mode ``tool_choice`` with no tools."""
    kw = {"model": "gpt-4o-mini", **connect(emulator, "openai")}
    llmrelay.completion(**kw, messages=[user("x"), {"role": "assistant", "content": [],
                                                     "tool_calls": [CALL]},
                                        {"role": "tool", "tool_call_id": "call_1",
                                         "content": "sunny"}])
    llmrelay.completion(**kw, messages=[user("x")], extra_headers={"X-Trace": "a b;c=1"},
                        tool_choice="auto", logit_bias={"50256": -100, 42: 5})
    assert emulator.count() == 2


EMBEDDING_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("extra-body-str", {"extra_body": "x"}, "extra_body"),
    ("extra-headers-str", {"extra_headers": "x"}, "extra_headers"),
    ("extra-headers-value-int", {"extra_headers": {"X-A": 1}}, "extra_headers['X-A']"),
    ("api-base-int", {"api_base": 5}, "api_base"),
    ("logger-fn-str", {"logger_fn": 1}, "logger_fn"),
    ("extra-kwarg-unserialisable", {"bogus": object()}, "bogus"),
]


@pytest.mark.parametrize("provider", list(EMBEDDERS))
@pytest.mark.parametrize(("kwargs", "field"),
                         [pytest.param(k, f, id=i) for i, k, f in EMBEDDING_CASES])
def test_malformed_embedding_refused_before_sending(emulator: Emulator, provider: str,
                                                    kwargs: dict[str, Any], field: str) -> None:
    call = {"model": EMBEDDERS[provider], "input": ["hello"], **connect(emulator, provider),
            "num_retries": 0, **kwargs}
    with pytest.raises(llmrelay.BadRequestError) as info:
        llmrelay.embedding(**call)
    assert field in str(info.value), str(info.value)
    assert emulator.count() == 0
