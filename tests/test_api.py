"""The public call: routing, validation before any request, parameters, response shape."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]


def openai_kwargs(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("o3-mini", ("openai", "o3-mini")),
        ("openai/my-finetune", ("openai", "my-finetune")),
        ("azure/my-deployment", ("azure", "my-deployment")),
        ("claude-3-5-sonnet-20241022", ("anthropic", "claude-3-5-sonnet-20241022")),
        ("anthropic/claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5")),
        ("command-r-plus", ("cohere", "command-r-plus")),
        ("cohere/command-a-03-2025", ("cohere", "command-a-03-2025")),
        ("replicate/meta/meta-llama-3-8b-instruct", ("replicate", "meta/meta-llama-3-8b-instruct")),
        ("replicate/owner/name:abc123", ("replicate", "owner/name:abc123")),
        ("openrouter/openai/gpt-4o", ("openrouter", "openai/gpt-4o")),
    ],
)
def test_get_provider_routes_every_documented_form(model: str, expected: tuple[str, str]) -> None:
    assert llmrelay.get_provider(model) == expected


def test_azure_flag_routes_a_bare_deployment() -> None:
    from llmrelay.registry import get_provider

    assert get_provider("prod-gpt4o", azure=True) == ("azure", "prod-gpt4o")


@pytest.mark.parametrize("model", ["mystery-model", "nope/x", "", "openai/"])
def test_unknown_model_lists_the_prefixes(model: str) -> None:
    with pytest.raises(llmrelay.BadRequestError) as info:
        llmrelay.get_provider(model)
    if model not in ("", "openai/"):
        for prefix in ("openai/", "azure/", "anthropic/", "cohere/", "replicate/", "openrouter/"):
            assert prefix in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_missing_key_names_the_env_var_before_any_request(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as info:
        call(mode, model="gpt-4o-mini", api_base=emulator.base_url("openai"))
    assert "OPENAI_API_KEY" in info.value.message
    assert emulator.count() == 0


def test_key_and_base_come_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
    monkeypatch.setenv("OPENAI_API_BASE", emulator.base_url("openai"))
    resp = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES)
    assert resp.choices[0].message.content
    assert emulator.requests[0].headers["authorization"] == f"Bearer {emulator.api_key}"


def test_explicit_key_wins_over_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-wrong")
    resp = llmrelay.completion(**openai_kwargs(emulator), messages=MESSAGES)
    assert resp.choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "non-empty list"),
        (None, "non-empty list"),
        ("hello", "non-empty list"),
        ([{"role": "wizard", "content": "hi"}], "role"),
        ([{"content": "hi"}], "role"),
        (["hi"], "must be an object"),
        ([{"role": "user", "content": 42}], "content must be"),
        ([{"role": "user"}], "content is required"),
        ([{"role": "user", "content": [{"type": "video", "url": "x"}]}], "known type"),
        ([{"role": "user", "content": [{"type": "text"}]}], "text must be a string"),
        ([{"role": "tool", "content": "42"}], "tool_call_id"),
        ([{"role": "function", "content": "42"}], "needs a name"),
        ([{"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "function": {}}]}],
         "function.name"),
        ([{"role": "assistant", "content": None,
           "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"a": 1}}}]}],
         "JSON string"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_malformed_messages_fail_before_any_request(
    mode: str, messages: Any, fragment: str, emulator: Emulator
) -> None:
    with pytest.raises(llmrelay.BadRequestError) as info:
        call(mode, messages=messages, **openai_kwargs(emulator))
    assert fragment in info.value.message
    assert emulator.count() == 0


@pytest.mark.parametrize(
    ("param", "value"),
    [("temperature", "hot"), ("n", 0), ("max_tokens", 1.5), ("stream", "yes"),
     ("stop", [1, 2]), ("tools", [{"type": "function"}]), ("response_format", {"type": "xml"}),
     ("temperature", True)],
)
def test_bad_parameter_types_fail_before_any_request(
    param: str, value: Any, emulator: Emulator
) -> None:
    with pytest.raises(llmrelay.BadRequestError) as info:
        llmrelay.completion(messages=MESSAGES, **openai_kwargs(emulator), **{param: value})
    assert param in info.value.message
    assert emulator.count() == 0


def test_every_openai_parameter_reaches_openai_unchanged(emulator: Emulator) -> None:
    params: dict[str, Any] = {
        "temperature": 0.3, "top_p": 0.9, "n": 2, "stop": ["END"], "max_tokens": 50,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "logit_bias": {"50256": -100},
        "user": "u-1", "seed": 7, "response_format": {"type": "json_object"},
        "logprobs": True, "top_logprobs": 2, "parallel_tool_calls": False,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": "none", "max_completion_tokens": 60, "service_tier": "auto",
    }
    llmrelay.completion(messages=MESSAGES, **openai_kwargs(emulator), **params)
    sent = emulator.requests[0].body
    assert sent == {"model": "gpt-4o-mini", "messages": MESSAGES, **params}


def test_legacy_functions_come_back_as_function_call(emulator: Emulator) -> None:
    functions = [{"name": "lookup", "parameters": {"type": "object",
                                                   "properties": {"q": {"type": "string"}},
                                                   "required": ["q"]}}]
    resp = llmrelay.completion(messages=MESSAGES, functions=functions, function_call="auto",
                               **openai_kwargs(emulator))
    choice = resp.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.function_call.name == "lookup"
    assert choice.message.function_call.arguments == '{"q": "q-1"}'


def test_extra_headers_and_body_are_merged(emulator: Emulator) -> None:
    llmrelay.completion(messages=MESSAGES, extra_headers={"x-trace": "t1"},
                        extra_body={"metadata": {"k": "v"}}, **openai_kwargs(emulator))
    sent = emulator.requests[0]
    assert sent.headers["x-trace"] == "t1"
    assert sent.body["metadata"] == {"k": "v"}


def test_reasoning_models_take_max_completion_tokens(emulator: Emulator) -> None:
    resp = llmrelay.completion(messages=MESSAGES, max_tokens=3,
                               **openai_kwargs(emulator, model="o3-mini"))
    body = emulator.requests[0].body
    assert "max_tokens" not in body and body["max_completion_tokens"] == 3
    assert resp.choices[0].finish_reason == "length"


def test_reasoning_models_refuse_sampling_before_any_request(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError) as info:
        llmrelay.completion(messages=MESSAGES, temperature=0.2,
                            **openai_kwargs(emulator, model="o3-mini"))
    assert info.value.param == "temperature" and "openai" in info.value.message
    assert emulator.count() == 0


def test_drop_params_drops_what_the_model_cannot_take(emulator: Emulator) -> None:
    llmrelay.completion(messages=MESSAGES, temperature=0.2, logprobs=True, drop_params=True,
                        **openai_kwargs(emulator, model="o3-mini"))
    body = emulator.requests[0].body
    assert "temperature" not in body and "logprobs" not in body


def test_default_value_of_a_default_only_param_is_accepted(emulator: Emulator) -> None:
    llmrelay.completion(messages=MESSAGES, temperature=1,
                        **openai_kwargs(emulator, model="o3-mini"))
    assert "temperature" not in emulator.requests[0].body


@pytest.mark.parametrize(
    ("model", "param", "expected"),
    [("o3-mini", "temperature", False), ("gpt-4o", "temperature", True),
     ("o1", "max_tokens", True), ("gpt-5", "logit_bias", False), ("gpt-5-chat-latest", "temperature", True)],
)
def test_supports_reads_the_capability_table(model: str, param: str, expected: bool) -> None:
    assert llmrelay.supports(model, param) is expected


@pytest.mark.parametrize("mode", MODES)
def test_response_has_attribute_dict_access_and_the_openai_shape(
    mode: str, emulator: Emulator
) -> None:
    from openai.types.chat import ChatCompletion

    resp = call(mode, **openai_kwargs(emulator))
    assert resp.choices[0].message.content == resp["choices"][0]["message"]["content"]
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    dumped = resp.model_dump()
    assert dumped["object"] == "chat.completion"
    sdk = ChatCompletion.model_validate(dumped)
    assert sdk.choices[0].message.content == resp.choices[0].message.content
    assert sdk.usage is not None and sdk.usage.total_tokens == resp.usage.total_tokens


@pytest.mark.parametrize("mode", MODES)
def test_native_n_returns_n_choices(mode: str, emulator: Emulator) -> None:
    resp = call(mode, n=3, **openai_kwargs(emulator))
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert emulator.count() == 1


def test_merge_responses_renumbers_choices_and_sums_usage() -> None:
    from llmrelay.fanout import merge_responses
    from llmrelay.types import ModelResponse

    def one(text: str, prompt: int, completion: int) -> ModelResponse:
        return ModelResponse.model_validate({
            "id": "x", "model": "m", "choices": [{"index": 0, "message": {"content": text},
                                                  "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": 1}}})

    merged = merge_responses([one("a", 10, 2), one("b", 10, 3)])
    assert [(c.index, c.message.content) for c in merged.choices] == [(0, "a"), (1, "b")]
    assert merged.usage is not None
    assert (merged.usage.prompt_tokens, merged.usage.completion_tokens,
            merged.usage.total_tokens) == (20, 5, 25)
    assert merged.usage.prompt_tokens_details is not None
    assert merged.usage.prompt_tokens_details.cached_tokens == 2


def test_provider_native_tools_pass_validation_and_reach_the_provider(emulator: Emulator) -> None:
    tools = [{"type": "custom", "custom": {"name": "grammar"}}]
    llmrelay.completion(messages=MESSAGES, tools=tools, **openai_kwargs(emulator))
    assert emulator.requests[0].body["tools"] == tools


def test_a_request_the_adapter_cannot_translate_is_a_bad_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmrelay import registry
    from llmrelay.providers import openai
    from llmrelay.providers.base import Adapter

    def build_request(request: Any, settings: Any) -> Any:
        return request["no-such-field"]  # an adapter tripping over input it did not expect

    broken = Adapter(**{**openai.ADAPTER.__dict__, "name": "broken", "build_request": build_request})
    monkeypatch.setitem(registry.PROVIDERS, "broken", "unused")
    monkeypatch.setitem(registry._loaded, "broken", broken)
    with pytest.raises(llmrelay.BadRequestError) as info:
        llmrelay.completion(model="broken/x", messages=MESSAGES, api_key="k")
    assert "Cannot translate" in info.value.message and info.value.provider == "broken"
