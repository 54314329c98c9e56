"""llmrelay against the Cohere emulator over real loopback sockets, sync and async.

Every test runs once through ``completion`` and once through ``acompletion``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import acall, at

pytestmark = pytest.mark.parametrize("mode", ["sync", "async"])

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
HI = [{"role": "user", "content": "Hi there"}]


async def call(mode: str, emulator: Emulator, **kwargs: Any) -> Any:
    """One call; streams are read to the end into a list of chunks."""
    return await acall(mode, **{"model": "command-r", "messages": HI, **at(emulator, "cohere"),
                                **kwargs})


def sent(emulator: Emulator) -> dict[str, Any]:
    body = emulator.requests[-1].body
    assert isinstance(body, dict)
    return body


async def test_text(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, model="cohere/command-a-03-2025",
                      messages=[{"role": "system", "content": "Be brief."}, *HI],
                      temperature=0.2, max_tokens=50, top_p=1)
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "command-a-03-2025"
    # tokens.* (template included) are the counts; billed_units ride along.
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (2 + 2 + 66, 8)
    assert resp.usage.billed_units == {"input_tokens": 4, "output_tokens": 8}
    request = emulator.requests[-1]
    assert request.path == "/v2/chat"
    assert request.headers["authorization"] == f"Bearer {emulator.api_key}"
    assert sent(emulator) == {"model": "command-a-03-2025", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}],
        "max_tokens": 50, "temperature": 0.2, "p": 0.99, "stream": False}


async def test_tool_call_then_results(mode: str, emulator: Emulator) -> None:
    first = await call(mode, emulator, messages=[{"role": "user", "content": "Weather in Paris?"}],
                       tools=[WEATHER], tool_choice="required")
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert message.reasoning_content == "I will use the get_weather tool to answer this."
    (tool_call,) = message.tool_calls
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "city-1"}
    assert sent(emulator)["tool_choice"] == "REQUIRED"
    history = [{"role": "user", "content": "Weather in Paris?"}, message.model_dump(exclude_none=True),
               {"role": "tool", "tool_call_id": tool_call.id, "content": "Rain, 12 C"}]
    second = await call(mode, emulator, messages=history, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "According to the tools: Rain, 12 C."
    citation = second.choices[0].message.citations[0]
    assert citation["text"] == "Rain, 12 C"
    assert citation["sources"][0]["id"] == f"{tool_call.id}:0"
    assistant = sent(emulator)["messages"][1]
    assert assistant == {"role": "assistant", "tool_plan": message.reasoning_content,
                         "tool_calls": [tool_call.model_dump()]}


async def test_stream_text_with_usage(mode: str, emulator: Emulator) -> None:
    plain = await call(mode, emulator)
    chunks = await call(mode, emulator, stream=True, stream_options={"include_usage": True})
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].message.content == plain.choices[0].message.content
    assert built.usage == plain.usage
    assert "stream_options" not in sent(emulator) and sent(emulator)["stream"] is True


async def test_stream_without_usage(mode: str, emulator: Emulator) -> None:
    chunks = await call(mode, emulator, stream=True)
    assert all(c.usage is None and c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_stream_tool_call_rebuilt(mode: str, emulator: Emulator) -> None:
    kwargs: dict[str, Any] = dict(messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER])
    plain = await call(mode, emulator, **kwargs)
    chunks = await call(mode, emulator, stream=True, **kwargs)
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.tool_calls) > 2
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].finish_reason == "tool_calls"
    assert built.choices[0].message.tool_calls == plain.choices[0].message.tool_calls
    assert built.choices[0].message.reasoning_content == plain.choices[0].message.reasoning_content


async def test_reasoning_model(mode: str, emulator: Emulator) -> None:
    kwargs: dict[str, Any] = dict(model="command-a-reasoning-08-2025")
    plain = await call(mode, emulator, **kwargs)
    assert plain.choices[0].message.reasoning_content == "The user wrote: Hi there. I should answer."
    assert plain.choices[0].message.content.startswith("Hello from the emulator")
    built = llmrelay.stream_chunk_builder(await call(mode, emulator, stream=True, **kwargs))
    assert built.choices[0].message.reasoning_content == plain.choices[0].message.reasoning_content
    assert built.choices[0].message.content == plain.choices[0].message.content
    off = await call(mode, emulator, thinking={"type": "disabled"}, **kwargs)
    assert getattr(off.choices[0].message, "reasoning_content", None) is None
    assert sent(emulator)["thinking"] == {"type": "disabled"}


async def test_legacy_functions(mode: str, emulator: Emulator) -> None:
    kwargs: dict[str, Any] = dict(functions=[WEATHER["function"]], function_call="auto")
    plain = await call(mode, emulator, **kwargs)
    assert plain.choices[0].finish_reason == "function_call"
    assert plain.choices[0].message.tool_calls is None
    assert plain.choices[0].message.function_call.name == "get_weather"
    built = llmrelay.stream_chunk_builder(await call(mode, emulator, stream=True, **kwargs))
    assert built.choices[0].message.function_call == plain.choices[0].message.function_call
    assert built.choices[0].finish_reason == "function_call"


async def test_n_fans_out(mode: str, emulator: Emulator) -> None:
    single = await call(mode, emulator)
    resp = await call(mode, emulator, n=3)
    assert emulator.count("cohere") == 4
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert resp.usage.prompt_tokens == 3 * single.usage.prompt_tokens
    assert resp.usage.billed_units["input_tokens"] == 3 * single.usage.billed_units["input_tokens"]
    assert all("n" not in r.body for r in emulator.requests)


async def test_limits_stops_and_formats(mode: str, emulator: Emulator) -> None:
    short = await call(mode, emulator, max_completion_tokens=2)
    assert (short.choices[0].message.content, short.choices[0].finish_reason) == ("Hello from", "length")
    stopped = await call(mode, emulator, stop="emulator")
    assert (stopped.choices[0].message.content, stopped.choices[0].finish_reason) == ("Hello from the ", "stop")
    assert sent(emulator)["stop_sequences"] == ["emulator"]
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    shaped = await call(mode, emulator, response_format={"type": "json_schema", "json_schema": {
        "name": "person", "schema": schema}})
    assert json.loads(shaped.choices[0].message.content) == {"name": "name-1", "age": 1}
    assert sent(emulator)["response_format"] == {"type": "json_object", "json_schema": schema}


async def test_logprobs(mode: str, emulator: Emulator) -> None:
    plain = await call(mode, emulator, logprobs=True)
    tokens = plain.choices[0].logprobs["content"]
    assert "".join(t["token"] for t in tokens) == plain.choices[0].message.content
    assert all(t["logprob"] < 0 for t in tokens)
    chunks = await call(mode, emulator, logprobs=True, stream=True)
    streamed = [e for c in chunks if c.choices and c.choices[0].logprobs
                for e in c.choices[0].logprobs["content"]]
    assert streamed == tokens


async def test_unsupported_params_fail_before_sending(mode: str, emulator: Emulator) -> None:
    for kwargs in ({"logit_bias": {"1": 1}}, {"user": "u"}, {"top_logprobs": 2},
                   {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}):
        with pytest.raises(llmrelay.UnsupportedParamsError) as exc:
            await call(mode, emulator, **kwargs)
        assert exc.value.provider == "cohere"
    assert emulator.count() == 0
    resp = await call(mode, emulator, logit_bias={"1": 1}, user="u", tools=[WEATHER],
                      tool_choice={"type": "function", "function": {"name": "get_weather"}},
                      drop_params=True)
    assert resp.choices[0].finish_reason == "tool_calls"
    assert set(sent(emulator)) == {"model", "messages", "tools", "stream"}


async def test_extras_pass_through(mode: str, emulator: Emulator) -> None:
    await call(mode, emulator, top_k=5, safety_mode="OFF", documents=["Doc."])
    body = sent(emulator)
    assert (body["k"], body["safety_mode"], body["documents"]) == (5, "OFF", ["Doc."])


async def test_bad_key(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as exc:
        await call(mode, emulator, api_key="co-wrong")
    assert exc.value.status_code == 401 and exc.value.message == "invalid api token"
    assert exc.value.response == {"message": "invalid api token"}
    assert (exc.value.provider, exc.value.model) == ("cohere", "command-r")
    assert emulator.count() == 1


async def test_key_from_environment(mode: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", emulator.api_key)
    monkeypatch.setenv("COHERE_API_BASE", emulator.base_url("cohere"))
    resp = llmrelay.completion(model="command-r", messages=HI) if mode == "sync" else \
        await llmrelay.acompletion(model="command-r", messages=HI)
    assert resp.choices[0].message.content.startswith("Hello")
    monkeypatch.delenv("CO_API_KEY")
    with pytest.raises(llmrelay.AuthenticationError, match="COHERE_API_KEY or CO_API_KEY"):
        await call(mode, emulator, api_key=None)
    assert emulator.count() == 1


async def test_unknown_model(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError) as exc:
        await call(mode, emulator, model="cohere/missing-model")
    assert exc.value.message.startswith("model 'missing-model' not found")
    assert exc.value.request_id == exc.value.response["id"]


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"id": "x", "message": "too many tokens: size limit exceeded by 11326 tokens. Try using "
               "shorter or fewer inputs, or setting prompt_truncation='AUTO'."},
         llmrelay.ContextWindowExceededError),
        (400, None, llmrelay.BadRequestError),
        (402, None, llmrelay.PermissionDeniedError),
        (403, None, llmrelay.PermissionDeniedError),
        (422, None, llmrelay.BadRequestError),
        (498, None, llmrelay.ContentPolicyViolationError),
        (499, None, llmrelay.InternalServerError),
    ],
)
async def test_final_errors(mode: str, emulator: Emulator, status: int, body: Any,
                            cls: type[Exception]) -> None:
    emulator.fail(status, body=body, provider="cohere")
    with pytest.raises(cls) as exc:
        await call(mode, emulator)
    assert type(exc.value) is cls
    assert exc.value.status_code == status  # type: ignore[attr-defined]
    assert exc.value.message == exc.value.response["message"]  # type: ignore[attr-defined]
    assert emulator.count() == 1


async def test_rate_limit_retried(mode: str, emulator: Emulator) -> None:
    # Cohere sends no Retry-After, so this waits one real backoff (about half a second).
    emulator.fail(429, provider="cohere")
    resp = await call(mode, emulator)
    assert resp.choices[0].message.content
    assert emulator.count("cohere") == 2


async def test_server_errors_retried_then_raised(mode: str, emulator: Emulator) -> None:
    emulator.fail(429, times=2, headers={"retry-after": "0"}, provider="cohere")
    with pytest.raises(llmrelay.RateLimitError) as exc:
        await call(mode, emulator, num_retries=1)
    assert exc.value.message == ("You are past the per minute request limit, please wait and "
                                 "try again later.")
    assert emulator.count() == 2
    emulator.reset()
    emulator.fail(503, times=3, headers={"retry-after": "0"}, provider="cohere")
    with pytest.raises(llmrelay.ServiceUnavailableError):
        await call(mode, emulator)
    assert emulator.count() == 3
    emulator.reset()
    emulator.fail(500, headers={"retry-after": "0"}, provider="cohere")
    assert (await call(mode, emulator)).choices[0].finish_reason == "stop"
    assert emulator.count() == 2


async def test_error_mid_stream(mode: str, emulator: Emulator) -> None:
    emulator.stream_error(status=500, provider="cohere")
    with pytest.raises(llmrelay.InternalServerError) as exc:
        await call(mode, emulator, stream=True)
    assert "finish_reason ERROR: internal server error" in exc.value.message
    assert exc.value.provider == "cohere"
    emulator.stream_error(status=504, provider="cohere")
    with pytest.raises(llmrelay.Timeout):
        await call(mode, emulator, stream=True)


async def test_dropped_and_malformed(mode: str, emulator: Emulator) -> None:
    emulator.drop_stream(after=3, provider="cohere")
    with pytest.raises(llmrelay.APIConnectionError):
        await call(mode, emulator, stream=True, num_retries=0)
    emulator.malformed(provider="cohere")
    with pytest.raises(llmrelay.APIError) as exc:
        await call(mode, emulator, num_retries=0)
    assert exc.value.status_code == 200
    emulator.malformed(body=b'{"id": "x", "finish_reason": "COMPLETE"}', provider="cohere")
    with pytest.raises(llmrelay.APIError, match="without a message object"):
        await call(mode, emulator, num_retries=0)
