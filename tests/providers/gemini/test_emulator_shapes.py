"""The Gemini emulator compared with recorded traffic: same keys, event framing and order, every
recorded request accepted; and the API's own refusals for keys, field names, roles and turns
(raw HTTP, no llmrelay)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llmrelay.streaming import SSEDecoder
from llmrelay.testing import Emulator
from llmrelay.testing.gemini_checks import unknown_fields
from tests.conftest import chat_recordings, load

FILES = {p.stem: load(p) for p in chat_recordings("gemini")}
BODY = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def post(emulator: Emulator, body: Any = BODY, model: str = "gemini-2.5-flash", stream: bool = False,
         key: str | None = None, query: str = "") -> httpx.Response:
    method = "streamGenerateContent" if stream else "generateContent"
    headers = {"x-goog-api-key": emulator.api_key if key is None else key}
    headers = {k: v for k, v in headers.items() if v}
    url = f"{emulator.url}/v1beta/models/{model}:{method}{query or ('?alt=sse' if stream else '')}"
    return httpx.post(url, json=body, headers=headers)


def keys(obj: Any) -> Any:
    """The nested key structure of a JSON value (lists by their first item)."""
    if isinstance(obj, dict):
        return {k: keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [keys(obj[0])] if obj else []
    return type(obj).__name__


def events(text: str) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [json.loads(e.data) for e in decoder.feed(text.encode()) + decoder.flush()]


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_recorded_request_is_accepted(emulator: Emulator, name: str) -> None:
    rec = FILES[name]
    path = rec["request"]["path"]
    response = httpx.post(emulator.url + path, params=rec["request"]["query"], json=rec["request"]["body"],
                          headers={"x-goog-api-key": emulator.api_key})
    assert response.status_code == 200, response.text


def test_text_body_has_the_recorded_keys(emulator: Emulator) -> None:
    ours = post(emulator).json()
    theirs = FILES["text_system_prompt"]["response"]["body"]
    assert keys(ours) == keys(theirs)
    assert post(emulator).headers["content-type"] == "application/json; charset=UTF-8"


def test_gemini_2_0_tool_call_has_the_recorded_keys(emulator: Emulator) -> None:
    rec = FILES["tool_call"]
    ours = post(emulator, rec["request"]["body"], model="gemini-2.0-flash").json()
    theirs = rec["response"]["body"]
    assert keys(ours["candidates"][0]) == keys(theirs["candidates"][0])  # no index, avgLogprobs
    assert set(ours["usageMetadata"]) == set(theirs["usageMetadata"])


def test_gemini_3_thoughts_have_the_recorded_shape(emulator: Emulator) -> None:
    rec = FILES["thinking_include_thoughts"]
    body = {**rec["request"]["body"], "tools": []}
    ours = post(emulator, body, model="gemini-3-pro-preview").json()
    theirs = rec["response"]["body"]
    assert [sorted(p) for p in ours["candidates"][0]["content"]["parts"]] == \
        [sorted(p) for p in theirs["candidates"][0]["content"]["parts"]]
    assert set(ours["usageMetadata"]) == set(theirs["usageMetadata"])


def test_stream_text_follows_the_recording(emulator: Emulator) -> None:
    response = post(emulator, model="gemini-2.0-flash", stream=True)
    recorded = FILES["stream_text"]["response"]["sse"]
    assert response.headers["content-type"] == "text/event-stream"
    assert "\r\n\r\n" in response.text and "[DONE]" not in response.text
    ours, theirs = events(response.text), events(recorded)
    assert keys(ours[0]) == keys(theirs[0]) and keys(ours[-1]) == keys(theirs[-1])
    assert [("finishReason" in e["candidates"][0]) for e in ours] == [False] * (len(ours) - 1) + [True]
    assert set(ours[0]["usageMetadata"]) == set(theirs[0]["usageMetadata"])


def test_stream_tool_call_follows_the_recording(emulator: Emulator) -> None:
    rec = FILES["stream_tool_call_thought_signature"]
    response = post(emulator, rec["request"]["body"], model="gemini-3-pro-preview", stream=True)
    ours, theirs = events(response.text), events(rec["response"]["sse"])
    assert len(ours) == len(theirs) == 2
    assert [sorted(p) for e in ours for p in e["candidates"][0]["content"]["parts"]] == \
        [sorted(p) for e in theirs for p in e["candidates"][0]["content"]["parts"]]
    assert ours[-1]["candidates"][0]["finishReason"] == "STOP"


def test_without_alt_sse_a_stream_is_one_json_array(emulator: Emulator) -> None:
    response = post(emulator, model="gemini-2.0-flash", stream=True, query="?x=1")
    chunks = response.json()
    assert isinstance(chunks, list) and chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_key_in_query_is_accepted(emulator: Emulator) -> None:
    response = post(emulator, key="", query=f"?key={emulator.api_key}")
    assert response.status_code == 200


def test_missing_key(emulator: Emulator) -> None:
    response = post(emulator, key="")
    assert response.status_code == 403
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "unregistered callers" in response.json()["error"]["message"]


def test_wrong_key(emulator: Emulator) -> None:
    error = post(emulator, key="AIza-nope").json()["error"]
    assert (error["code"], error["status"], error["message"]) == (
        400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_unknown_model(emulator: Emulator) -> None:
    response = post(emulator, model="gpt-4o")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("models/gpt-4o is not found for API version v1beta")


@pytest.mark.parametrize(("body", "message"), [
    ({**BODY, "generation_config": {"max_tokens": 5}},
     "Unknown name \"max_tokens\" at 'generation_config': Cannot find field."),
    ({**BODY, "temperature": 0.5}, 'Unknown name "temperature": Cannot find field.'),
    ({**BODY, "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
        "type": "object", "additionalProperties": False, "$schema": "x", "properties": {}}}]}]},
     "Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters': Cannot find field."),
    ({**BODY, "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
        "type": "OBJECT", "properties": {"a": {"type": ["string", "null"]}}}}]}]},
     "Unknown name \"type\" at 'tools[0].function_declarations[0].parameters.properties[0].value': "
     "Proto field is not repeating, cannot start list."),
    ({**BODY, "generationConfig": {"responseSchema": {"type": "INTEGER", "enum": [1]}}},
     "Invalid value at 'generation_config.response_schema.enum[0]' (TYPE_STRING), 1"),
    ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "Please use a valid role: user, model."),
    ({"contents": []}, "contents is not specified"),
    ({"contents": [{"role": "user", "parts": [{}]}]}, "required oneof field 'data' must have one initialized field"),
    ({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}]},
     "function call turn comes immediately after a user turn"),
])
def test_refusals_in_the_apis_words(emulator: Emulator, body: dict[str, Any], message: str) -> None:
    response = post(emulator, body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_json_schema_field_takes_any_json_schema(emulator: Emulator) -> None:
    body = {**BODY, "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {
        "type": "object", "additionalProperties": False, "properties": {"a": {"type": ["string", "null"]}}}}]}]}
    assert post(emulator, body).status_code == 200


def test_scripted_mid_stream_error_is_bare_json(emulator: Emulator) -> None:
    emulator.stream_error(status=429)
    text = post(emulator, stream=True).text
    head, _, tail = text.partition("\r\n\r\n{")
    assert head.startswith("data: ")
    error = json.loads("{" + tail.split("data: ")[-1])
    assert error["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert error["error"]["details"][-1] == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.5s"}


@pytest.mark.parametrize(("model", "status"), [
    ("gemini-2.5-pro", 400), ("gemini-2.5-flash", 200), ("gemini-2.5-flash-lite", 200)])
def test_zero_thinking_budget_only_where_thinking_can_be_off(emulator: Emulator, model: str,
                                                             status: int) -> None:
    body = {**BODY, "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}
    response = post(emulator, body, model=model)
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["message"] == (
            "Budget 0 is invalid. This model only works in thinking mode.")


def test_request_fields_are_the_gemini_apis() -> None:
    """google-genai sends ``continuationToken`` and ``labels`` top-level and
    ``includeServerSideToolInvocations`` in ``toolConfig`` to the Gemini API, and refuses
    ``streamFunctionCallArguments`` there (Vertex AI only): the emulator's parser agrees."""
    body = {**BODY, "continuationToken": "t", "labels": {"team": "a"},
            "toolConfig": {"includeServerSideToolInvocations": True}}
    assert unknown_fields(body) == []
    streamed = {**BODY, "toolConfig": {"functionCallingConfig": {"streamFunctionCallArguments": True}}}
    assert unknown_fields(streamed) == [
        "Unknown name \"streamFunctionCallArguments\" at 'tool_config.function_calling_config': "
        "Cannot find field."]
