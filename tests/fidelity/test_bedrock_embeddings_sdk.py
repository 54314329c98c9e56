"""boto3 / botocore (test-only) check the Bedrock embeddings path: the emulator's InvokeModel,
and the requests llmrelay sends.

- boto3's ``bedrock-runtime`` ``invoke_model`` against the emulator: Titan v1 / v2 and Cohere
  v3 / v4 answers parse, carry the token-count header, and what Bedrock refuses raises
  botocore's ``ValidationException``.
- botocore's own serialisation of ``InvokeModel`` (service model, rest-json) for the body
  llmrelay sent gives the same path, headers and bytes; botocore's SigV4 gives the signature
  llmrelay sent; boto3 and llmrelay get the same vectors for the same call.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.serialize import create_serializer

import llmrelay
from llmrelay.testing import Emulator, aws
from tests.fidelity.test_bedrock_sdk import botocore_signature, client

INVOKE = botocore.session.get_session().get_service_model("bedrock-runtime").operation_model(
    "InvokeModel")


def invoke(emulator: Emulator, model: str, body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    answer = client(emulator).invoke_model(modelId=model, body=json.dumps(body),
                                           contentType="application/json",
                                           accept="application/json")
    return json.loads(answer["body"].read()), answer["ResponseMetadata"]["HTTPHeaders"]


@pytest.mark.parametrize("model, body, check", [
    ("amazon.titan-embed-text-v2:0", {"inputText": "hello world", "dimensions": 512},
     lambda a: len(a["embedding"]) == 512 and a["embeddingsByType"]["float"] == a["embedding"]),
    ("amazon.titan-embed-text-v2:0", {"inputText": "hello world", "embeddingTypes": ["float", "binary"]},
     lambda a: set(a["embeddingsByType"]["binary"]) <= {0, 1} and len(a["embeddingsByType"]["binary"]) == 1024),
    ("amazon.titan-embed-text-v1", {"inputText": "hello world"},
     lambda a: len(a["embedding"]) == 1536 and "embeddingsByType" not in a),
    ("cohere.embed-multilingual-v3", {"texts": ["a", "b"], "input_type": "clustering"},
     lambda a: a["response_type"] == "embeddings_floats" and len(a["embeddings"]) == 2),
    ("cohere.embed-english-v3", {"texts": ["a"], "input_type": "search_query",
                                 "embedding_types": ["float", "int8", "ubinary"]},
     lambda a: a["response_type"] == "embeddings_by_type" and len(a["embeddings"]["ubinary"][0]) == 128),
    ("us.cohere.embed-v4:0", {"texts": ["a"], "input_type": "search_query", "output_dimension": 256},
     lambda a: a["response_type"] == "embeddings_by_type" and len(a["embeddings"]["float"][0]) == 256),
])
def test_boto3_parses_the_emulator_s_answers(emulator: Emulator, model: str,
                                             body: dict[str, Any], check: Any) -> None:
    answer, headers = invoke(emulator, model, body)
    assert check(answer)
    assert int(headers["x-amzn-bedrock-input-token-count"]) >= 1
    assert headers["x-amzn-requestid"]
    if "texts" in body:
        assert "meta" not in answer and answer["texts"] == body["texts"]  # no usage in the body


@pytest.mark.parametrize("model, body, message", [
    ("cohere.embed-english-v3", {"texts": ["x"] * 97, "input_type": "search_document"},
     "expected maximum item count: 96, found: 97"),
    ("cohere.embed-v4:0", {"texts": ["x"]}, "required key [input_type] not found"),
    ("cohere.embed-english-v3", {"texts": ["x"], "input_type": "search_document",
                                 "output_dimension": 256}, "extraneous key [output_dimension]"),
    ("amazon.titan-embed-text-v2:0", {"inputText": "x", "dimensions": 384},
     "#/dimensions: 384 is not a valid enum value"),
    ("amazon.titan-embed-text-v2:0", {"inputText": ""}, "expected minLength: 1, actual: 0"),
    ("amazon.titan-embed-text-v1", {"inputText": "x", "dimensions": 256}, "extraneous key [dimensions]"),
    ("amazon.titan-embed-text-v2:0", {"texts": ["x"]}, "extraneous key [texts]"),
])
def test_boto3_gets_bedrock_s_refusals(emulator: Emulator, model: str, body: dict[str, Any],
                                       message: str) -> None:
    with pytest.raises(ClientError) as info:
        invoke(emulator, model, body)
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException" and message in error["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_boto3_gets_the_throttling_code(emulator: Emulator) -> None:
    emulator.fail(429, provider="bedrock")
    with pytest.raises(ClientError) as info:
        invoke(emulator, "amazon.titan-embed-text-v2:0", {"inputText": "x"})
    assert info.value.response["Error"]["Code"] == "ThrottlingException"


CALLS: dict[str, dict[str, Any]] = {
    "titan": {"model": "amazon.titan-embed-text-v2:0", "input": "Caf\u00e9 \u2615", "dimensions": 256,
              "normalize": True},
    "titan_v1": {"model": "amazon.titan-embed-text-v1", "input": "plain"},
    "cohere_v3": {"model": "cohere.embed-english-v3", "input": ["a", "b c"],
                  "input_type": "classification", "truncate": "NONE"},
    "cohere_v4_profile": {"model": "us.cohere.embed-v4:0", "input": ["a"], "dimensions": 1024,
                          "input_type": "search_query"},
    "cohere_v4_arn": {"model": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                               "eu.cohere.embed-v4:0", "input": ["a"]},
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", list(CALLS))
def test_our_request_is_botocore_s(emulator: Emulator, mode: str, name: str) -> None:
    call = dict(CALLS[name])
    model = call.pop("model")
    kwargs = {"model": f"bedrock/{model}", "api_base": emulator.base_url("bedrock"),
              "aws_access_key_id": aws.ACCESS_KEY_ID,
              "aws_secret_access_key": aws.SECRET_ACCESS_KEY, "aws_region_name": "us-west-2",
              **call}
    ours = (llmrelay.embedding(**kwargs) if mode == "sync"
            else asyncio.run(llmrelay.aembedding(**kwargs)))
    received = emulator.requests[-1]
    wire = create_serializer("rest-json").serialize_to_request(
        {"modelId": model, "body": received.raw_body, "contentType": "application/json",
         "accept": "application/json"}, INVOKE)
    assert received.path == wire["url_path"]
    assert received.raw_body == wire["body"]
    assert {k.lower(): v for k, v in wire["headers"].items()} == {
        k: received.headers[k] for k in ("content-type", "accept")}
    sent = received.headers["authorization"].rsplit("Signature=", 1)[1]
    assert botocore_signature(received) == sent
    # boto3 sending the same body gets the same vectors.
    answer, _ = invoke(emulator, model, json.loads(received.raw_body))
    found = answer.get("embeddings")
    vectors = ([answer["embedding"]] if found is None
               else found["float"] if isinstance(found, dict) else found)
    assert [d.embedding for d in ours.data] == vectors
