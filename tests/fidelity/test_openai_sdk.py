"""The official ``openai`` SDK pointed at the OpenAI, Azure and OpenRouter emulators: it parses
every response and stream they produce and raises its own class for every scripted error."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import openai
import pytest

from llmrelay.testing import Emulator

TOOLS: list[Any] = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
MESSAGES: list[Any] = [{"role": "user", "content": "Hi there"}]

# (client factory, model, provider) for the three APIs, sync clients.
def openai_client(emu: Emulator, cls: type = openai.OpenAI, **kw: Any) -> Any:
    return cls(base_url=emu.base_url("openai"), api_key=kw.pop("api_key", emu.api_key), **kw)


def azure_client(emu: Emulator, cls: type = openai.AzureOpenAI, **kw: Any) -> Any:
    return cls(azure_endpoint=emu.url, api_key=kw.pop("api_key", emu.api_key),
               api_version=kw.pop("api_version", "2024-10-21"), **kw)


def openrouter_client(emu: Emulator, cls: type = openai.OpenAI, **kw: Any) -> Any:
    return cls(base_url=emu.base_url("openrouter"), api_key=kw.pop("api_key", emu.api_key), **kw)


APIS: dict[str, tuple[Callable[..., Any], type, str]] = {
    "openai": (openai_client, openai.AsyncOpenAI, "gpt-4o-mini"),
    "azure": (azure_client, openai.AsyncAzureOpenAI, "gpt-4o"),
    "openrouter": (openrouter_client, openai.AsyncOpenAI, "openai/gpt-4o-mini"),
}
MODES = ["sync", "async"]


def create(emu: Emulator, provider: str, mode: str, stream: bool = False, **kw: Any) -> Any:
    """``chat.completions.create`` through the sync or async client; streams are drained."""
    factory, async_cls, model = APIS[provider]
    client_kw = {k: kw.pop(k) for k in ("api_key", "api_version", "max_retries") if k in kw}
    kw.setdefault("model", model)
    if mode == "sync":
        with factory(emu, **client_kw) as client:
            result = client.chat.completions.create(messages=MESSAGES, stream=stream, **kw)
            return list(result) if stream else result

    async def run() -> Any:
        async with factory(emu, async_cls, **client_kw) as client:
            result = await client.chat.completions.create(messages=MESSAGES, stream=stream, **kw)
            return [c async for c in result] if stream else result

    return asyncio.run(run())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_completion_is_parsed(provider: str, mode: str, emulator: Emulator) -> None:
    resp = create(emulator, provider, mode, max_tokens=50)
    assert isinstance(resp, openai.types.chat.ChatCompletion)
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.total_tokens == (
        resp.usage.prompt_tokens + resp.usage.completion_tokens)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_tool_call_is_parsed(provider: str, mode: str, emulator: Emulator) -> None:
    resp = create(emulator, provider, mode, tools=TOOLS)
    call = resp.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "city-1"}')
    assert resp.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_stream_is_parsed(provider: str, mode: str, emulator: Emulator) -> None:
    chunks = create(emulator, provider, mode, stream=True,
                    stream_options={"include_usage": True})
    assert all(isinstance(c, openai.types.chat.ChatCompletionChunk) for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the emulator. You said: Hi there"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    if provider == "azure":  # the identity-less prompt-filter event comes first
        assert chunks[0].id == "" and chunks[0].choices == []
        assert chunks[0].prompt_filter_results  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_streamed_tool_call_is_parsed(provider: str, mode: str, emulator: Emulator) -> None:
    chunks = create(emulator, provider, mode, stream=True, tools=TOOLS)
    arguments = "".join(tc.function.arguments or "" for c in chunks if c.choices
                        for tc in c.choices[0].delta.tool_calls or [])
    names = [tc.function.name for c in chunks if c.choices
             for tc in c.choices[0].delta.tool_calls or [] if tc.function.name]
    assert (names, arguments) == (["get_weather"], '{"city": "city-1"}')


ERRORS = [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError),
    (422, openai.UnprocessableEntityError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
]


@pytest.mark.parametrize(("status", "cls"), ERRORS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_scripted_errors_raise_the_sdks_class(provider: str, mode: str, status: int,
                                              cls: type[Exception], emulator: Emulator) -> None:
    emulator.fail(status, provider=provider)
    with pytest.raises(cls) as info:
        create(emulator, provider, mode, max_retries=0)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert isinstance(info.value.body, dict)  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_wrong_key_is_an_authentication_error(provider: str, mode: str,
                                              emulator: Emulator) -> None:
    with pytest.raises(openai.AuthenticationError):
        create(emulator, provider, mode, api_key="wrong", max_retries=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_dropped_connection_is_a_connection_error(provider: str, mode: str,
                                                  emulator: Emulator) -> None:
    emulator.drop(provider=provider)
    with pytest.raises(openai.APIConnectionError):
        create(emulator, provider, mode, max_retries=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(APIS))
def test_mid_stream_error_is_raised(provider: str, mode: str, emulator: Emulator) -> None:
    emulator.stream_error(status=500, provider=provider)
    with pytest.raises(openai.APIError):
        create(emulator, provider, mode, stream=True, max_retries=0)


@pytest.mark.parametrize(
    ("provider", "kw", "cls"),
    [
        ("openai", {"model": "missing-model"}, openai.NotFoundError),
        ("azure", {"model": "missing-deployment"}, openai.NotFoundError),
        ("azure", {"api_version": "2019-01-01"}, openai.BadRequestError),
        ("openrouter", {"model": "openai/missing-model"}, openai.BadRequestError),
        ("openai", {"model": "o3-mini", "temperature": 0.5}, openai.BadRequestError),
    ],
)
def test_emulated_rejections(provider: str, kw: dict[str, Any], cls: type[Exception],
                             emulator: Emulator) -> None:
    with pytest.raises(cls):
        create(emulator, provider, "sync", max_retries=0, **kw)
