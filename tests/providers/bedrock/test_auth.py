"""Bedrock credentials, region and endpoint resolution, per-attempt signing, and masking.

Missing credentials fail before any request; AWS settings given as keywords stay out of the
body; the secret key, the session token and the signature never show in logs, errors or reprs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.call import Call, prepare
from llmrelay.config import mask_secret
from llmrelay.providers.bedrock.sigv4 import sign_request
from llmrelay.testing import Emulator, aws

NOVA = "bedrock/us.amazon.nova-micro-v1:0"
HI = [{"role": "user", "content": "Hi"}]


def prepared(params: dict[str, Any] | None = None, **kwargs: Any) -> Call:
    options = {"api_key": None, "api_base": None, "options": {}, "timeout": None,
               "force_timeout": None, "azure": False, "logger_fn": None, "verbose": False,
               "num_retries": None, "drop_params": False, "extra_headers": None,
               "extra_body": None, **kwargs}
    return prepare(NOVA, HI, dict(params or {}), **options)


def test_missing_credentials_fail_before_any_request(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as info:
        llmrelay.completion(model=NOVA, messages=HI, api_base=emulator.base_url("bedrock"),
                            aws_region_name="us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_BEARER_TOKEN_BEDROCK",
                 "AWS_SESSION_TOKEN"):
        assert name in info.value.message
    assert info.value.provider == "bedrock"
    assert emulator.count() == 0


def test_half_a_key_pair_names_the_missing_half(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDONLY")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with pytest.raises(llmrelay.AuthenticationError, match=r"\(AWS_SECRET_ACCESS_KEY not set\)"):
        prepared()


def test_missing_region_names_the_variables() -> None:
    with pytest.raises(llmrelay.BadRequestError, match="AWS_REGION or AWS_DEFAULT_REGION"):
        prepared({"aws_access_key_id": "AKID", "aws_secret_access_key": "secret"})
    with pytest.raises(llmrelay.BadRequestError, match="Not an AWS region"):
        prepared({"aws_access_key_id": "AKID", "aws_secret_access_key": "secret",
                  "aws_region_name": "us-east-1.evil.example/x"})


def test_environment_gives_keys_region_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    call = prepared()
    assert call.request.url == ("https://bedrock-runtime.eu-west-1.amazonaws.com/model/"
                                "us.amazon.nova-micro-v1%3A0/converse")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # AWS_REGION wins, as in botocore
    signed = prepared().sign(prepared().request)
    assert "/eu-central-1/bedrock/aws4_request" in signed.headers["authorization"]
    assert signed.headers["host"] == "bedrock-runtime.eu-central-1.amazonaws.com"
    monkeypatch.setenv("BEDROCK_API_BASE", "https://vpce-1.bedrock-runtime.example/")
    assert prepared().request.url.startswith("https://vpce-1.bedrock-runtime.example/model/")
    # Keywords win over the environment and never reach the body.
    call = prepared({"aws_region_name": "us-west-2", "aws_access_key_id": "AKIDARG"})
    assert "aws_region_name" not in call.request.json and "aws_region_name" not in call.ctx.request
    assert "AKIDARG/" in call.sign(call.request).headers["authorization"]
    assert "/us-west-2/" in call.sign(call.request).headers["authorization"]


def test_a_bedrock_api_key_wins_and_needs_no_region_behind_a_base(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-from-env")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    call = prepared(api_base="https://proxy.example")
    assert call.request.headers["authorization"] == "Bearer bedrock-api-key-from-env"
    assert call.sign(call.request) is call.request
    with pytest.raises(llmrelay.BadRequestError, match="No AWS region"):
        prepared()


def test_credentials_from_the_environment_reach_the_emulator(
        monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", aws.TEMP_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", aws.TEMP_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", aws.SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("BEDROCK_API_BASE", emulator.base_url("bedrock"))
    resp = llmrelay.completion(model=NOVA, messages=HI)
    assert resp.choices[0].message.content.startswith("Hello")


def test_every_retry_is_signed_anew(emulator: Emulator) -> None:
    """Two attempts a second apart carry different timestamps, and both pass verification."""
    emulator.fail(503, headers={"retry-after-ms": "1100"}, provider="bedrock")
    resp = llmrelay.completion(model=NOVA, messages=HI, api_base=emulator.base_url("bedrock"),
                               aws_access_key_id=aws.ACCESS_KEY_ID,
                               aws_secret_access_key=aws.SECRET_ACCESS_KEY,
                               aws_region_name="us-east-1", num_retries=1)
    assert resp.choices[0].finish_reason == "stop"
    first, second = emulator.requests
    assert first.headers["x-amz-date"] != second.headers["x-amz-date"]
    assert first.headers["authorization"] != second.headers["authorization"]


def test_signing_replaces_a_callers_auth_headers_and_signs_amz_ones() -> None:
    headers = sign_request(
        "POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
        {"Authorization": "stale", "X-Amz-Date": "19990101T000000Z",
         "X-Amz-Bedrock-Thing": "1", "content-type": "application/json", "accept": "*/*"},
        b"{}", access_key="AKID", secret_key="secret", region="us-east-1", service="bedrock",
        now=1767268800)
    assert "Authorization" not in headers and "X-Amz-Date" not in headers
    assert headers["x-amz-date"] == "20260101T120000Z"
    assert "SignedHeaders=content-type;host;x-amz-bedrock-thing;x-amz-date," in headers["authorization"]


SECRET = "super/Secret+Access/Key-0123456789abcdef"
TOKEN = "IQoJb3JpZ2luX2VjSecretSessionToken0123456789=="


def test_secrets_and_signatures_never_show(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    records: list[dict[str, Any]] = []
    emulator.fail(400, body={"message": f"echo {aws.TEMP_SECRET_ACCESS_KEY} {aws.SESSION_TOKEN}"},
                  provider="bedrock")
    with pytest.raises(llmrelay.UnsupportedParamsError) as unsupported:
        llmrelay.completion(model=NOVA, messages=HI, seed=1, aws_access_key_id="AKID",
                            aws_secret_access_key=SECRET, aws_region_name="us-east-1")
    with pytest.raises(llmrelay.AuthenticationError) as info:
        llmrelay.completion(model=NOVA, messages=HI, api_base=emulator.base_url("bedrock"),
                            aws_access_key_id=aws.TEMP_ACCESS_KEY_ID, aws_secret_access_key=SECRET,
                            aws_session_token=TOKEN, aws_region_name="us-east-1",
                            logger_fn=records.append, verbose=True, num_retries=0)
    with pytest.raises(llmrelay.BadRequestError) as echoed:
        llmrelay.completion(model=NOVA, messages=HI, api_base=emulator.base_url("bedrock"),
                            aws_access_key_id=aws.TEMP_ACCESS_KEY_ID,
                            aws_secret_access_key=aws.TEMP_SECRET_ACCESS_KEY,
                            aws_session_token=aws.SESSION_TOKEN, aws_region_name="us-east-1",
                            logger_fn=records.append, num_retries=0)
    signatures = [r.headers["authorization"].rsplit("Signature=", 1)[1] for r in emulator.requests]
    assert len(signatures) == 2  # the refused one, then the one answered by the echo fault
    printed = capsys.readouterr().err
    assert [r["event"] for r in records] == ["pre_api_call", "post_api_call"] * 2
    assert records[0]["headers"]["x-amz-security-token"] == mask_secret(TOKEN)
    call = prepared({"aws_access_key_id": "AKID", "aws_secret_access_key": SECRET,
                     "aws_session_token": TOKEN, "aws_region_name": "us-east-1"})
    signed = call.sign(call.request)
    texts = [json.dumps(records, default=str), printed, repr(call.request), repr(signed),
             repr(call.ctx), repr(call.ctx.settings)]
    for error in (unsupported.value, info.value, echoed.value):
        texts += [str(error), repr(error), json.dumps(error.response, default=str)]
    secrets = [SECRET, TOKEN, aws.TEMP_SECRET_ACCESS_KEY, aws.SESSION_TOKEN, *signatures,
               signed.headers["authorization"].rsplit("Signature=", 1)[1]]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert echoed.value.message == (f"echo {mask_secret(aws.TEMP_SECRET_ACCESS_KEY)} "
                                     f"{mask_secret(aws.SESSION_TOKEN)}")


def test_signatures_made_within_one_second_each_cover_their_own_request() -> None:
    """The canonical header block is reused for a second of requests to one URL with one set
    of headers; the body, the headers and the credentials still make each signature."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse"
    cases = [
        ({"content-type": "application/json"}, b'{"a":1}', None),
        ({"content-type": "application/json"}, b'{"a":2}', None),
        ({"content-type": "application/json", "x-amz-bedrock-trace": "t1"}, b'{"a":2}', None),
        ({"content-type": "application/json"}, b'{"a":2}', "session-token-1"),
        ({"content-type": "application/json"}, b'{"a":1}', None),
    ]
    signatures = []
    for headers, body, token in cases:
        signed = sign_request("POST", url, headers, body, access_key="AKID", secret_key="secret",
                              region="us-east-1", service="bedrock", session_token=token,
                              now=1767268800)
        rebuilt = AWSRequest(method="POST", url=url, data=body,
                             headers={k: v for k, v in signed.items() if k != "authorization"})
        rebuilt.context["timestamp"] = signed["x-amz-date"]
        signer = SigV4Auth(Credentials("AKID", "secret", token), "bedrock", "us-east-1")
        signer._modify_request_before_signing(rebuilt)
        string_to_sign = signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt))
        expected = signer.signature(string_to_sign, rebuilt)
        assert signed["authorization"].endswith(f"Signature={expected}")
        assert signed.get("x-amz-security-token") == token
        signatures.append(expected)
    assert len(set(signatures)) == 4 and signatures[0] == signatures[4]
