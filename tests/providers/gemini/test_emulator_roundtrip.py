"""llmrelay against the Gemini emulator over real loopback sockets, sync and async.

Every test runs once through ``completion`` and once through ``acompletion``. The emulator checks
what the real API checks (field names, roles, function call turns answered part for part,
Gemini 3's thought signatures), so multi-turn tests fail if our translation sends something
Gemini would refuse.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import acall, at

pytestmark = pytest.mark.parametrize("mode", ["sync", "async"])

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}}
CLOCK = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
HI = [{"role": "user", "content": "Hi there"}]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}


async def call(mode: str, emulator: Emulator, **kwargs: Any) -> Any:
    """One call; streams are read to the end into a list of chunks."""
    return await acall(mode, **{"model": "gemini-2.5-flash", "messages": HI, **at(emulator, "gemini"), **kwargs})


def sent(emulator: Emulator) -> dict[str, Any]:
    body = emulator.requests[-1].body
    assert isinstance(body, dict)
    return body


async def test_text(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, model="gemini/gemini-2.0-flash",
                      messages=[{"role": "system", "content": "Be brief."}, *HI], max_tokens=50,
                      temperature=0.2, extra_headers={"x-goog-user-project": "demo"})
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "gemini-2.0-flash"
    # 2 system words + 2 user words + 3; the answer has 8 words; 2.0 does not think.
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (7, 8, 15)
    assert resp.usage.completion_tokens_details.reasoning_tokens == 0
    request = emulator.requests[-1]
    assert request.path == "/v1beta/models/gemini-2.0-flash:generateContent" and request.query == {}
    assert request.headers["x-goog-api-key"] == emulator.api_key
    assert request.headers["x-goog-user-project"] == "demo"
    assert "authorization" not in request.headers
    assert sent(emulator) == {"contents": [{"role": "user", "parts": [{"text": "Hi there"}]}],
                              "systemInstruction": {"parts": [{"text": "Be brief."}]},
                              "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50}}


async def test_thinking_model_counts_thoughts(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator)
    assert resp.usage.completion_tokens_details.reasoning_tokens == 9  # thought, not returned
    assert getattr(resp.choices[0].message, "reasoning_content", None) is None
    shown = await call(mode, emulator, reasoning_effort="medium")
    assert shown.choices[0].message.reasoning_content == "The user said: Hi there. A short answer fits."
    assert sent(emulator)["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 8192, "includeThoughts": True}
    off = await call(mode, emulator, reasoning_effort="none")
    assert off.usage.completion_tokens_details.reasoning_tokens == 0


async def test_tool_loop_with_gemini_3_signatures(mode: str, emulator: Emulator) -> None:
    """The signature travels in the tool call id; without it Gemini 3 answers 400."""
    model = "gemini-3-pro-preview"
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather and time in Paris?"}]
    first = await call(mode, emulator, model=model, messages=messages, tools=[WEATHER, CLOCK])
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in message.tool_calls] == ["get_weather", "get_time"]
    assert json.loads(message.tool_calls[0].function.arguments) == {"city": "city-1"}
    assert "__thought__" in message.tool_calls[0].id and "__thought__" not in message.tool_calls[1].id
    answers = [{"role": "tool", "tool_call_id": c.id, "content": "18C"} for c in message.tool_calls]
    second = await call(mode, emulator, model=model, messages=[*messages, message.model_dump(), *answers],
                        tools=[WEATHER, CLOCK])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content.startswith("Hello from the emulator.")
    model_turn = sent(emulator)["contents"][1]
    assert model_turn["parts"][0]["thoughtSignature"] == message.tool_calls[0].id.split("__thought__")[1]
    # The same history with the ids cut short (a client that rebuilt them) is what Gemini refuses.
    stripped = message.model_dump()
    stripped["tool_calls"] = [{**c, "id": c["id"].split("__thought__")[0]} for c in stripped["tool_calls"]]
    plain = [{"role": "tool", "tool_call_id": c["id"], "content": "18C"} for c in stripped["tool_calls"]]
    again = await call(mode, emulator, model=model, messages=[*messages, stripped, *plain], tools=[WEATHER, CLOCK])
    assert again.choices[0].finish_reason == "stop"  # accepted: the documented stand-in signature
    assert sent(emulator)["contents"][1]["parts"][0]["thoughtSignature"] == "skip_thought_signature_validator"


async def test_missing_signature_is_the_apis_400(mode: str, emulator: Emulator) -> None:
    calls = [{"id": "toolu_A", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None, "tool_calls": calls},
               {"role": "tool", "tool_call_id": "toolu_A", "content": "18C"}]
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                         {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
                         {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]}]}
    import httpx

    raw = httpx.post(emulator.url + "/v1beta/models/gemini-3-flash-preview:generateContent", json=body,
                     headers={"x-goog-api-key": emulator.api_key})
    assert raw.status_code == 400 and "missing a thought_signature" in raw.json()["error"]["message"]
    resp = await call(mode, emulator, model="gemini-3-flash-preview", messages=history, tools=[WEATHER])
    assert resp.choices[0].finish_reason == "stop"


async def test_unanswered_calls_are_the_apis_400(mode: str, emulator: Emulator) -> None:
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
             for i in range(2)]
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None, "tool_calls": calls},
               {"role": "tool", "tool_call_id": "c0", "content": "18C"}]
    with pytest.raises(llmrelay.BadRequestError, match="number of function response parts") as info:
        await call(mode, emulator, messages=history, tools=[WEATHER])
    assert info.value.status_code == 400 and info.value.provider == "gemini"
    assert info.value.code == "INVALID_ARGUMENT"


async def test_named_required_and_none(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, tools=[WEATHER, CLOCK],
                      tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in resp.choices[0].message.tool_calls] == ["get_time"]
    assert sent(emulator)["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}
    resp = await call(mode, emulator, tools=[WEATHER, CLOCK], tool_choice="required")
    assert len(resp.choices[0].message.tool_calls) == 1
    resp = await call(mode, emulator, tools=[WEATHER], tool_choice="none")
    assert resp.choices[0].message.tool_calls is None and resp.choices[0].finish_reason == "stop"


async def test_stream_text_with_usage(mode: str, emulator: Emulator) -> None:
    chunks = await call(mode, emulator, stream=True, stream_options={"include_usage": True})
    assert emulator.requests[-1].path.endswith(":streamGenerateContent")
    assert emulator.requests[-1].query == {"alt": "sse"}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 5 + 8 + 9
    assert [c.choices[0].finish_reason for c in chunks[:-1]].count("stop") == 1
    built = llmrelay.stream_chunk_builder(chunks)
    plain = await call(mode, emulator)
    assert built.id == plain.id
    assert built.choices[0].message.content == plain.choices[0].message.content
    assert built.usage.model_dump() == plain.usage.model_dump()


async def test_stream_tool_calls_rebuilt(mode: str, emulator: Emulator) -> None:
    kwargs = {"model": "gemini-3-pro-preview", "tools": [WEATHER, CLOCK], "reasoning_effort": "low"}
    chunks = await call(mode, emulator, stream=True, **kwargs)
    built = llmrelay.stream_chunk_builder(chunks)
    plain = await call(mode, emulator, **kwargs)
    ours, theirs = built.choices[0].message, plain.choices[0].message
    assert ours.reasoning_content == theirs.reasoning_content
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in ours.tool_calls] == \
        [(c.id, c.function.name, json.loads(c.function.arguments)) for c in theirs.tool_calls]
    assert built.choices[0].finish_reason == "tool_calls"
    firsts = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or [] if tc.id]
    assert [(tc.index, tc.id) for tc in firsts] == [(0, theirs.tool_calls[0].id), (1, theirs.tool_calls[1].id)]


async def test_json_schema_and_json_object(mode: str, emulator: Emulator) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    resp = await call(mode, emulator, response_format=fmt)
    assert sent(emulator)["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": PERSON}
    assert json.loads(resp.choices[0].message.content) == {"name": "name-1", "age": 1}
    legacy = await call(mode, emulator, model="gemini-1.5-flash", response_format=fmt)
    assert sent(emulator)["generationConfig"]["responseSchema"]["type"] == "OBJECT"
    assert json.loads(legacy.choices[0].message.content) == {"name": "name-1", "age": 1}
    plain = await call(mode, emulator, response_format={"type": "json_object"})
    assert json.loads(plain.choices[0].message.content) == {}


async def test_legacy_tools_schema_on_gemini_1_5(mode: str, emulator: Emulator) -> None:
    """additionalProperties would be a 400 "Unknown name" in ``parameters``: it is left out."""
    resp = await call(mode, emulator, model="gemini-1.5-pro", tools=[WEATHER], tool_choice="required")
    assert resp.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert sent(emulator)["tools"][0]["functionDeclarations"][0]["parameters"] == {
        "type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}


async def test_legacy_functions(mode: str, emulator: Emulator) -> None:
    functions = [WEATHER["function"]]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Paris?"}]
    resp = await call(mode, emulator, messages=messages, functions=functions, function_call={"name": "get_weather"})
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


async def test_n_candidates_stop_and_length(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, n=2, stop=["You said"], max_completion_tokens=30)
    assert emulator.count("gemini") == 1  # one request: candidateCount
    assert [c.index for c in resp.choices] == [0, 1]
    assert resp.choices[0].message.content == "Hello from the emulator. "
    cut = await call(mode, emulator, max_tokens=3)
    assert cut.choices[0].finish_reason == "length" and cut.choices[0].message.content == "Hello from the"
    chunks = await call(mode, emulator, n=2, stream=True)
    built = llmrelay.stream_chunk_builder(chunks)
    assert [c.message.content for c in built.choices] == [c.message.content for c in (await call(mode, emulator, n=2)).choices]


async def test_logprobs(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, model="gemini-2.0-flash", logprobs=True, top_logprobs=2)
    content = resp.choices[0].logprobs["content"]
    assert "".join(e["token"] for e in content) == resp.choices[0].message.content
    assert all(len(e["top_logprobs"]) == 2 for e in content)


async def test_images_reach_the_api(mode: str, emulator: Emulator) -> None:
    parts = [{"type": "text", "text": "What is this?"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
             {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    resp = await call(mode, emulator, messages=[{"role": "user", "content": parts}])
    assert resp.choices[0].message.content.endswith("What is this?")
    assert sent(emulator)["contents"][0]["parts"][1:] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}}]


async def test_wrong_key_is_an_authentication_error(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="API key not valid") as info:
        await call(mode, emulator, api_key="AIza-wrong", num_retries=0)
    assert info.value.status_code == 400 and info.value.code == "INVALID_ARGUMENT"
    assert "AIza-wrong" not in str(info.value) and emulator.count("gemini") == 1


async def test_unknown_model_is_not_found(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError, match="models/gemini-missing-1 is not found"):
        await call(mode, emulator, model="gemini-missing-1")
    with pytest.raises(llmrelay.NotFoundError):
        await call(mode, emulator, model="gemini-missing-1", stream=True)


ERRORS = [
    (400, llmrelay.BadRequestError, "INVALID_ARGUMENT"),
    (401, llmrelay.AuthenticationError, "UNAUTHENTICATED"),
    (403, llmrelay.PermissionDeniedError, "PERMISSION_DENIED"),
    (404, llmrelay.NotFoundError, "NOT_FOUND"),
    (429, llmrelay.RateLimitError, "RESOURCE_EXHAUSTED"),
    (500, llmrelay.InternalServerError, "INTERNAL"),
    (503, llmrelay.ServiceUnavailableError, "UNAVAILABLE"),
    (504, llmrelay.InternalServerError, "DEADLINE_EXCEEDED"),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("status", "cls", "name"), ERRORS)
async def test_every_error_status(mode: str, emulator: Emulator, status: int, cls: type, name: str,
                                  stream: bool) -> None:
    emulator.fail(status, provider="gemini")
    with pytest.raises(cls) as info:
        await call(mode, emulator, num_retries=0, stream=stream)
    assert type(info.value) is cls
    assert info.value.status_code == status and info.value.code == name
    assert info.value.response["error"]["status"] == name
    if status == 429:
        assert info.value.retry_after == 0.5  # from RetryInfo; Gemini sends no Retry-After


async def test_context_window(mode: str, emulator: Emulator) -> None:
    body = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                      "The input token count (1212827) exceeds the maximum number of tokens allowed (1048576)."}}
    emulator.fail(400, body=body)
    with pytest.raises(llmrelay.ContextWindowExceededError, match="exceeds the maximum number of tokens"):
        await call(mode, emulator)


async def test_rate_limit_retry_waits_the_retry_info_delay(mode: str, emulator: Emulator) -> None:
    emulator.fail(429, times=1)
    started = time.monotonic()
    resp = await call(mode, emulator, num_retries=1)
    assert resp.choices[0].finish_reason == "stop"
    assert emulator.count("gemini") == 2
    assert time.monotonic() - started >= 0.5


async def test_overloaded_is_retried(mode: str, emulator: Emulator) -> None:
    emulator.fail(503, times=1, headers={"retry-after": "0"})
    resp = await call(mode, emulator, num_retries=1)
    assert resp.choices[0].message.content and emulator.count("gemini") == 2


@pytest.mark.parametrize(("status", "cls"), [(429, llmrelay.RateLimitError), (503, llmrelay.ServiceUnavailableError),
                                             (500, llmrelay.InternalServerError)])
async def test_mid_stream_error(mode: str, emulator: Emulator, status: int, cls: type) -> None:
    emulator.stream_error(status=status)
    if mode == "sync":
        stream = llmrelay.completion(model="gemini-2.5-flash", messages=HI, stream=True, **at(emulator, "gemini"))
        seen = []
        with pytest.raises(cls) as info:
            for chunk in stream:
                seen.append(chunk)
    else:
        stream = await llmrelay.acompletion(model="gemini-2.5-flash", messages=HI, stream=True, **at(emulator, "gemini"))
        seen = []
        with pytest.raises(cls) as info:
            async for chunk in stream:
                seen.append(chunk)
    assert len(seen) == 2  # two events arrived, then the bare error object
    assert info.value.status_code == status and info.value.provider == "gemini"


async def test_cut_stream_is_a_connection_error(mode: str, emulator: Emulator) -> None:
    emulator.drop_stream(after=3)
    with pytest.raises(llmrelay.APIConnectionError):
        await call(mode, emulator, stream=True)
