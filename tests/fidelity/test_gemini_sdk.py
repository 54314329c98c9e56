"""The official ``google-genai`` SDK against our Gemini emulator and our requests.

1. The SDK pointed at the emulator (``http_options={"base_url": ...}``): ``generate_content`` and
   ``generate_content_stream`` (sync and async) parse everything the emulator produces, multi-turn
   function calling with thought signatures works the SDK's way, and each scripted error raises
   the SDK's own ``ClientError`` / ``ServerError``, mid-stream too.
2. Every request body llmrelay builds (the golden cases and live round trips) validates against
   the SDK's request types (``Content``, ``Tool``, ``ToolConfig``, ``GenerationConfig``,
   ``SafetySetting``: pydantic models that forbid unknown fields), and the OpenAPI-subset schemas
   match what the SDK's own schema transformer makes of the same JSON Schema.

The SDK is test-only; llmrelay never imports it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import _transformers, errors, types

import llmrelay
from llmrelay.providers.gemini.schema import openapi_schema
from llmrelay.testing import Emulator
from tests.helpers import at

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "gemini"
MODEL = "gemini-2.5-flash"
WEATHER = {"name": "get_weather", "description": "Current weather",
           "parameters_json_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                      "required": ["city"]}}
CLOCK = {"name": "get_time", "parameters": {"type": "OBJECT", "properties": {"tz": {"type": "STRING"}}}}
TOOLS = [types.Tool(function_declarations=[types.FunctionDeclaration(**WEATHER),  # type: ignore[arg-type]
                                           types.FunctionDeclaration(**CLOCK)])]  # type: ignore[arg-type]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"]}
SHAPES: dict[str, dict[str, Any]] = {
    "text": {},
    "system_and_stop": {"system_instruction": "Be brief.", "stop_sequences": ["emulator"]},
    "max_tokens": {"max_output_tokens": 3},
    "tools_parallel": {"tools": TOOLS},
    "tool_forced": {"tools": TOOLS, "tool_config": types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
        mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["get_time"]))},
    "thinking": {"thinking_config": types.ThinkingConfig(include_thoughts=True, thinking_budget=1024)},
    "structured_output": {"response_mime_type": "application/json", "response_json_schema": PERSON},
    "candidates": {"candidate_count": 2},
    "logprobs": {"response_logprobs": True, "logprobs": 2},
}


def client(emulator: Emulator, key: str | None = None) -> genai.Client:
    return genai.Client(api_key=key or emulator.api_key, http_options={"base_url": emulator.url})


@pytest.fixture(scope="module")
def shared(emulator_server: Emulator) -> genai.Client:
    """One client for the module (each costs ~0.2 s to build); a collected one closes its pool."""
    return client(emulator_server)


def config(shape: str) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True), **SHAPES[shape])


def check_shape(shape: str, response: types.GenerateContentResponse) -> None:
    """The SDK parsed the answer into its own types, with the expected content."""
    candidate = (response.candidates or [])[0]
    usage = response.usage_metadata
    assert response.model_version == MODEL and response.response_id
    assert usage is not None and usage.prompt_token_count and usage.total_token_count
    assert candidate.content is not None and candidate.content.role == "model"
    parts = candidate.content.parts or []
    if shape in ("tools_parallel", "tool_forced"):
        calls = response.function_calls or []
        assert [c.name for c in calls] == (["get_weather", "get_time"] if shape == "tools_parallel" else ["get_time"])
        assert calls[0].args == ({"city": "city-1"} if shape == "tools_parallel" else {"tz": "tz-1"})
        assert isinstance(parts[0].thought_signature, bytes)  # a thinking model signs its first call
        assert candidate.finish_reason == types.FinishReason.STOP
        return
    if shape == "thinking":
        assert parts[0].thought is True and parts[0].text
        assert usage.thoughts_token_count
    if shape == "structured_output":
        assert json.loads(response.text or "") == {"name": "name-1", "age": 1}
    if shape == "max_tokens":
        assert candidate.finish_reason == types.FinishReason.MAX_TOKENS and response.text == "Hello from the"
    else:
        assert candidate.finish_reason == types.FinishReason.STOP
    if shape == "system_and_stop":
        assert response.text == "Hello from the "
    if shape == "candidates":
        assert [c.index for c in response.candidates or []] == [0, 1]
    if shape == "logprobs":
        result = candidate.logprobs_result
        assert result is not None and result.chosen_candidates and result.top_candidates
        assert "".join(c.token or "" for c in result.chosen_candidates) == response.text


@pytest.mark.parametrize("shape", list(SHAPES))
def test_generate_sync(emulator: Emulator, shared: genai.Client, shape: str) -> None:
    response = shared.models.generate_content(model=MODEL, contents="Hi there", config=config(shape))
    assert isinstance(response, types.GenerateContentResponse)
    check_shape(shape, response)


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_generate_async(emulator: Emulator, shared: genai.Client, shape: str) -> None:
    response = await shared.aio.models.generate_content(model=MODEL, contents="Hi there", config=config(shape))
    check_shape(shape, response)


def stream_summary(chunks: list[types.GenerateContentResponse]) -> tuple[str, list[Any], Any]:
    text = "".join(p.text or "" for c in chunks for cand in c.candidates or [] if cand.index in (0, None)
                   for p in (cand.content.parts if cand.content else None) or [] if not p.thought)
    calls = [(f.name, f.args) for c in chunks for f in c.function_calls or []]
    return text, calls, chunks[-1].candidates[0].finish_reason if chunks[-1].candidates else None


@pytest.mark.parametrize("shape", [s for s in SHAPES if s != "candidates"])
def test_stream_sync_matches_generate(emulator: Emulator, shared: genai.Client, shape: str) -> None:
    sdk = shared
    chunks = list(sdk.models.generate_content_stream(model=MODEL, contents="Hi there", config=config(shape)))
    whole = sdk.models.generate_content(model=MODEL, contents="Hi there", config=config(shape))
    text, calls, finish = stream_summary(chunks)
    assert text == "".join(p.text or "" for p in whole.candidates[0].content.parts or [] if not p.thought)  # type: ignore[index, union-attr]
    assert calls == [(f.name, f.args) for f in whole.function_calls or []]
    assert finish == whole.candidates[0].finish_reason  # type: ignore[index]
    assert chunks[-1].usage_metadata == whole.usage_metadata


@pytest.mark.parametrize("shape", ["text", "tools_parallel", "thinking"])
async def test_stream_async_matches_generate(emulator: Emulator, shared: genai.Client, shape: str) -> None:
    sdk = shared
    chunks = [c async for c in await sdk.aio.models.generate_content_stream(
        model=MODEL, contents="Hi there", config=config(shape))]
    whole = await sdk.aio.models.generate_content(model=MODEL, contents="Hi there", config=config(shape))
    text, calls, _ = stream_summary(chunks)
    assert text == "".join(p.text or "" for p in whole.candidates[0].content.parts or [] if not p.thought)  # type: ignore[index, union-attr]
    assert calls == [(f.name, f.args) for f in whole.function_calls or []]


def test_multi_turn_function_calling_with_signatures(emulator: Emulator, shared: genai.Client) -> None:
    """The SDK's own way: the model's content goes back as it came, signatures included."""
    sdk, model = shared, "gemini-3-pro-preview"
    question = types.Content(role="user", parts=[types.Part.from_text(text="Weather and time?")])
    first = sdk.models.generate_content(model=model, contents=[question], config=config("tools_parallel"))
    turn = first.candidates[0].content  # type: ignore[index]
    answers = types.Content(role="user", parts=[types.Part.from_function_response(name=c.name or "", response={"r": 1})
                                                for c in first.function_calls or []])
    second = sdk.models.generate_content(model=model, contents=[question, turn, answers],  # type: ignore[list-item]
                                         config=config("tools_parallel"))
    assert second.text and second.text.startswith("Hello from the emulator.")
    unsigned = turn.model_copy(update={"parts": [p.model_copy(update={"thought_signature": None})  # type: ignore[union-attr]
                                                 for p in turn.parts or []]})  # type: ignore[union-attr]
    with pytest.raises(errors.ClientError, match="missing a thought_signature") as info:
        sdk.models.generate_content(model=model, contents=[question, unsigned, answers], config=config("tools_parallel"))
    assert info.value.code == 400 and info.value.status == "INVALID_ARGUMENT"


ERRORS = [(400, errors.ClientError, "INVALID_ARGUMENT"), (401, errors.ClientError, "UNAUTHENTICATED"),
          (403, errors.ClientError, "PERMISSION_DENIED"), (404, errors.ClientError, "NOT_FOUND"),
          (429, errors.ClientError, "RESOURCE_EXHAUSTED"), (500, errors.ServerError, "INTERNAL"),
          (503, errors.ServerError, "UNAVAILABLE"), (504, errors.ServerError, "DEADLINE_EXCEEDED")]


@pytest.mark.parametrize(("status", "cls", "name"), ERRORS)
def test_scripted_errors_sync(emulator: Emulator, shared: genai.Client, status: int, cls: type,
                              name: str) -> None:
    emulator.fail(status)
    sdk = shared
    with pytest.raises(cls) as info:
        sdk.models.generate_content(model=MODEL, contents="Hi")
    assert (info.value.code, info.value.status) == (status, name)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "cls", "name"), ERRORS)
async def test_scripted_errors_async(emulator: Emulator, shared: genai.Client, status: int, cls: type,
                                     name: str) -> None:
    emulator.fail(status)
    sdk = shared
    with pytest.raises(cls) as info:
        await sdk.aio.models.generate_content(model=MODEL, contents="Hi")
    assert info.value.status == name  # type: ignore[attr-defined]


def test_emulator_refusals_are_sdk_errors(emulator: Emulator, shared: genai.Client) -> None:
    wrong, sdk = client(emulator, key="AIza-wrong"), shared
    with pytest.raises(errors.ClientError, match="API key not valid") as info:
        wrong.models.generate_content(model=MODEL, contents="Hi")
    assert info.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    with pytest.raises(errors.ClientError, match="is not found for API version v1"):
        sdk.models.generate_content(model="gemini-missing", contents="Hi")


@pytest.mark.parametrize(("status", "cls"), [(503, errors.ServerError), (429, errors.ClientError)])
def test_mid_stream_error_sync(emulator: Emulator, shared: genai.Client, status: int, cls: type) -> None:
    emulator.stream_error(status=status)
    seen: list[str] = []
    sdk = shared
    with pytest.raises(cls) as info:
        for chunk in sdk.models.generate_content_stream(model=MODEL, contents="Hi there"):
            seen.append(chunk.text or "")
    assert seen == ["Hello", " from"] and info.value.code == status  # type: ignore[attr-defined]


async def test_mid_stream_error_async(emulator: Emulator, shared: genai.Client) -> None:
    emulator.stream_error(status=500)
    sdk = shared
    with pytest.raises(errors.ServerError):
        async for _ in await sdk.aio.models.generate_content_stream(model=MODEL, contents="Hi"):
            pass


# ---- our requests against the SDK's request types ------------------------------------------

TOP_LEVEL = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings",
             "cachedContent"}
VERTEX_ONLY = {"additionalProperties", "additional_properties", "defs", "$defs", "ref", "$ref"}


def validate(body: dict[str, Any]) -> None:
    """Each part of a generateContent body parses as the SDK's type for it (unknown fields fail)."""
    assert set(body) <= TOP_LEVEL, set(body) - TOP_LEVEL
    for content in body["contents"]:
        types.Content.model_validate_json(json.dumps(content))
    if "systemInstruction" in body:
        types.Content.model_validate_json(json.dumps(body["systemInstruction"]))
    for tool in body.get("tools", []):
        types.Tool.model_validate_json(json.dumps(tool))
        for declaration in tool.get("functionDeclarations", []):
            assert not VERTEX_ONLY & keys_in(declaration.get("parameters"))
    if "toolConfig" in body:
        types.ToolConfig.model_validate_json(json.dumps(body["toolConfig"]))
    if "generationConfig" in body:
        types.GenerationConfig.model_validate_json(json.dumps(body["generationConfig"]))
        assert not VERTEX_ONLY & keys_in(body["generationConfig"].get("responseSchema"))
    for setting in body.get("safetySettings", []):
        types.SafetySetting.model_validate_json(json.dumps(setting))


def keys_in(schema: Any) -> set[str]:
    """The keys used in an OpenAPI-subset schema and its sub-schemas (not property names)."""
    if isinstance(schema, dict):
        found = set(schema)
        for key, value in schema.items():
            if key == "properties" and value:
                found |= set().union(*(keys_in(v) for v in value.values()))
            elif key in ("items", "anyOf"):
                found |= keys_in(value)
        return found
    if isinstance(schema, list):
        return set().union(*(keys_in(s) for s in schema)) if schema else set()
    return set()


@pytest.mark.parametrize("case", sorted(p for p in GOLDEN.glob("*/request.json")), ids=lambda p: p.parent.name)
def test_golden_requests_validate_against_the_sdk_types(case: Path) -> None:
    validate(json.loads(case.read_text()))


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_live_requests_validate_against_the_sdk_types(emulator: Emulator, mode: str) -> None:
    fn = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER["parameters_json_schema"]}}
    first = llmrelay.completion(model="gemini-3-pro-preview", messages=[{"role": "user", "content": "Weather?"}],
                                tools=[fn], reasoning_effort="low", **at(emulator, "gemini"))
    message = first.choices[0].message
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}, message.model_dump(),
               *({"role": "tool", "tool_call_id": c.id, "content": "18C"} for c in message.tool_calls or [])]
    result = llmrelay.completion(model="gemini-3-pro-preview", messages=history, tools=[fn], stream=mode == "stream",
                                 response_format={"type": "json_object"}, top_k=5, **at(emulator, "gemini"))
    if mode == "stream":
        list(result)
    for request in emulator.requests:
        validate(request.body)


def test_openapi_schemas_agree_with_the_sdk_transformer() -> None:
    """The SDK's own conversion (``process_schema`` for the Gemini API) of a pydantic-style schema,
    compared field by field with ours (the SDK refuses additionalProperties for the Gemini API
    outright; ours drops it, so it is left out of the input here)."""
    schema = {"title": "Booking", "type": "object", "$defs": {"Guest": {"title": "Guest", "type": "object",
              "properties": {"name": {"type": "string"}, "age": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
              "required": ["name"]}},
              "properties": {"guest": {"$ref": "#/$defs/Guest"}, "kind": {"const": "hotel", "type": "string"},
                             "nights": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
                             "tags": {"type": "array", "items": {"type": "string"}}},
              "required": ["guest", "kind"]}
    sdk = genai.Client(api_key="AIza-test")
    theirs = _transformers.t_schema(sdk._api_client, json.loads(json.dumps(schema)))
    assert theirs is not None
    ours = types.Schema.model_validate(openapi_schema(schema, "p"))

    def view(s: types.Schema | None) -> Any:
        if s is None:
            return None
        return {"type": s.type, "nullable": s.nullable, "enum": s.enum, "required": s.required,
                "items": view(s.items),
                "properties": {k: view(v) for k, v in (s.properties or {}).items()} or None}

    assert view(ours) == view(theirs)
