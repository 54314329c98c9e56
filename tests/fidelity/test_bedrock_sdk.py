"""botocore and boto3 (test-only) check our Bedrock emulator, signer and request bodies.

- boto3's ``bedrock-runtime`` client pointed at the emulator: ``converse``,
  ``converse_stream`` (binary frames parsed by botocore's own event-stream parser) and
  ``invoke_model`` answers parse, and scripted errors raise botocore's error codes. The
  emulator verifies botocore's signatures too, so its SigV4 check is the real algorithm.
- botocore's ``SigV4Auth``, run on an ``AWSRequest`` rebuilt from the exact request the
  emulator received from llmrelay (path, signed headers, body bytes, same timestamp),
  computes the signature llmrelay sent.
- Every Converse body llmrelay builds (golden cases and live round trips) is valid for the
  Converse input shape of botocore's service model.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EventStreamError

import llmrelay
from llmrelay.testing import Emulator, aws
from llmrelay.testing.server import RecordedRequest

NOVA = "us.amazon.nova-micro-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bedrock"
SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")
CONVERSE_INPUT = SERVICE.operation_model("Converse").input_shape
USER = [{"role": "user", "content": [{"text": "Hi there"}]}]
WEATHER_SPEC = {"toolSpec": {"name": "get_weather", "description": "Current weather",
                             "inputSchema": {"json": {"type": "object", "properties": {
                                 "city": {"type": "string"}}, "required": ["city"]}}}}
CLOCK_SPEC = {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object"}}}}
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
# boto3 keyword arguments -> (content block kinds, stop reason) the answer must have.
SHAPES: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "text": ({"system": [{"text": "Be brief."}]}, ["text"], "end_turn"),
    "max_tokens": ({"inferenceConfig": {"maxTokens": 3}}, ["text"], "max_tokens"),
    "stop_sequence": ({"inferenceConfig": {"stopSequences": ["emulator"]}}, ["text"], "stop_sequence"),
    "tools_auto": ({"toolConfig": {"tools": [WEATHER_SPEC, CLOCK_SPEC]}},
                   ["text", "toolUse", "toolUse"], "tool_use"),
    "tool_forced": ({"toolConfig": {"tools": [WEATHER_SPEC, CLOCK_SPEC],
                                    "toolChoice": {"tool": {"name": "get_time"}}}}, ["toolUse"], "tool_use"),
    "thinking_and_tools": ({"modelId": CLAUDE, "toolConfig": {"tools": [WEATHER_SPEC]},
                            "additionalModelRequestFields": THINKING},
                           ["reasoningContent", "text", "toolUse"], "tool_use"),
}


def client(emulator: Emulator, **kwargs: Any) -> Any:
    options = {"aws_access_key_id": aws.ACCESS_KEY_ID, "aws_secret_access_key": aws.SECRET_ACCESS_KEY,
               **kwargs}
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=emulator.url,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}), **options)


def request(shape: str) -> dict[str, Any]:
    extra, _, _ = SHAPES[shape]
    return {"modelId": NOVA, "messages": USER, **extra}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_converse_answers_parse(emulator: Emulator, shape: str) -> None:
    answer = client(emulator).converse(**request(shape))
    _, kinds, stop = SHAPES[shape]
    content = answer["output"]["message"]["content"]
    assert [next(iter(block)) for block in content] == kinds
    assert answer["stopReason"] == stop
    usage = answer["usage"]
    assert usage["inputTokens"] > 0 and usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert isinstance(answer["metrics"]["latencyMs"], int)
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["ResponseMetadata"]["RequestId"])
    for block in content:
        if "toolUse" in block:
            assert isinstance(block["toolUse"]["input"], dict)
        if "reasoningContent" in block:
            assert block["reasoningContent"]["reasoningText"]["signature"]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_converse_stream_matches_converse(emulator: Emulator, shape: str) -> None:
    sdk = client(emulator)
    events = list(sdk.converse_stream(**request(shape))["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    answer = sdk.converse(**request(shape))
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events
                   if "contentBlockDelta" in e)
    assert text == "".join(b.get("text", "") for b in answer["output"]["message"]["content"])
    tools = [e["contentBlockStart"]["start"]["toolUse"]["name"] for e in events if "contentBlockStart" in e]
    assert tools == [b["toolUse"]["name"] for b in answer["output"]["message"]["content"] if "toolUse" in b]
    assert events[-2]["messageStop"]["stopReason"] == answer["stopReason"]
    assert events[-1]["metadata"]["usage"] == answer["usage"]


@pytest.mark.parametrize(("status", "code"), [
    (400, "ValidationException"), (403, "AccessDeniedException"), (404, "ResourceNotFoundException"),
    (408, "ModelTimeoutException"), (424, "ModelErrorException"), (429, "ThrottlingException"),
    (500, "InternalServerException"), (503, "ServiceUnavailableException"),
])
def test_errors_are_botocores(emulator: Emulator, status: int, code: str) -> None:
    emulator.fail(status, provider="bedrock")
    with pytest.raises(ClientError) as info:
        client(emulator).converse(**request("text"))
    error = info.value.response
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["Error"]["Message"]


def test_validation_and_auth_errors_are_botocores(emulator: Emulator) -> None:
    with pytest.raises(ClientError, match="model identifier is invalid") as info:
        client(emulator).converse(**{**request("text"), "modelId": "us.does-not-exist-model-v1:0"})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        client(emulator, aws_secret_access_key="wrong").converse(**request("text"))
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as info:
        client(emulator, aws_access_key_id="AKIAUNKNOWN000000000").converse(**request("text"))
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


@pytest.mark.parametrize(("status", "code"), [
    (429, "throttlingException"), (424, "modelStreamErrorException"), (400, "validationException"),
    (500, "internalServerException"), (503, "serviceUnavailableException"),
])
def test_exception_frames_are_botocores(emulator: Emulator, status: int, code: str) -> None:
    emulator.stream_error(status=status, provider="bedrock")
    stream = client(emulator).converse_stream(**request("text"))["stream"]
    with pytest.raises(EventStreamError) as info:
        list(stream)
    assert info.value.response["Error"]["Code"] == code


def test_corrupt_frames_fail_botocores_crc_check(emulator: Emulator) -> None:
    from botocore.eventstream import ChecksumMismatch

    emulator.corrupt_stream(at=40, provider="bedrock")
    with pytest.raises(ChecksumMismatch):
        list(client(emulator).converse_stream(**request("text"))["stream"])


def test_temporary_credentials(emulator: Emulator) -> None:
    temp = client(emulator, aws_access_key_id=aws.TEMP_ACCESS_KEY_ID,
                  aws_secret_access_key=aws.TEMP_SECRET_ACCESS_KEY, aws_session_token=aws.SESSION_TOKEN)
    assert temp.converse(**request("text"))["stopReason"] == "end_turn"
    assert emulator.requests[-1].headers["x-amz-security-token"] == aws.SESSION_TOKEN


def test_bedrock_api_key_over_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sends ``AWS_BEARER_TOKEN_BEDROCK`` as Bearer (over HTTPS only), as we do."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", "key.pem", "-out", "cert.pem"], cwd=tmp_path, check=True,
                   capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "emulator-bedrock-api-key")
    with Emulator(api_key="emulator-bedrock-api-key", ssl_context=context) as emu:
        sdk = boto3.Session().client("bedrock-runtime", region_name="us-east-1",
                                     endpoint_url=emu.url, verify=str(tmp_path / "cert.pem"))
        assert sdk.converse(**request("text"))["stopReason"] == "end_turn"
        assert emu.requests[-1].headers["authorization"] == "Bearer emulator-bedrock-api-key"
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        llmrelay.close()
        try:
            resp = llmrelay.completion(model=f"bedrock/{NOVA}", api_base=emu.url,
                                       messages=[{"role": "user", "content": "Hi there"}])
        finally:
            monkeypatch.undo()
            llmrelay.close()
        assert resp.choices[0].finish_reason == "stop"
        assert emu.requests[-1].headers["authorization"] == "Bearer emulator-bedrock-api-key"


def test_invoke_model_embeddings(emulator: Emulator) -> None:
    sdk = client(emulator)
    titan = json.loads(sdk.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=json.dumps(
        {"inputText": "hello world", "dimensions": 256, "normalize": True}))["body"].read())
    assert len(titan["embedding"]) == 256 and titan["inputTextTokenCount"] == 2
    assert abs(sum(v * v for v in titan["embedding"]) - 1) < 1e-6
    cohere = json.loads(sdk.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps(
        {"texts": ["a", "b"], "input_type": "search_document"}))["body"].read())
    assert cohere["response_type"] == "embeddings_floats" and len(cohere["embeddings"]) == 2
    v4 = json.loads(sdk.invoke_model(modelId="cohere.embed-v4:0", body=json.dumps(
        {"texts": ["a"], "input_type": "search_query", "output_dimension": 512}))["body"].read())
    assert v4["response_type"] == "embeddings_by_type" and len(v4["embeddings"]["float"][0]) == 512


# ---- our signature, computed again by botocore ------------------------------------------------


def botocore_signature(received: RecordedRequest) -> str:
    """botocore's SigV4 over the request exactly as the emulator received it."""
    authorization = received.headers["authorization"]
    match = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/bedrock/aws4_request, "
                      r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", authorization)
    assert match is not None, authorization
    key_id, region, signed = match[1], match[2], match[3].split(";")
    secret, token = aws.CREDENTIALS[key_id]
    headers = {name: received.headers[name] for name in signed}
    rebuilt = AWSRequest(method=received.method, url=f"http://{received.headers['host']}{received.path}",
                         data=received.raw_body, headers=headers)
    rebuilt.context["timestamp"] = received.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(key_id, secret, token), "bedrock", region)
    signer._modify_request_before_signing(rebuilt)
    assert signer.signed_headers(signer.headers_to_sign(rebuilt)) == match[3]
    canonical = signer.canonical_request(rebuilt)
    return str(signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("model", [NOVA, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + CLAUDE])
@pytest.mark.parametrize("temporary", [False, True])
def test_botocore_computes_the_signature_we_sent(emulator: Emulator, mode: str, model: str,
                                                 temporary: bool) -> None:
    keys = ({"aws_access_key_id": aws.TEMP_ACCESS_KEY_ID, "aws_secret_access_key": aws.TEMP_SECRET_ACCESS_KEY,
             "aws_session_token": aws.SESSION_TOKEN} if temporary else
            {"aws_access_key_id": aws.ACCESS_KEY_ID, "aws_secret_access_key": aws.SECRET_ACCESS_KEY})
    kwargs = {"model": f"bedrock/{model}", "api_base": emulator.base_url("bedrock"),
              "aws_region_name": "eu-west-1", "messages": [{"role": "user", "content": "Caf\u00e9 \u2615?"}],
              "extra_headers": {"X-Amz-Bedrock-Trace-Id": "t-1"}, **keys}
    for stream in (False, True):
        if mode == "sync":
            result = llmrelay.completion(stream=stream, **kwargs)
            list(result) if stream else result
        else:
            async def run(stream: bool) -> None:
                result = await llmrelay.acompletion(stream=stream, **kwargs)
                if stream:
                    [c async for c in result]
            asyncio.run(run(stream))
        received = emulator.requests[-1]
        sent = received.headers["authorization"].rsplit("Signature=", 1)[1]
        assert botocore_signature(received) == sent
        assert "x-amz-bedrock-trace-id" in received.headers["authorization"]


# ---- request bodies against the service model -----------------------------------------------


def shape_errors(shape: Any, value: Any, where: str = "") -> list[str]:
    """What is wrong with ``value`` for a botocore shape (an empty list when it is valid)."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure" and meta.get("document"):
        return []  # free JSON (additionalModelRequestFields, tool input, schemas)
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        members = {k: v for k, v in shape.members.items() if not v.serialization.get("location")}
        errors = [f"{where}.{k}: unknown member" for k in value if k not in members]
        if meta.get("union") and len(value) != 1:
            errors.append(f"{where}: a union needs exactly one member, got {sorted(value)}")
        errors += [f"{where}.{k}: required" for k in shape.required_members
                   if k in members and k not in value]
        for k, v in value.items():
            if k in members:
                errors += shape_errors(members[k], v, f"{where}.{k}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        errors = bounds(meta, len(value), where)
        for i, item in enumerate(value):
            errors += shape_errors(shape.member, item, f"{where}[{i}]")
        return errors
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map"]
        return [e for k, v in value.items() for e in shape_errors(shape.key, k, f"{where}<key>")
                + shape_errors(shape.value, v, f"{where}.{k}")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        errors = bounds(meta, len(value), where)
        if shape.enum and value not in shape.enum:
            errors.append(f"{where}: {value!r} not in {shape.enum}")
        if meta.get("pattern") and not re.fullmatch(meta["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {meta['pattern']}")
        return errors
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return bounds(meta, value, where) if ok else [f"{where}: expected an integer"]
    if kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return bounds(meta, value, where) if ok else [f"{where}: expected a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean"]
    if kind == "blob":
        try:
            data = base64.b64decode(value, validate=True)
        except (ValueError, TypeError):
            return [f"{where}: expected base64"]
        return bounds(meta, len(data), where)
    return [f"{where}: no check for shape type {kind}"]


def bounds(meta: dict[str, Any], value: float, where: str) -> list[str]:
    errors = []
    if "min" in meta and value < meta["min"]:
        errors.append(f"{where}: {value} < min {meta['min']}")
    if "max" in meta and value > meta["max"]:
        errors.append(f"{where}: {value} > max {meta['max']}")
    return errors


@pytest.mark.parametrize("case", sorted(GOLDEN.glob("*/request.json")), ids=lambda p: p.parent.name)
def test_golden_request_bodies_fit_the_converse_shape(case: Path) -> None:
    assert shape_errors(CONVERSE_INPUT, json.loads(case.read_text())) == []


def test_round_trip_request_bodies_fit_the_converse_shape(emulator: Emulator) -> None:
    keys = {"api_base": emulator.base_url("bedrock"), "aws_access_key_id": aws.ACCESS_KEY_ID,
            "aws_secret_access_key": aws.SECRET_ACCESS_KEY, "aws_region_name": "us-east-1"}
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}
    model = f"bedrock/{CLAUDE}"
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Be brief.",
                                       "cache_control": {"type": "ephemeral"}},
                                      {"role": "user", "content": "Weather in Paris?"}]
    first = llmrelay.completion(model=model, messages=messages, tools=[weather], max_tokens=2048,
                                thinking={"type": "enabled", "budget_tokens": 1024}, **keys)
    message = first.choices[0].message
    messages += [message.model_dump(),
                 {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "18C"}]
    llmrelay.completion(model=model, messages=messages, tools=[weather], max_tokens=2048,
                        thinking={"type": "enabled", "budget_tokens": 1024}, **keys)
    llmrelay.completion(model=f"bedrock/{NOVA}", messages=messages[1:2], stop=["x"], top_p=0.5,
                        response_format={"type": "json_object"}, top_k=3, **keys)
    assert len(emulator.requests) == 3
    for received in emulator.requests:
        assert shape_errors(CONVERSE_INPUT, received.body) == []


def test_the_shape_check_finds_mistakes() -> None:
    body = {"messages": [{"role": "robot", "content": [{"text": "a", "image": {}}]}],
            "inferenceConfig": {"temperature": 3, "maxTokens": 0}, "toolConfig": {"tools": [
                {"toolSpec": {"name": "bad name!", "inputSchema": {"json": {}}}}]}, "extra": 1}
    errors = "\n".join(shape_errors(CONVERSE_INPUT, body))
    for expected in (".extra: unknown member", "'robot' not in", "exactly one member",
                     "temperature: 3 > max 1", "maxTokens: 0 < min 1", "does not match"):
        assert expected in errors
