"""The official clients pointed at the family emulator: ``mistralai`` and ``groq`` for their
providers, ``openai`` for the rest. Their response models must parse every answer and stream
the emulator gives, their error classes must follow its statuses, and the bodies llmrelay
sends must validate against their request types."""

from __future__ import annotations

import asyncio
from typing import Any

import groq
import openai
import pytest
from groq.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionUserMessageParam,
    completion_create_params,
)
from mistralai.client import Mistral, errors, models

import llmrelay
from llmrelay.testing import Emulator
from tests.providers.compat.family import FAMILY, THOUGHT, TOOLS, at

MODES = ["sync", "async"]
MESSAGES: list[Any] = [{"role": "user", "content": "Hi there"}]
TEXT = "Hello from the emulator. You said: Hi there"
ERRORS = [400, 401, 403, 404, 422, 429, 500, 503]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---- mistralai ------------------------------------------------------------------------------


def mistral(emu: Emulator, key: str | None = None) -> Mistral:
    return Mistral(api_key=key or emu.api_key, server_url=emu.url + "/mistral")


def mistral_complete(emu: Emulator, mode: str, **kw: Any) -> Any:
    kw.setdefault("model", "mistral-small-latest")
    kw.setdefault("messages", MESSAGES)
    if mode == "sync":
        return mistral(emu, kw.pop("key", None)).chat.complete(**kw)
    client = mistral(emu, kw.pop("key", None))
    return run(client.chat.complete_async(**kw))


def mistral_stream(emu: Emulator, mode: str, **kw: Any) -> list[Any]:
    kw.setdefault("model", "mistral-small-latest")
    kw.setdefault("messages", MESSAGES)
    if mode == "sync":
        return list(mistral(emu).chat.stream(**kw))

    async def collect() -> list[Any]:
        return [e async for e in await mistral(emu).chat.stream_async(**kw)]

    return run(collect())


@pytest.mark.parametrize("mode", MODES)
def test_mistral_parses_answers(mode: str, emulator: Emulator) -> None:
    resp = mistral_complete(emulator, mode)
    assert isinstance(resp, models.ChatCompletionResponse)
    assert resp.choices[0].message.content == TEXT and resp.usage.total_tokens > 0
    tool = mistral_complete(emulator, mode, tools=TOOLS, tool_choice="any")
    call = tool.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments, len(call.id)) == (
        "get_weather", '{"city": "city-1"}', 9)
    think = mistral_complete(emulator, mode, model="magistral-medium-latest")
    thinking, text = think.choices[0].message.content
    assert isinstance(thinking, models.ThinkChunk) and isinstance(text, models.TextChunk)
    assert (thinking.thinking[0].text, text.text) == (THOUGHT, TEXT)


@pytest.mark.parametrize("mode", MODES)
def test_mistral_parses_streams(mode: str, emulator: Emulator) -> None:
    events = mistral_stream(emulator, mode, model="magistral-medium-latest")
    chunks = [e.data for e in events]
    assert all(isinstance(c, models.CompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content for c in chunks
                   if isinstance(c.choices[0].delta.content, str)) == TEXT
    assert chunks[-1].usage is not None and chunks[-1].choices[0].finish_reason == "stop"
    tools = [e.data for e in mistral_stream(emulator, mode, tools=TOOLS)]
    calls = [tc for c in tools for tc in c.choices[0].delta.tool_calls or []]
    assert [c.function.arguments for c in calls] == ['{"city": "city-1"}']


@pytest.mark.parametrize("status", ERRORS)
def test_mistral_errors(status: int, emulator: Emulator) -> None:
    emulator.fail(status, provider="mistral")
    expected = errors.HTTPValidationError if status == 422 else errors.SDKError
    with pytest.raises(expected) as info:
        mistral(emulator).chat.complete(model="mistral-small-latest", messages=MESSAGES,
                                        retries=None)
    assert info.value.raw_response.status_code == status
    with pytest.raises(errors.SDKError):
        mistral_complete(emulator, "sync", key="wrong-key")


def mistral_message_model(message: dict[str, Any]) -> type[Any]:
    return {"system": models.SystemMessage, "user": models.UserMessage,
            "assistant": models.AssistantMessage, "tool": models.ToolMessage}[message["role"]]


LLMRELAY_CALLS: list[dict[str, Any]] = [
    {},
    {"seed": 3, "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 30, "stop": ["x"],
     "n": 2, "presence_penalty": 0.1, "frequency_penalty": 0.1, "safe_prompt": True},
    {"tools": TOOLS, "tool_choice": "required", "parallel_tool_calls": False},
    {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    {"response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {
        "type": "object", "properties": {"a": {"type": "string"}}}, "strict": True}}},
    {"stream": True, "stream_options": {"include_usage": True}},
    {"messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}], "name": "ann"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_Zx81kLq0aW2mN4pR7sT9vB3c", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_Zx81kLq0aW2mN4pR7sT9vB3c", "content": "sunny"}],
     "tools": TOOLS},
]


@pytest.mark.parametrize("params", LLMRELAY_CALLS)
def test_llmrelay_requests_validate_as_mistral_requests(params: dict[str, Any],
                                                        emulator: Emulator) -> None:
    result = llmrelay.completion(**at(emulator, "mistral", **{"messages": MESSAGES, **params}))
    if params.get("stream"):
        list(result)  # type: ignore[call-overload]
    body = emulator.requests[-1].body
    request_model = (models.ChatCompletionStreamRequest if body.get("stream")
                     else models.ChatCompletionRequest)
    request_model.model_validate(body)
    assert set(body) <= set(request_model.model_fields)  # the API refuses any other field
    for message in body["messages"]:
        message_model = mistral_message_model(message)
        message_model.model_validate(message)
        assert set(message) <= set(message_model.model_fields)


# ---- groq -----------------------------------------------------------------------------------


def groq_create(emu: Emulator, mode: str, stream: bool = False, **kw: Any) -> Any:
    key = kw.pop("api_key", emu.api_key)
    kw.setdefault("model", "llama-3.3-70b-versatile")
    kw.setdefault("messages", MESSAGES)
    if mode == "sync":
        with groq.Groq(api_key=key, base_url=emu.url, max_retries=0) as client:
            result = client.chat.completions.create(stream=stream, **kw)
            return list(result) if stream else result

    async def go() -> Any:
        async with groq.AsyncGroq(api_key=key, base_url=emu.url, max_retries=0) as client:
            result = await client.chat.completions.create(stream=stream, **kw)
            return [c async for c in result] if stream else result

    return run(go())


@pytest.mark.parametrize("mode", MODES)
def test_groq_parses_answers_and_streams(mode: str, emulator: Emulator) -> None:
    resp = groq_create(emulator, mode, model="openai/gpt-oss-120b")
    assert resp.choices[0].message.content == TEXT
    assert resp.choices[0].message.reasoning == THOUGHT
    assert resp.x_groq.id.startswith("req_") and resp.usage.queue_time > 0  # type: ignore[union-attr]
    tool = groq_create(emulator, mode, tools=TOOLS).choices[0].message.tool_calls[0]
    assert tool.function.arguments == '{"city": "city-1"}'
    chunks = groq_create(emulator, mode, stream=True, model="openai/gpt-oss-120b")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert "".join(c.choices[0].delta.reasoning or "" for c in chunks if c.choices) == THOUGHT
    assert chunks[0].x_groq.seed is not None and chunks[-1].x_groq.usage.total_tokens > 0


@pytest.mark.parametrize("mode", MODES)
def test_groq_refusals(mode: str, emulator: Emulator) -> None:
    with pytest.raises(groq.BadRequestError, match="must be at most 1"):
        groq_create(emulator, mode, n=2)
    with pytest.raises(groq.BadRequestError) as info:
        groq_create(emulator, mode, tools=[{"type": "function", "function": {
            "name": "broken_lookup", "parameters": {"type": "object", "properties": {}}}}])
    assert info.value.body["error"]["code"] == "tool_use_failed"  # type: ignore[index]
    with pytest.raises(groq.AuthenticationError):
        groq_create(emulator, mode, api_key="wrong")


@pytest.mark.parametrize("status", ERRORS)
def test_groq_errors(status: int, emulator: Emulator) -> None:
    emulator.fail(status, provider="groq")
    with pytest.raises(groq.APIStatusError) as info:
        groq_create(emulator, "sync")
    assert info.value.status_code == status


def groq_keys(typed: Any) -> set[str]:
    return set(typed.__required_keys__ | typed.__optional_keys__)


GROQ_MESSAGES = {
    "system": ChatCompletionSystemMessageParam,
    "user": ChatCompletionUserMessageParam,
    "assistant": ChatCompletionAssistantMessageParam,
    "tool": ChatCompletionToolMessageParam,
}


@pytest.mark.parametrize("params", LLMRELAY_CALLS)
def test_llmrelay_requests_fit_groq_request_types(params: dict[str, Any],
                                                  emulator: Emulator) -> None:
    params = {k: v for k, v in params.items() if k != "safe_prompt"}
    result = llmrelay.completion(**at(emulator, "groq", **{"messages": MESSAGES, **params}))
    if params.get("stream"):
        list(result)  # type: ignore[call-overload]
    for request in emulator.requests:
        body = request.body
        # stream_options is documented on the SDK's chunk type, not its request type.
        assert set(body) - {"stream_options"} <= groq_keys(
            completion_create_params.CompletionCreateParams)
        for message in body["messages"]:
            assert set(message) <= groq_keys(GROQ_MESSAGES[message["role"]])


# ---- openai for the rest --------------------------------------------------------------------

OPENAI_COMPATIBLE = ["deepseek", "xai", "together_ai", "fireworks_ai", "perplexity", "ollama",
                     "hosted_vllm"]


def openai_create(emu: Emulator, name: str, mode: str, stream: bool = False, **kw: Any) -> Any:
    key = kw.pop("api_key", emu.api_key)
    kw.setdefault("model", FAMILY[name].model.split("/", 1)[1])
    kw.setdefault("messages", MESSAGES)
    base = emu.base_url(name)
    if mode == "sync":
        with openai.OpenAI(api_key=key, base_url=base, max_retries=0) as client:
            result = client.chat.completions.create(stream=stream, **kw)
            return list(result) if stream else result

    async def go() -> Any:
        async with openai.AsyncOpenAI(api_key=key, base_url=base, max_retries=0) as client:
            result = await client.chat.completions.create(stream=stream, **kw)
            return [c async for c in result] if stream else result

    return run(go())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", OPENAI_COMPATIBLE)
def test_openai_sdk_parses_answers_and_streams(name: str, mode: str, emulator: Emulator) -> None:
    resp = openai_create(emulator, name, mode)
    assert isinstance(resp, openai.types.chat.ChatCompletion)
    assert resp.choices[0].message.content == TEXT
    chunks = openai_create(emulator, name, mode, stream=True,
                           stream_options={"include_usage": True})
    assert all(isinstance(c, openai.types.chat.ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert any(c.usage is not None and c.usage.total_tokens > 0 for c in chunks)
    if name != "perplexity":
        tool = openai_create(emulator, name, mode, tools=TOOLS).choices[0].message.tool_calls[0]
        assert tool.function.arguments == '{"city": "city-1"}'


@pytest.mark.parametrize("status", ERRORS)
@pytest.mark.parametrize("name", OPENAI_COMPATIBLE)
def test_openai_sdk_errors(name: str, status: int, emulator: Emulator) -> None:
    emulator.fail(status, provider=name)
    with pytest.raises(openai.APIStatusError) as info:
        openai_create(emulator, name, "sync")
    assert info.value.status_code == status


@pytest.mark.parametrize(("name", "cls"), [
    ("deepseek", openai.AuthenticationError), ("xai", openai.BadRequestError),
    ("together_ai", openai.AuthenticationError), ("fireworks_ai", openai.AuthenticationError),
    ("perplexity", openai.AuthenticationError), ("hosted_vllm", openai.AuthenticationError)])
def test_openai_sdk_wrong_key(name: str, cls: type[Exception], emulator: Emulator) -> None:
    with pytest.raises(cls):
        openai_create(emulator, name, "sync", api_key="wrong")


def test_openai_sdk_reads_reasoning_extras(emulator: Emulator) -> None:
    resp = openai_create(emulator, "deepseek", "sync", model="deepseek-reasoner")
    assert resp.choices[0].message.reasoning_content == THOUGHT  # type: ignore[attr-defined]
    chunks = openai_create(emulator, "ollama", "sync", stream=True, model="qwen3:0.6b")
    assert "".join(getattr(c.choices[0].delta, "reasoning", None) or ""
                   for c in chunks if c.choices) == THOUGHT
