"""The official ``cohere`` SDK (v2 client) pointed at our emulator: it must parse every
answer and stream the emulator gives, and raise its own exception class for each scripted error.

This proves the emulator speaks Cohere's wire format, so the round-trip tests against it mean
something. The SDK is test-only; llmrelay never imports it.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterator

import httpx
import pytest

cohere = pytest.importorskip("cohere")
from cohere import errors as co_errors  # noqa: E402
from cohere.types import (  # noqa: E402
    Citation,
    LogprobItem,
    TextAssistantMessageResponseContentItem,
    ThinkingAssistantMessageResponseContentItem,
    ToolCallV2,
    ToolSource,
    Usage,
)
from cohere.v2.types import v2chat_stream_response as events  # noqa: E402

from llmrelay.testing import Emulator  # noqa: E402

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
HI = [{"role": "user", "content": "Hi there"}]
# The SDK's own pydantic-v1-style code warns on every parse; that is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")
KNOWN_EVENTS = tuple(getattr(events, name) for name in dir(events) if name.endswith("V2ChatStreamResponse")
                     and name != "V2ChatStreamResponse")


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Any]:
    http = httpx.Client()
    yield cohere.ClientV2(api_key=emulator.api_key, base_url=emulator.url, httpx_client=http,
                          max_retries=0)
    http.close()


@pytest.fixture(autouse=True)
def _no_sdk_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The SDK logs (and skips) any stream event it cannot parse; none may be skipped."""
    with caplog.at_level(logging.WARNING):
        yield
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_chat_text(client: Any) -> None:
    resp = client.chat(model="command-r", messages=HI, max_tokens=50)
    assert resp.finish_reason == "COMPLETE"
    (part,) = resp.message.content
    assert isinstance(part, TextAssistantMessageResponseContentItem)
    assert part.text == "Hello from the emulator. You said: Hi there"
    assert isinstance(resp.usage, Usage)
    assert resp.usage.tokens.input_tokens == 68 and resp.usage.billed_units.output_tokens == 8


def test_chat_tool_call_and_results(client: Any) -> None:
    first = client.chat(model="command-r", messages=[{"role": "user", "content": "Weather?"}],
                        tools=[WEATHER], tool_choice="REQUIRED")
    assert first.finish_reason == "TOOL_CALL"
    assert first.message.tool_plan == "I will use the get_weather tool to answer this."
    (call,) = first.message.tool_calls
    assert isinstance(call, ToolCallV2) and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "city-1"}
    second = client.chat(model="command-r", tools=[WEATHER], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_plan": first.message.tool_plan,
         "tool_calls": [call.dict()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Rain"}])
    assert second.finish_reason == "COMPLETE"
    (citation,) = second.message.citations
    assert isinstance(citation, Citation) and citation.text == "Rain"
    assert isinstance(citation.sources[0], ToolSource)
    assert citation.sources[0].id == f"{call.id}:0"


def test_chat_reasoning_and_logprobs(client: Any) -> None:
    resp = client.chat(model="command-a-reasoning-08-2025", messages=HI, logprobs=True)
    thinking, text = resp.message.content
    assert isinstance(thinking, ThinkingAssistantMessageResponseContentItem)
    assert isinstance(text, TextAssistantMessageResponseContentItem)
    assert all(isinstance(item, LogprobItem) for item in resp.logprobs)
    assert "".join(item.text for item in resp.logprobs) == text.text


def stream(client: Any, **kwargs: Any) -> list[Any]:
    out = list(client.chat_stream(**{"model": "command-r", "messages": HI, **kwargs}))
    assert all(isinstance(e, KNOWN_EVENTS) for e in out), [type(e) for e in out]
    return out


def test_stream_text_matches_plain(client: Any) -> None:
    plain = client.chat(model="command-r", messages=HI, logprobs=True)
    out = stream(client, logprobs=True)
    assert [e.type for e in out[:2]] == ["message-start", "content-start"]
    assert [e.type for e in out[-2:]] == ["content-end", "message-end"]
    assert "".join(e.delta.message.content.text for e in out if e.type == "content-delta") == \
        plain.message.content[0].text
    assert [e.logprobs for e in out if e.type == "content-delta"] == plain.logprobs
    assert out[-1].delta.finish_reason == "COMPLETE"
    assert out[-1].delta.usage == plain.usage


def test_stream_tool_call(client: Any) -> None:
    out = stream(client, messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER])
    kinds = [e.type for e in out]
    assert kinds[0] == "message-start" and kinds[-1] == "message-end"
    assert kinds.index("tool-plan-delta") < kinds.index("tool-call-start") < kinds.index("tool-call-end")
    start = next(e for e in out if e.type == "tool-call-start")
    assert start.delta.message.tool_calls.function.name == "get_weather"
    arguments = "".join(e.delta.message.tool_calls.function.arguments
                        for e in out if e.type == "tool-call-delta")
    assert json.loads(arguments) == {"city": "city-1"}
    assert out[-1].delta.finish_reason == "TOOL_CALL"


def test_stream_thinking_and_citations(client: Any) -> None:
    out = stream(client, model="command-a-reasoning-08-2025", tools=[WEATHER], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [{"id": "get_weather_1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "get_weather_1", "content": "Rain"}])
    starts = [e.delta.message.content.type for e in out if e.type == "content-start"]
    assert starts == ["thinking", "text"]
    assert any(e.delta.message.content.thinking for e in out if e.type == "content-delta")
    (citation,) = [e.delta.message.citations for e in out if e.type == "citation-start"]
    assert isinstance(citation, Citation) and citation.text == "Rain"
    assert any(e.type == "citation-end" for e in out)


def test_stream_error_in_message_end(client: Any, emulator: Emulator) -> None:
    emulator.stream_error(status=500, provider="cohere")
    out = stream(client)
    assert out[-1].type == "message-end"
    assert out[-1].delta.finish_reason == "ERROR" and out[-1].delta.error == "internal server error"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, co_errors.BadRequestError),
        (403, co_errors.ForbiddenError),
        (404, co_errors.NotFoundError),
        (422, co_errors.UnprocessableEntityError),
        (429, co_errors.TooManyRequestsError),
        (498, co_errors.InvalidTokenError),
        (499, co_errors.ClientClosedRequestError),
        (500, co_errors.InternalServerError),
        (501, co_errors.NotImplementedError),
        (503, co_errors.ServiceUnavailableError),
        (504, co_errors.GatewayTimeoutError),
    ],
)
def test_scripted_errors(client: Any, emulator: Emulator, status: int, cls: type[Exception]) -> None:
    emulator.fail(status, times=2, provider="cohere")
    with pytest.raises(cls) as exc:
        client.chat(model="command-r", messages=HI)
    assert exc.value.status_code == status  # type: ignore[attr-defined]
    assert set(exc.value.body) == {"id", "message"}  # type: ignore[attr-defined]
    with pytest.raises(cls):
        list(client.chat_stream(model="command-r", messages=HI))


def test_auth_and_model_errors(client: Any, emulator: Emulator) -> None:
    with httpx.Client() as http:
        wrong = cohere.ClientV2(api_key="co-wrong", base_url=emulator.url, httpx_client=http)
        with pytest.raises(co_errors.UnauthorizedError) as exc:
            wrong.chat(model="command-r", messages=HI)
    assert exc.value.body == {"message": "invalid api token"}
    with pytest.raises(co_errors.NotFoundError) as missing:
        client.chat(model="missing-model", messages=HI)
    assert missing.value.body["message"].startswith("model 'missing-model' not found")


async def test_async_client(emulator: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        client = cohere.AsyncClientV2(api_key=emulator.api_key, base_url=emulator.url,
                                      httpx_client=http, max_retries=0)
        resp = await client.chat(model="command-r", messages=HI, tools=[WEATHER])
        assert resp.finish_reason == "TOOL_CALL"
        out = [e async for e in client.chat_stream(model="command-r", messages=HI)]
        assert all(isinstance(e, KNOWN_EVENTS) for e in out)
        assert out[-1].delta.finish_reason == "COMPLETE"
        emulator.fail(429, provider="cohere")
        with pytest.raises(co_errors.TooManyRequestsError):
            await client.chat(model="command-r", messages=HI)
