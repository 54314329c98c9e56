"""llmrelay against the Anthropic emulator over real loopback sockets, sync and async.

Every test runs once through ``completion`` and once through ``acompletion``. The emulator
checks what the real API checks (tool_use/tool_result pairing, signed thinking blocks, headers),
so multi-turn tests fail if our translation sends something Anthropic would refuse.
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
CLOCK = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
HI = [{"role": "user", "content": "Hi there"}]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}


async def call(mode: str, emulator: Emulator, **kwargs: Any) -> Any:
    """One call; streams are read to the end into a list of chunks."""
    return await acall(mode, **{"model": "claude-haiku-4-5", "messages": HI, **at(emulator, "anthropic"),
                                **kwargs})


def sent(emulator: Emulator) -> dict[str, Any]:
    body = emulator.requests[-1].body
    assert isinstance(body, dict)
    return body


async def test_text(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, model="anthropic/claude-3-5-haiku-latest",
                      messages=[{"role": "system", "content": "Be brief."}, *HI], max_tokens=50,
                      temperature=0.2, extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "claude-3-5-haiku-20241022"
    assert resp.id.startswith("msg_")
    # 2 system words + 2 user words + 3; the answer has 8 words.
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (7, 8, 15)
    assert resp.usage.prompt_tokens_details.cached_tokens == 0
    request = emulator.requests[-1]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == emulator.api_key
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert "authorization" not in request.headers
    assert sent(emulator) == {"model": "claude-3-5-haiku-latest", "max_tokens": 50, "system": "Be brief.",
                              "messages": [{"role": "user", "content": "Hi there"}], "temperature": 0.2}


async def test_tool_loop_with_parallel_calls(mode: str, emulator: Emulator) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather and time in Paris?"}]
    first = await call(mode, emulator, messages=messages, tools=[WEATHER, CLOCK])
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert message.content == "I'll use get_weather for this."
    assert [c.function.name for c in message.tool_calls] == ["get_weather", "get_time"]
    assert json.loads(message.tool_calls[0].function.arguments) == {"city": "city-1"}
    assert all(c.id.startswith("toolu_") for c in message.tool_calls)
    # The assistant message goes back as returned (model_dump), answered by two tool messages;
    # the emulator refuses the request unless every tool_use is answered in the next turn.
    messages += [message.model_dump(),
                 {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "18C"},
                 {"role": "tool", "tool_call_id": message.tool_calls[1].id, "content": "12:00"}]
    second = await call(mode, emulator, messages=messages, tools=[WEATHER, CLOCK])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content.startswith("Hello from the emulator.")
    user_turn = sent(emulator)["messages"][-1]
    assert [b["type"] for b in user_turn["content"]] == ["tool_result", "tool_result"]


async def test_parallel_tool_calls_false_and_named_choice(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, tools=[WEATHER, CLOCK], parallel_tool_calls=False)
    assert len(resp.choices[0].message.tool_calls) == 1
    assert sent(emulator)["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    resp = await call(mode, emulator, tools=[WEATHER, CLOCK],
                      tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in resp.choices[0].message.tool_calls] == ["get_time"]
    assert resp.choices[0].message.content is None
    resp = await call(mode, emulator, tools=[WEATHER], tool_choice="none")
    assert resp.choices[0].message.tool_calls is None and resp.choices[0].finish_reason == "stop"


async def test_unpaired_tool_blocks_are_the_apis_400(mode: str, emulator: Emulator) -> None:
    calls = [{"id": "toolu_A", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]
    unanswered = [{"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": None, "tool_calls": calls},
                  {"role": "tool", "tool_call_id": "toolu_OTHER", "content": "18C"}]
    with pytest.raises(llmrelay.BadRequestError, match="ids were found without `tool_result`") as info:
        await call(mode, emulator, messages=unanswered, tools=[WEATHER])
    assert info.value.status_code == 400 and info.value.provider == "anthropic"
    assert info.value.response["error"]["type"] == "invalid_request_error"
    assert info.value.request_id and info.value.request_id.startswith("req_")
    orphan = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Sure."},
              {"role": "tool", "tool_call_id": "toolu_OTHER", "content": "18C"}]
    with pytest.raises(llmrelay.BadRequestError, match="unexpected `tool_use_id`"):
        await call(mode, emulator, messages=orphan, tools=[WEATHER])


async def test_stream_text_with_usage(mode: str, emulator: Emulator) -> None:
    chunks = await call(mode, emulator, stream=True, stream_options={"include_usage": True})
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 5 + 8
    assert [c.choices[0].finish_reason for c in chunks[:-1]].count("stop") == 1
    built = llmrelay.stream_chunk_builder(chunks)
    plain = await call(mode, emulator)
    assert built.choices[0].message.content == plain.choices[0].message.content
    assert built.usage.prompt_tokens == plain.usage.prompt_tokens
    assert built.usage.completion_tokens == plain.usage.completion_tokens
    assert sent(emulator).get("stream") is None and "stream_options" not in sent(emulator)


async def test_stream_tool_calls_rebuilt(mode: str, emulator: Emulator) -> None:
    chunks = await call(mode, emulator, stream=True, tools=[WEATHER, CLOCK])
    assert sent(emulator)["stream"] is True
    built = llmrelay.stream_chunk_builder(chunks)
    plain = await call(mode, emulator, tools=[WEATHER, CLOCK])
    ours, theirs = built.choices[0].message, plain.choices[0].message
    assert ours.content == theirs.content
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in ours.tool_calls] == \
        [(c.id, c.function.name, json.loads(c.function.arguments)) for c in theirs.tool_calls]
    assert built.choices[0].finish_reason == "tool_calls"
    # Indexes are 0 and 1 (the order among tool calls), each id sent exactly once.
    firsts = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or [] if tc.id]
    assert [(tc.index, tc.id) for tc in firsts] == [(0, theirs.tool_calls[0].id), (1, theirs.tool_calls[1].id)]


async def test_thinking_with_tools_multi_turn(mode: str, emulator: Emulator) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = await call(mode, emulator, messages=messages, tools=[WEATHER], thinking=thinking,
                       parallel_tool_calls=False)
    message = first.choices[0].message
    assert message.reasoning_content.startswith("The user said: Weather in Paris?")
    assert message.thinking_blocks[0]["type"] == "thinking" and message.thinking_blocks[0]["signature"]
    assert sent(emulator)["max_tokens"] == 4096 + 1024
    messages += [message.model_dump(),
                 {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "18C"}]
    second = await call(mode, emulator, messages=messages, tools=[WEATHER], thinking=thinking)
    assert second.choices[0].message.content
    assistant = sent(emulator)["messages"][1]
    assert [b["type"] for b in assistant["content"]] == ["thinking", "text", "tool_use"]
    assert assistant["content"][0] == message.thinking_blocks[0]


async def test_stream_thinking(mode: str, emulator: Emulator) -> None:
    chunks = await call(mode, emulator, stream=True, thinking={"type": "enabled", "budget_tokens": 2000})
    built = llmrelay.stream_chunk_builder(chunks)
    plain = await call(mode, emulator, thinking={"type": "enabled", "budget_tokens": 2000})
    assert built.choices[0].message.reasoning_content == plain.choices[0].message.reasoning_content
    blocks = [b for c in chunks if c.choices for b in getattr(c.choices[0].delta, "thinking_blocks", None) or []]
    assert blocks == plain.choices[0].message.thinking_blocks
    assert built.choices[0].message.thinking_blocks == plain.choices[0].message.thinking_blocks


async def test_json_schema_native_and_forced_tool(mode: str, emulator: Emulator) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    native = await call(mode, emulator, model="claude-haiku-4-5", response_format=fmt)
    assert sent(emulator)["output_config"] == {"format": {"type": "json_schema", "schema": PERSON}}
    forced = await call(mode, emulator, model="claude-3-5-haiku-20241022", response_format=fmt)
    assert sent(emulator)["tool_choice"] == {"type": "tool", "name": "json_response"}
    for resp in (native, forced):
        assert json.loads(resp.choices[0].message.content) == {"name": "name-1", "age": 1}
        assert resp.choices[0].finish_reason == "stop" and resp.choices[0].message.tool_calls is None
    chunks = await call(mode, emulator, model="claude-3-5-haiku-20241022", stream=True,
                        response_format={"type": "json_object"})
    built = llmrelay.stream_chunk_builder(chunks)
    assert json.loads(built.choices[0].message.content) == {}
    assert built.choices[0].finish_reason == "stop" and built.choices[0].message.tool_calls is None


async def test_legacy_functions(mode: str, emulator: Emulator) -> None:
    functions = [WEATHER["function"]]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Paris?"}]
    resp = await call(mode, emulator, messages=messages, functions=functions,
                      function_call={"name": "get_weather"})
    assert resp.choices[0].finish_reason == "function_call"
    fn = resp.choices[0].message.function_call
    assert (fn.name, json.loads(fn.arguments)) == ("get_weather", {"city": "city-1"})
    messages += [{"role": "assistant", "content": None, "function_call": fn.model_dump()},
                 {"role": "function", "name": "get_weather", "content": "18C"}]
    again = await call(mode, emulator, messages=messages, functions=functions)
    assert again.choices[0].finish_reason == "stop"
    chunks = await call(mode, emulator, messages=messages[:1], functions=functions, stream=True)
    built = llmrelay.stream_chunk_builder(chunks)
    assert built.choices[0].message.function_call.name == "get_weather"
    assert built.choices[0].finish_reason == "function_call"


async def test_n_fans_out_and_sums_usage(mode: str, emulator: Emulator) -> None:
    single = await call(mode, emulator)
    emulator.reset()
    resp = await call(mode, emulator, n=3)
    assert emulator.count("anthropic") == 3
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert resp.usage.total_tokens == 3 * single.usage.total_tokens
    assert all("n" not in r.body for r in emulator.requests)


async def test_stop_and_length(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, stop="emulator")
    assert resp.choices[0].message.content == "Hello from the "
    assert resp.choices[0].finish_reason == "stop"
    assert sent(emulator)["stop_sequences"] == ["emulator"]
    resp = await call(mode, emulator, max_completion_tokens=3)
    assert resp.choices[0].message.content == "Hello from the"
    assert resp.choices[0].finish_reason == "length"


async def test_user_becomes_metadata_and_extras_pass(mode: str, emulator: Emulator) -> None:
    await call(mode, emulator, model="claude-3-7-sonnet-20250219", user="u-1", top_k=5,
               service_tier="standard_only")
    body = sent(emulator)
    assert body["metadata"] == {"user_id": "u-1"} and body["top_k"] == 5
    assert body["service_tier"] == "standard_only"


async def test_sampling_refused_before_any_request(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError, match="temperature"):
        await call(mode, emulator, model="claude-opus-4-7", temperature=0.2)
    with pytest.raises(llmrelay.UnsupportedParamsError, match="logit_bias"):
        await call(mode, emulator, logit_bias={"1": 1})
    with pytest.raises(llmrelay.BadRequestError, match="not valid JSON"):
        await call(mode, emulator, messages=[
            *HI, {"role": "assistant", "tool_calls": [
                {"id": "x", "type": "function", "function": {"name": "f", "arguments": "{"}}]}])
    assert emulator.count("anthropic") == 0
    resp = await call(mode, emulator, model="claude-opus-4-7", temperature=0.2, seed=3, drop_params=True)
    assert resp.choices[0].message.content
    assert "temperature" not in sent(emulator) and "seed" not in sent(emulator)


async def test_both_samplers_are_the_apis_400_without_our_table(mode: str, emulator: Emulator) -> None:
    # extra_body bypasses translation, so this is the emulator speaking like the API.
    with pytest.raises(llmrelay.BadRequestError, match="cannot both be specified"):
        await call(mode, emulator, model="claude-sonnet-4-5", temperature=0.5,
                   extra_body={"top_p": 0.5})


async def test_wrong_key(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="invalid x-api-key") as info:
        await call(mode, emulator, api_key="sk-ant-wrong")
    assert info.value.status_code == 401
    assert info.value.response["error"]["type"] == "authentication_error"
    assert emulator.count("anthropic") == 1  # 401 is not retried


async def test_unknown_model(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError, match="model: claude-missing-1") as info:
        await call(mode, emulator, model="claude-missing-1")
    assert info.value.model == "claude-missing-1" and info.value.provider == "anthropic"


async def test_prompt_too_long(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.ContextWindowExceededError, match="prompt is too long") as info:
        await call(mode, emulator, messages=[{"role": "user", "content": "word " * 200_001}])
    assert info.value.status_code == 400


async def test_overloaded_529_is_retried(mode: str, emulator: Emulator) -> None:
    emulator.fail(529, times=5, headers={"retry-after": "0"})
    with pytest.raises(llmrelay.ServiceUnavailableError, match="Overloaded") as info:
        await call(mode, emulator, num_retries=2)
    assert info.value.status_code == 529
    assert emulator.count("anthropic") == 3
    assert info.value.request_id == info.value.response["request_id"]
    emulator.reset()
    emulator.fail(529, times=1, headers={"retry-after": "0"})
    resp = await call(mode, emulator, num_retries=1)
    assert resp.choices[0].message.content and emulator.count("anthropic") == 2


async def test_rate_limit_retry_after(mode: str, emulator: Emulator) -> None:
    emulator.fail(429)
    with pytest.raises(llmrelay.RateLimitError) as info:
        await call(mode, emulator, num_retries=0)
    assert info.value.retry_after == 1.0
    assert info.value.response["error"]["type"] == "rate_limit_error"
    emulator.fail(429, headers={"retry-after": "0"})
    resp = await call(mode, emulator, num_retries=1)
    assert resp.choices[0].finish_reason == "stop"


async def test_server_error_500(mode: str, emulator: Emulator) -> None:
    emulator.fail(500, times=1)
    with pytest.raises(llmrelay.InternalServerError) as info:
        await call(mode, emulator, num_retries=0)
    assert type(info.value) is llmrelay.InternalServerError
    assert info.value.response["error"]["type"] == "api_error"


async def test_mid_stream_overloaded(mode: str, emulator: Emulator) -> None:
    emulator.stream_error(status=529)
    received: list[Any] = []
    with pytest.raises(llmrelay.ServiceUnavailableError, match="Overloaded") as info:
        if mode == "sync":
            for chunk in llmrelay.completion(model="claude-haiku-4-5", messages=HI, stream=True,
                                             api_base=emulator.base_url("anthropic"), api_key=emulator.api_key):
                received.append(chunk)
        else:
            stream = await llmrelay.acompletion(model="claude-haiku-4-5", messages=HI, stream=True,
                                                api_base=emulator.base_url("anthropic"), api_key=emulator.api_key)
            async for chunk in stream:
                received.append(chunk)
    assert info.value.status_code == 529 and info.value.provider == "anthropic"
    assert received and received[0].choices[0].delta.role == "assistant"
    assert emulator.count("anthropic") == 1  # the stream had started: not retried


async def test_malformed_body(mode: str, emulator: Emulator) -> None:
    emulator.malformed(body=b'{"id": "msg_1", "type": "message"}')
    with pytest.raises(llmrelay.APIError, match="not a Message") as info:
        await call(mode, emulator)
    assert info.value.response == {"id": "msg_1", "type": "message"}
    emulator.malformed()
    with pytest.raises(llmrelay.APIError, match="not JSON"):
        await call(mode, emulator)
