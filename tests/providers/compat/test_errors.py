"""Every error envelope of the family -> the contract's class, message and code.

Bodies are the providers' own, from recordings, public issues (quoted in
shared/PROVIDERS.md section 10 and the emulator) and SDK sources."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.registry import get_adapter
from tests.providers.openai.replay import context

MISTRAL_422 = {"object": "error", "message": {"detail": [
    {"type": "extra_forbidden", "loc": ["body", "store"], "msg": "Extra inputs are not permitted",
     "input": False}]}, "type": "invalid_request_error", "param": None, "code": None}

CASES: list[tuple[str, int, Any, type[Exception], str, str | None]] = [
    # provider, status, body, class, message, code
    ("mistral", 422, MISTRAL_422, llmrelay.UnsupportedParamsError,
     "store: Extra inputs are not permitted", "invalid_request_error"),
    ("mistral", 422, {"detail": [{"type": "missing", "loc": ["body", "messages"],
                                  "msg": "Field required", "input": None}]},
     llmrelay.BadRequestError, "messages: Field required", None),
    ("mistral", 401, {"detail": "Unauthorized"}, llmrelay.AuthenticationError, "Unauthorized", None),
    ("mistral", 401, {"message": "Unauthorized", "request_id": "c61f2f15feca71626a990e3740f99245"},
     llmrelay.AuthenticationError, "Unauthorized", None),
    ("mistral", 429, {"object": "error", "message": "Rate limit exceeded", "type": "rate_limited",
                      "param": None, "code": "1300"},
     llmrelay.RateLimitError, "Rate limit exceeded", "1300"),
    ("mistral", 400, {"object": "error", "message": "Prompt contains 40000 tokens, too large for "
                      "model with 32768 maximum context length", "type": "invalid_request_error",
                      "param": None, "code": None},
     llmrelay.ContextWindowExceededError, "Prompt contains 40000 tokens", "invalid_request_error"),
    ("groq", 400, {"error": {"code": "tool_use_failed", "failed_generation": "{}",
                             "message": "Tool call validation failed", "type": "invalid_request_error"}},
     llmrelay.BadRequestError, "Tool call validation failed", "tool_use_failed"),
    ("groq", 413, {"error": {"message": "Request too large for model `llama-3.1-8b-instant` on tokens "
                             "per minute (TPM): Limit 6000, Requested 9000, please reduce your "
                             "message size and try again.", "type": "tokens",
                             "code": "rate_limit_exceeded"}},
     llmrelay.BadRequestError, "Request too large", "rate_limit_exceeded"),
    ("groq", 498, {"error": {"message": "Flex tier capacity exceeded", "type": "capacity_exceeded"}},
     llmrelay.ServiceUnavailableError, "Flex tier capacity exceeded", "capacity_exceeded"),
    ("deepseek", 402, {"error": {"message": "Insufficient Balance", "type": "unknown_error",
                                 "param": None, "code": "invalid_request_error"}},
     llmrelay.BadRequestError, "Insufficient Balance", "invalid_request_error"),
    ("deepseek", 400, {"error": {"message": "This model's maximum context length is 65536 tokens. "
                                 "However, you requested 70000 tokens.", "type":
                                 "invalid_request_error", "param": None,
                                 "code": "invalid_request_error"}},
     llmrelay.ContextWindowExceededError, "maximum context length", "invalid_request_error"),
    ("xai", 400, {"code": "Client specified an invalid argument", "error": "Incorrect API key "
                  "provided: sk***YA. You can obtain an API key from https://console.x.ai."},
     llmrelay.AuthenticationError, "Incorrect API key provided", "Client specified an invalid argument"),
    ("xai", 400, {"code": "Client specified an invalid argument",
                  "error": "Argument not supported on this model: reasoningEffort"},
     llmrelay.UnsupportedParamsError, "reasoningEffort", "Client specified an invalid argument"),
    ("xai", 404, {"code": "Some requested entity was not found", "error": "The model grok-9 does "
                  "not exist or your team does not have access to it."},
     llmrelay.NotFoundError, "grok-9 does not exist", "Some requested entity was not found"),
    ("together_ai", 401, {"error": {"message": "Invalid API key provided.", "type":
                                    "invalid_request_error", "param": None, "code": "invalid_api_key"}},
     llmrelay.AuthenticationError, "Invalid API key provided.", "invalid_api_key"),
    ("fireworks_ai", 404, {"error": {"object": "error", "type": "invalid_request_error",
                                     "message": "Model not found, inaccessible, and/or not deployed"}},
     llmrelay.NotFoundError, "Model not found", "invalid_request_error"),
    ("perplexity", 401, "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n"
     "<body><center><h1>401 Authorization Required</h1></center></body></html>",
     llmrelay.AuthenticationError, "401 Authorization Required", None),
    ("perplexity", 400, {"error": {"message": "Invalid model 'pplx-7b-chat'.", "type": "invalid_model",
                                   "code": 400}},
     llmrelay.BadRequestError, "Invalid model 'pplx-7b-chat'.", "400"),
    ("ollama", 404, {"error": {"message": 'model "gemma3:12b" not found, try pulling it first',
                               "type": "api_error", "param": None, "code": None}},
     llmrelay.NotFoundError, "try pulling it first", "api_error"),
    ("hosted_vllm", 401, {"error": "Unauthorized"}, llmrelay.AuthenticationError, "Unauthorized", None),
    ("hosted_vllm", 400, {"object": "error", "message": "This model's maximum context length is 4096 "
                          "tokens. However, you requested 5000 tokens.", "type": "BadRequestError",
                          "param": None, "code": 400},
     llmrelay.ContextWindowExceededError, "maximum context length is 4096", "400"),
    ("hosted_vllm", 502, "Bad Gateway", llmrelay.InternalServerError, "Bad Gateway", None),
]


@pytest.mark.parametrize(("provider", "status", "body", "cls", "message", "code"), [
    pytest.param(*c, id=f"{c[0]}-{c[1]}-{c[3].__name__}") for c in CASES])
def test_error_envelopes(provider: str, status: int, body: Any, cls: type[Exception],
                         message: str, code: str | None) -> None:
    ctx = context(provider, {"request": {"body": {"model": "m"}}})
    error = get_adapter(provider).parse_error(status, body, {}, ctx)
    assert type(error) is cls, repr(error)
    assert message in error.message and error.status_code == status
    assert error.code == code


def test_mistral_422_names_the_refused_field() -> None:
    ctx = context("mistral", {"request": {"body": {"model": "m"}}})
    error = get_adapter("mistral").parse_error(422, MISTRAL_422, {}, ctx)
    assert isinstance(error, llmrelay.UnsupportedParamsError) and error.param == "store"


@pytest.mark.parametrize("provider", ["mistral", "hosted_vllm"])
def test_error_object_in_a_200_body(provider: str) -> None:
    """vLLM and Mistral can answer an ``{"object": "error"}`` body; it raises, never parses."""
    ctx = context(provider, {"request": {"body": {"model": "m"}}})
    body = {"object": "error", "message": "The server is overloaded", "type": "ServiceUnavailable",
            "param": None, "code": 503}
    with pytest.raises(llmrelay.ServiceUnavailableError, match="overloaded"):
        get_adapter(provider).parse_response(body, ctx)
