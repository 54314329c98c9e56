"""llmrelay against the Bedrock emulator over real loopback sockets, sync and async.

The emulator verifies the SigV4 signature of every request (or the Bearer key) before anything
else, and checks what Converse checks (role alternation, toolUse/toolResult pairing, Claude's
signed thinking blocks), so a test passes only if what we send would be accepted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator, aws
from tests.helpers import acall

pytestmark = pytest.mark.parametrize("mode", ["sync", "async"])

NOVA = "bedrock/us.amazon.nova-micro-v1:0"
CLAUDE = "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0"
HI = [{"role": "user", "content": "Hi there"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
CLOCK = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}


def keys(emulator: Emulator) -> dict[str, Any]:
    return {"api_base": emulator.base_url("bedrock"), "aws_access_key_id": aws.ACCESS_KEY_ID,
            "aws_secret_access_key": aws.SECRET_ACCESS_KEY, "aws_region_name": "us-east-1"}


async def call(mode: str, emulator: Emulator, **kwargs: Any) -> Any:
    return await acall(mode, **{"model": NOVA, "messages": HI, **keys(emulator), **kwargs})


def sent(emulator: Emulator) -> dict[str, Any]:
    body = emulator.requests[-1].body
    assert isinstance(body, dict)
    return body


async def test_text_signed_with_sigv4(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, messages=[{"role": "system", "content": "Be brief."}, *HI],
                      max_tokens=50, temperature=0.2)
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "us.amazon.nova-micro-v1:0" and resp.id.startswith("chatcmpl-")
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (7, 8, 15)
    request = emulator.requests[-1]
    assert request.path == "/model/us.amazon.nova-micro-v1%3A0/converse"
    assert request.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={aws.ACCESS_KEY_ID}/")
    assert "SignedHeaders=content-type;host;x-amz-date," in request.headers["authorization"]
    assert "x-amz-security-token" not in request.headers
    assert sent(emulator) == {"messages": [{"role": "user", "content": [{"text": "Hi there"}]}],
                              "system": [{"text": "Be brief."}],
                              "inferenceConfig": {"maxTokens": 50, "temperature": 0.2}}


async def test_temporary_credentials_send_their_session_token(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, aws_access_key_id=aws.TEMP_ACCESS_KEY_ID,
                      aws_secret_access_key=aws.TEMP_SECRET_ACCESS_KEY,
                      aws_session_token=aws.SESSION_TOKEN)
    assert resp.choices[0].message.content.startswith("Hello")
    headers = emulator.requests[-1].headers
    assert headers["x-amz-security-token"] == aws.SESSION_TOKEN
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token," in headers["authorization"]
    with pytest.raises(llmrelay.AuthenticationError, match="security token included"):
        await call(mode, emulator, aws_access_key_id=aws.TEMP_ACCESS_KEY_ID,
                   aws_secret_access_key=aws.TEMP_SECRET_ACCESS_KEY)


async def test_bedrock_api_key_is_sent_as_bearer(mode: str, emulator: Emulator) -> None:
    resp = await acall(mode, model=NOVA, messages=HI, api_base=emulator.base_url("bedrock"),
                       api_key=emulator.api_key)
    assert resp.choices[0].message.content.startswith("Hello")
    headers = emulator.requests[-1].headers
    assert headers["authorization"] == f"Bearer {emulator.api_key}"
    assert "x-amz-date" not in headers
    with pytest.raises(llmrelay.AuthenticationError) as info:
        await acall(mode, model=NOVA, messages=HI, api_base=emulator.base_url("bedrock"),
                    api_key="wrong-bedrock-key")
    assert info.value.code == "UnrecognizedClientException" and info.value.status_code == 403


async def test_bad_signatures_are_refused(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="signature we calculated") as info:
        await call(mode, emulator, aws_secret_access_key="not-the-secret")
    assert info.value.code == "InvalidSignatureException" and info.value.status_code == 403
    assert info.value.request_id
    with pytest.raises(llmrelay.AuthenticationError, match="security token included"):
        await call(mode, emulator, aws_access_key_id="AKIAUNKNOWN000000000")
    with pytest.raises(llmrelay.AuthenticationError, match="valid region"):
        await call(mode, emulator, aws_region_name="mars-north-1")


async def test_tool_loop_keeps_ids(mode: str, emulator: Emulator) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather and time in Paris?"}]
    first = await call(mode, emulator, messages=messages, tools=[WEATHER, CLOCK])
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert message.content == "I'll use get_weather for this."
    assert [c.function.name for c in message.tool_calls] == ["get_weather", "get_time"]
    assert json.loads(message.tool_calls[0].function.arguments) == {"city": "city-1"}
    assert all(c.id.startswith("tooluse_") for c in message.tool_calls)
    messages += [message.model_dump(),
                 {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "18C"},
                 {"role": "tool", "tool_call_id": message.tool_calls[1].id, "content": "12:00"}]
    second = await call(mode, emulator, messages=messages, tools=[WEATHER, CLOCK])
    assert second.choices[0].finish_reason == "stop"
    results = [b["toolResult"]["toolUseId"] for b in sent(emulator)["messages"][-1]["content"]]
    assert results == [c.id for c in message.tool_calls]
    # The same conversation without tools: llmrelay declares the ones it used.
    third = await call(mode, emulator, messages=messages)
    assert third.choices[0].finish_reason == "stop"


async def test_tool_choice(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator, tools=[WEATHER, CLOCK],
                      tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in resp.choices[0].message.tool_calls] == ["get_time"]
    resp = await call(mode, emulator, tools=[WEATHER, CLOCK], tool_choice="required")
    assert resp.choices[0].message.content is None
    resp = await call(mode, emulator, tools=[WEATHER], tool_choice="none")
    assert resp.choices[0].message.tool_calls is None and "toolConfig" not in sent(emulator)
    with pytest.raises(llmrelay.BadRequestError, match=r"doesn't support the toolConfig\.toolChoice\.any"):
        await call(mode, emulator, model="bedrock/meta.llama3-1-70b-instruct-v1:0",
                   tools=[WEATHER], tool_choice="required")


async def test_json_schema_answer(mode: str, emulator: Emulator) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    resp = await call(mode, emulator, response_format={
        "type": "json_schema", "json_schema": {"name": "person", "schema": schema}})
    assert json.loads(resp.choices[0].message.content) == {"name": "name-1", "age": 1}
    assert resp.choices[0].finish_reason == "stop" and resp.choices[0].message.tool_calls is None
    chunks = await call(mode, emulator, stream=True, response_format={"type": "json_object"})
    assert json.loads(llmrelay.stream_chunk_builder(chunks).choices[0].message.content) == {}


async def test_thinking_signature_round_trip(mode: str, emulator: Emulator) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = await call(mode, emulator, model=CLAUDE, messages=messages, tools=[WEATHER],
                       thinking=thinking)
    message = first.choices[0].message
    assert message.reasoning_content.startswith("The user said: Weather in Paris?")
    assert message.thinking_blocks[0]["signature"]
    answer = {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "18C"}
    # Sent back as returned: the emulator checks the signature, as Claude does.
    second = await call(mode, emulator, model=CLAUDE, tools=[WEATHER], thinking=thinking,
                        messages=[*messages, message.model_dump(), answer])
    assert second.choices[0].finish_reason == "stop"
    stripped = {k: v for k, v in message.model_dump().items() if k != "thinking_blocks"}
    with pytest.raises(llmrelay.BadRequestError, match="must start with a thinking block"):
        await call(mode, emulator, model=CLAUDE, tools=[WEATHER], thinking=thinking,
                   messages=[*messages, stripped, answer])
    # A streamed answer rebuilt with stream_chunk_builder carries the same blocks.
    chunks = await call(mode, emulator, model=CLAUDE, messages=messages, tools=[WEATHER],
                        thinking=thinking, stream=True)
    built = llmrelay.stream_chunk_builder(chunks).choices[0].message
    assert built.thinking_blocks == message.thinking_blocks  # type: ignore[attr-defined]
    assert built.reasoning_content == message.reasoning_content  # type: ignore[attr-defined]
    again = await call(mode, emulator, model=CLAUDE, tools=[WEATHER], thinking=thinking,
                       messages=[*messages, built.model_dump(), answer])
    assert again.choices[0].finish_reason == "stop"


async def test_stream_text_with_usage(mode: str, emulator: Emulator) -> None:
    chunks = await call(mode, emulator, stream=True, stream_options={"include_usage": True})
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 5 + 8
    assert [c.choices[0].finish_reason for c in chunks[:-1]].count("stop") == 1
    assert emulator.requests[-1].path.endswith("/converse-stream")
    built = llmrelay.stream_chunk_builder(chunks)
    plain = await call(mode, emulator)
    assert built.choices[0].message.content == plain.choices[0].message.content
    assert built.usage.prompt_tokens == plain.usage.prompt_tokens


async def test_stream_tool_calls_rebuilt(mode: str, emulator: Emulator) -> None:
    chunks = await call(mode, emulator, stream=True, tools=[WEATHER, CLOCK])
    built = llmrelay.stream_chunk_builder(chunks).choices[0]
    plain = (await call(mode, emulator, tools=[WEATHER, CLOCK])).choices[0]
    assert built.message.content == plain.message.content
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in built.message.tool_calls] \
        == [(c.id, c.function.name, json.loads(c.function.arguments)) for c in plain.message.tool_calls]
    assert built.finish_reason == "tool_calls"


async def test_cache_point_written_then_read(mode: str, emulator: Emulator) -> None:
    system = {"role": "system", "content": f"Rules for {mode} callers. " * 20,
              "cache_control": {"type": "ephemeral"}}
    first = await call(mode, emulator, messages=[system, *HI])
    second = await call(mode, emulator, messages=[system, *HI])
    assert first.usage.cache_creation_input_tokens == 80 and first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.cache_read_input_tokens == 80 and second.usage.prompt_tokens_details.cached_tokens == 80
    assert first.usage.prompt_tokens == second.usage.prompt_tokens == 85


@pytest.mark.parametrize(("status", "cls", "code"), [
    (400, llmrelay.BadRequestError, "ValidationException"),
    (403, llmrelay.PermissionDeniedError, "AccessDeniedException"),
    (404, llmrelay.NotFoundError, "ResourceNotFoundException"),
    (408, llmrelay.Timeout, "ModelTimeoutException"),
    (424, llmrelay.InternalServerError, "ModelErrorException"),
    (429, llmrelay.RateLimitError, "ThrottlingException"),
    (500, llmrelay.InternalServerError, "InternalServerException"),
    (503, llmrelay.ServiceUnavailableError, "ServiceUnavailableException"),
])
async def test_http_errors(mode: str, emulator: Emulator, status: int, cls: type, code: str) -> None:
    emulator.fail(status, provider="bedrock")
    with pytest.raises(cls) as info:
        await call(mode, emulator, num_retries=0)
    assert type(info.value) is cls
    assert (info.value.status_code, info.value.code) == (status, code)
    assert info.value.request_id and info.value.provider == "bedrock"


async def test_throttling_is_retried_and_each_attempt_signed(mode: str, emulator: Emulator) -> None:
    emulator.fail(429, headers={"retry-after-ms": "1"}, times=2, provider="bedrock")
    resp = await call(mode, emulator, num_retries=2)
    assert resp.choices[0].message.content.startswith("Hello")
    assert emulator.count("bedrock") == 3  # every attempt passed the signature check first


async def test_validation_errors_of_the_api(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="model identifier is invalid"):
        await call(mode, emulator, model="bedrock/us.does-not-exist-model-v1:0")
    with pytest.raises(llmrelay.BadRequestError, match="less than or equal to 1"):
        await call(mode, emulator, temperature=1.5)
    with pytest.raises(llmrelay.ContextWindowExceededError, match="Input is too long"):
        await call(mode, emulator, messages=[{"role": "user", "content": "word " * 200_001}])


async def test_service_tier_only_as_bedrock_has_it(mode: str, emulator: Emulator) -> None:
    await call(mode, emulator, service_tier="flex")
    assert sent(emulator)["serviceTier"] == {"type": "flex"}
    # OpenAI's "scale" is no Bedrock tier (ServiceTierType): refused before sending ...
    with pytest.raises(llmrelay.UnsupportedParamsError, match="service_tier"):
        await call(mode, emulator, service_tier="scale")
    assert emulator.count("bedrock") == 1
    # ... as the API would have refused it.
    with pytest.raises(llmrelay.BadRequestError, match="enum value set"):
        await call(mode, emulator, serviceTier={"type": "scale"})


@pytest.mark.parametrize(("status", "cls"), [
    (429, llmrelay.RateLimitError), (424, llmrelay.InternalServerError),
    (400, llmrelay.BadRequestError), (500, llmrelay.InternalServerError),
    (503, llmrelay.ServiceUnavailableError),
])
async def test_exception_frames_mid_stream(mode: str, emulator: Emulator, status: int, cls: type) -> None:
    emulator.stream_error(status=status, provider="bedrock")
    with pytest.raises(cls) as info:
        await call(mode, emulator, stream=True)
    assert type(info.value) is cls and info.value.status_code == status
    assert info.value.provider == "bedrock" and info.value.model == "us.amazon.nova-micro-v1:0"


async def test_corrupt_and_cut_streams_raise(mode: str, emulator: Emulator) -> None:
    emulator.corrupt_stream(at=40, provider="bedrock")
    with pytest.raises(llmrelay.APIError, match="CRC"):
        await call(mode, emulator, stream=True)
    emulator.drop_stream(after=40, provider="bedrock")
    with pytest.raises(llmrelay.APIConnectionError):
        await call(mode, emulator, stream=True)


async def test_meta_request_id_and_stream_usage(mode: str, emulator: Emulator) -> None:
    resp = await call(mode, emulator)
    assert resp.meta.provider == "bedrock" and resp.meta.model == "us.amazon.nova-micro-v1:0"
    assert resp.meta.request_id and len(resp.meta.request_id) == 36  # x-amzn-RequestId
    assert resp.meta.attempts == 1
    chunks = await call(mode, emulator, stream=True)
    assert all(c.choices for c in chunks)  # usage was asked for by the core, and hidden
    assert emulator.requests[-1].body is not None
