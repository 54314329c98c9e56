"""Costs against the providers' published per-million-token prices, worked out by hand.

Each expected figure is written out as arithmetic over the published price (USD per million
tokens, "/M"), not read back from the data file, so a wrong or stale entry fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.pricing import completion_cost, cost_of_parts, register_model
from llmrelay.providers.anthropic.response import usage_fields
from llmrelay.providers.cohere.response import usage_of
from llmrelay.types import ModelResponse, Usage
from tests.conftest import RECORDED

M = 1_000_000


def usage(prompt: int, completion: int, *, cached: int | None = None,
          reasoning: int | None = None, **extra: Any) -> Usage:
    return Usage.of(prompt, completion, cached_tokens=cached, reasoning_tokens=reasoning, **extra)


def cost(model: str, u: Any) -> float:
    return completion_cost(model=model, usage=u)


# OpenAI (https://openai.com/api/pricing): gpt-4o $2.50 in, $1.25 cached in, $10 out;
# gpt-4o-mini $0.15 / $0.075 / $0.60; o3-mini $1.10 / $0.55 / $4.40.

def test_gpt_4o_mini_plain() -> None:
    # 1000 x 0.15/M + 200 x 0.60/M = 0.00015 + 0.00012
    assert cost("gpt-4o-mini", {"prompt_tokens": 1000, "completion_tokens": 200}) == 0.00027


def test_gpt_4o_mini_cached_prompt_tokens_at_the_cache_rate() -> None:
    # cached_tokens are inside prompt_tokens: 1024 fresh x 0.15/M + 1024 cached x 0.075/M
    # + 100 x 0.60/M = 0.0001536 + 0.0000768 + 0.00006
    u = usage(2048, 100, cached=1024)
    assert cost("gpt-4o-mini", u) == pytest.approx(0.0002904, rel=1e-9)


def test_gpt_4o_with_cache_and_prefix() -> None:
    # 6000 x 2.50/M + 4000 x 1.25/M + 500 x 10/M = 0.015 + 0.005 + 0.005
    u = usage(10_000, 500, cached=4000)
    assert cost("gpt-4o", u) == pytest.approx(0.025, rel=1e-9)
    assert cost("openai/gpt-4o", u) == pytest.approx(0.025, rel=1e-9)


def test_o3_mini_reasoning_tokens_are_counted_once() -> None:
    # completion_tokens (3000) already holds the 2500 reasoning tokens:
    # 1000 x 1.10/M + 3000 x 4.40/M = 0.0011 + 0.0132 (not + 2500 x 4.40/M again)
    u = usage(1000, 3000, reasoning=2500)
    assert cost("o3-mini", u) == pytest.approx(0.0143, rel=1e-9)


def test_o3_mini_cached_and_reasoning() -> None:
    # 500 x 1.10/M + 500 x 0.55/M + 3000 x 4.40/M = 0.00055 + 0.000275 + 0.0132
    u = usage(1000, 3000, cached=500, reasoning=2500)
    assert cost("o3-mini", u) == pytest.approx(0.014025, rel=1e-9)


def test_openai_response_priced_from_its_usage() -> None:
    # The recorded answer (gpt-4o-2024-08-06): 14 x 2.50/M + 7 x 10/M = 0.000035 + 0.00007
    body = json.loads((RECORDED / "openai" / "text_basic.json").read_text())["response"]["body"]
    resp = ModelResponse.model_validate(body)
    assert completion_cost(resp) == pytest.approx(0.000105, rel=1e-9)


def test_embedding_model() -> None:
    # text-embedding-3-small $0.02/M: 1000 x 0.02/M
    assert cost("text-embedding-3-small", {"prompt_tokens": 1000, "total_tokens": 1000}) \
        == pytest.approx(0.00002, rel=1e-9)


# Anthropic (https://www.anthropic.com/pricing#api): Claude 3.5 Sonnet and Sonnet 4 / 4.5
# $3 in, $3.75 5-minute cache write, $6 1-hour cache write, $0.30 cache read, $15 out; Sonnet
# 4 / 4.5 above 200k input tokens (1M context): $6 in, $7.50 write, $0.60 read, $22.50 out.

def anthropic_usage(fresh: int, written: int, read: int, output: int) -> Usage:
    """Usage as the Anthropic adapter maps the API's own usage block."""
    return Usage.model_validate(usage_fields({
        "input_tokens": fresh, "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read, "output_tokens": output}))


def test_claude_3_5_sonnet_cache_read_and_write() -> None:
    # 1000 x 3/M + 2000 x 3.75/M + 5000 x 0.30/M + 400 x 15/M
    # = 0.003 + 0.0075 + 0.0015 + 0.006
    u = anthropic_usage(1000, 2000, 5000, 400)
    assert cost("anthropic/claude-3-5-sonnet-20241022", u) == pytest.approx(0.018, rel=1e-9)
    assert cost("claude-3-5-sonnet-20241022", u) == pytest.approx(0.018, rel=1e-9)


def test_claude_sonnet_4_5_recorded_cache_usage() -> None:
    # tests/recorded/anthropic/usage_cache_read.json: 3 fresh, 418 written, 1111 read, 33 out
    # 3 x 3/M + 418 x 3.75/M + 1111 x 0.30/M + 33 x 15/M
    # = 0.000009 + 0.0015675 + 0.0003333 + 0.000495
    recorded = json.loads((RECORDED / "anthropic" / "usage_cache_read.json").read_text())
    u = Usage.model_validate(usage_fields(recorded["response"]["body"]["usage"]))
    assert cost("claude-sonnet-4-5", u) == pytest.approx(0.0024048, rel=1e-9)


def test_claude_one_hour_cache_writes() -> None:
    # 1000 fresh x 3/M + 1000 5-minute writes x 3.75/M + 1000 1-hour writes x 6/M + 100 x 15/M
    # = 0.003 + 0.00375 + 0.006 + 0.0015
    u = {"prompt_tokens": 3000, "completion_tokens": 100, "cache_creation_input_tokens": 2000,
         "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 1000}}
    assert cost("claude-sonnet-4-5", u) == pytest.approx(0.01425, rel=1e-9)


def test_claude_sonnet_4_5_long_context_tier() -> None:
    # 150k fresh + 60k read + 10k written = 220k input > 200k: the whole request at the 1M tier
    # 150000 x 6/M + 60000 x 0.60/M + 10000 x 7.50/M + 2000 x 22.50/M
    # = 0.9 + 0.036 + 0.075 + 0.045
    u = anthropic_usage(150_000, 10_000, 60_000, 2000)
    assert cost("claude-sonnet-4-5", u) == pytest.approx(1.056, rel=1e-9)


def test_claude_sonnet_4_at_exactly_200k_stays_in_the_base_tier() -> None:
    # 200000 x 3/M + 1000 x 15/M = 0.6 + 0.015; one token more: 200001 x 6/M + 1000 x 22.50/M
    assert cost("claude-sonnet-4-20250514", usage(200_000, 1000)) == pytest.approx(0.615)
    assert cost("claude-sonnet-4-20250514", usage(200_001, 1000)) \
        == pytest.approx(1.200006 + 0.0225, rel=1e-9)


# Gemini API (https://ai.google.dev/gemini-api/docs/pricing): 2.5 Pro up to 200k prompt
# tokens $1.25 in, $0.125 cached, $10 out (thinking included); above 200k $2.50 / $0.25 / $15.
# 2.5 Flash $0.30 in (text), $2.50 out.

def test_gemini_2_5_pro_base_tier() -> None:
    # 80000 x 1.25/M + 20000 cached x 0.125/M + 5000 x 10/M = 0.1 + 0.0025 + 0.05
    u = usage(100_000, 5000, cached=20_000, reasoning=3000)
    assert cost("gemini/gemini-2.5-pro", u) == pytest.approx(0.1525, rel=1e-9)


def test_gemini_2_5_pro_above_200k() -> None:
    # 300000 x 2.50/M + 10000 x 15/M = 0.75 + 0.15
    assert cost("gemini/gemini-2.5-pro", usage(300_000, 10_000)) == pytest.approx(0.9, rel=1e-9)
    # with 100k cached: 200000 x 2.50/M + 100000 x 0.25/M + 10000 x 15/M = 0.5 + 0.025 + 0.15
    u = usage(300_000, 10_000, cached=100_000)
    assert cost("gemini/gemini-2.5-pro", u) == pytest.approx(0.675, rel=1e-9)


def test_gemini_2_5_flash() -> None:
    # 10000 x 0.30/M + 2000 x 2.50/M = 0.003 + 0.005
    assert cost("gemini/gemini-2.5-flash", usage(10_000, 2000)) == pytest.approx(0.008, rel=1e-9)


# Amazon Bedrock (https://aws.amazon.com/bedrock/pricing): Claude 3.5 Sonnet $3 / $15;
# Nova Pro $0.80 / $3.20, Nova Micro $0.035 / $0.14 (US regions); Claude Sonnet 4.5 global $3 / $15 and
# geographic (us./eu./...) profiles 10% more: $3.30 / $16.50.

@pytest.mark.parametrize("model", [
    "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
    "bedrock/eu.anthropic.claude-3-5-sonnet-20240620-v1:0",
])
def test_bedrock_claude_ids_and_profiles(model: str) -> None:
    # 1000 x 3/M + 500 x 15/M = 0.003 + 0.0075
    assert cost(model, usage(1000, 500)) == pytest.approx(0.0105, rel=1e-9)


@pytest.mark.parametrize("model", ["bedrock/us.amazon.nova-pro-v1:0", "bedrock/amazon.nova-pro-v1:0",
                                   "bedrock/us.amazon.nova-pro-v1"])
def test_bedrock_nova_pro(model: str) -> None:
    # 10000 x 0.80/M + 1000 x 3.20/M = 0.008 + 0.0032
    assert cost(model, usage(10_000, 1000)) == pytest.approx(0.0112, rel=1e-9)


def test_bedrock_nova_micro_us_profile() -> None:
    # 10000 x 0.035/M + 1000 x 0.14/M = 0.00035 + 0.00014
    assert cost("bedrock/us.amazon.nova-micro-v1:0", usage(10_000, 1000)) \
        == pytest.approx(0.00049, rel=1e-9)


def test_bedrock_sonnet_4_5_regional_profile_costs_ten_percent_more() -> None:
    # global: 1000 x 3/M + 100 x 15/M = 0.003 + 0.0015
    # us.:    1000 x 3.30/M + 100 x 16.50/M = 0.0033 + 0.00165
    u = usage(1000, 100)
    assert cost("bedrock/global.anthropic.claude-sonnet-4-5-20250929-v1:0", u) \
        == pytest.approx(0.0045, rel=1e-9)
    assert cost("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", u) \
        == pytest.approx(0.00495, rel=1e-9)


def test_bedrock_cache_write_field() -> None:
    # Bedrock Converse reports cacheWriteInputTokens apart; an adapter maps it, like
    # Anthropic's, into cache_creation_input_tokens inside prompt_tokens.
    # 2 x 3/M + 1322 x 3.75/M + 5 x 15/M = 0.000006 + 0.0049575 + 0.000075
    u = usage(1324, 5, cached=0, cache_creation_input_tokens=1322)
    assert cost("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", u) \
        == pytest.approx(0.0050385, rel=1e-9)


# Azure OpenAI: a deployment is priced like its base model (gpt-4o: $2.50 / $1.25 / $10).

def test_azure_deployment_via_register_model_base_model() -> None:
    # 8000 x 2.50/M + 2000 x 1.25/M + 1000 x 10/M = 0.02 + 0.0025 + 0.01
    register_model("azure/prod-4o", base_model="gpt-4o")
    assert cost("azure/prod-4o", usage(10_000, 1000, cached=2000)) \
        == pytest.approx(0.0325, rel=1e-9)


@pytest.mark.parametrize("base", ["gpt-4o-mini", "openai/gpt-4o-mini"])
def test_azure_deployment_via_router_base_model(base: str) -> None:
    # 1000 x 0.15/M + 100 x 0.60/M = 0.00015 + 0.00006
    parts = [("gpt-4o-mini-2024-07-18", usage(1000, 100))]
    assert cost_of_parts("azure", "azure/eu-mini", base, parts) == pytest.approx(0.00021)


# Other providers' published prices.

@pytest.mark.parametrize(("model", "prompt", "completion", "expected"), [
    # Mistral (mistral.ai/pricing): Large 3 $0.50 / $1.50: 2000 x 0.5/M + 1000 x 1.5/M
    ("mistral/mistral-large-latest", 2000, 1000, 0.001 + 0.0015),
    # Codestral $0.30 / $0.90: 2000 x 0.3/M + 1000 x 0.9/M
    ("mistral/codestral-latest", 2000, 1000, 0.0006 + 0.0009),
    # Groq (groq.com/pricing): Llama 3.3 70B $0.59 / $0.79: 10000 x 0.59/M + 1000 x 0.79/M
    ("groq/llama-3.3-70b-versatile", 10_000, 1000, 0.0059 + 0.00079),
    # Llama 3.1 8B Instant $0.05 / $0.08: 10000 x 0.05/M + 1000 x 0.08/M
    ("groq/llama-3.1-8b-instant", 10_000, 1000, 0.0005 + 0.00008),
    # xAI: grok-4 $3 / $15: 1000 x 3/M + 1000 x 15/M; grok-3-mini $0.30 / $0.50
    ("xai/grok-4", 1000, 1000, 0.003 + 0.015),
    ("xai/grok-3-mini", 10_000, 1000, 0.003 + 0.0005),
    # Cohere (cohere.com/pricing): Command A $2.50 / $10: 1000 x 2.5/M + 500 x 10/M
    ("command-a-03-2025", 1000, 500, 0.0025 + 0.005),
    ("cohere/command-r-08-2024", 10_000, 1000, 0.0015 + 0.0006),  # $0.15 / $0.60
    # Perplexity Sonar Pro $3 / $15 (tokens only; per-request search fees are not priced)
    ("perplexity/sonar-pro", 1000, 1000, 0.003 + 0.015),
])
def test_published_prices(model: str, prompt: int, completion: int, expected: float) -> None:
    assert cost(model, usage(prompt, completion)) == pytest.approx(expected, rel=1e-9)


def test_deepseek_cache_hits_and_reasoning() -> None:
    # DeepSeek (api-docs.deepseek.com/quick_start/pricing), V3.2: $0.28 cache miss,
    # $0.028 cache hit, $0.42 out, the same for deepseek-chat and deepseek-reasoner.
    # Recorded: 563 prompt (512 cache hits), 116 completion (60 of them reasoning)
    # 51 x 0.28/M + 512 x 0.028/M + 116 x 0.42/M = 0.00001428 + 0.000014336 + 0.00004872
    body = json.loads((RECORDED / "deepseek" / "reasoning_tool_call.json").read_text())
    u = Usage.model_validate(body["response"]["body"]["usage"])
    for model in ("deepseek/deepseek-chat", "deepseek/deepseek-reasoner"):
        assert cost(model, u) == pytest.approx(0.000077336, rel=1e-9)


def test_cohere_billed_units_are_what_is_priced() -> None:
    # Recorded: 2935 tokens processed, 2406 input and 2 output billed. Command R7B
    # $0.0375 / $0.15: 2406 x 0.0375/M + 2 x 0.15/M = 0.000090225 + 0.0000003
    body = json.loads((RECORDED / "cohere" / "usage_cached_tokens.json").read_text())
    u = usage_of(body["response"]["body"]["usage"])
    assert cost("cohere/command-r7b-12-2024", u) == pytest.approx(0.000090525, rel=1e-9)


def test_openrouter_reported_cost_is_used() -> None:
    # OpenRouter bills what its usage.cost says (recorded: $0.000924).
    body = json.loads((RECORDED / "openrouter" / "reasoning.json").read_text())
    u = Usage.model_validate(body["response"]["body"]["usage"])
    assert cost("openrouter/anthropic/claude-sonnet-4.5", u) == 0.000924
    # A price the user registered wins over the reported one: 43 x 1/M + 53 x 2/M
    register_model("openrouter/anthropic/claude-sonnet-4.5", input_cost_per_token=1e-6,
                   output_cost_per_token=2e-6)
    assert cost("openrouter/anthropic/claude-sonnet-4.5", u) == pytest.approx(0.000149)


def test_replicate_is_billed_by_time() -> None:
    u = usage(100, 100)
    with pytest.raises(llmrelay.UnknownModelError):
        cost("replicate/meta/meta-llama-3-70b-instruct", u)
    assert cost_of_parts("replicate", "replicate/meta/meta-llama-3-70b-instruct", None,
                         [("meta/meta-llama-3-70b-instruct", u)]) is None
    register_model("replicate/meta/meta-llama-3-70b-instruct", input_cost_per_token=6.5e-7,
                   output_cost_per_token=2.75e-6)
    # 100 x 0.65/M + 100 x 2.75/M = 0.000065 + 0.000275
    assert cost("replicate/meta/meta-llama-3-70b-instruct", u) == pytest.approx(0.00034)


def test_parts_are_priced_one_by_one() -> None:
    # n=2 by fan-out, 150k prompt each on Gemini 2.5 Pro: each stays under the 200k tier
    # 2 x (150000 x 1.25/M + 1000 x 10/M) = 2 x (0.1875 + 0.01)
    parts = [("gemini-2.5-pro", usage(150_000, 1000))] * 2
    assert cost_of_parts("gemini", "gemini/gemini-2.5-pro", None, parts) \
        == pytest.approx(0.395, rel=1e-9)
    # ... while one request of the summed usage (300k) would be priced at the upper tier
    assert cost("gemini/gemini-2.5-pro", usage(300_000, 2000)) == pytest.approx(0.78, rel=1e-9)


def test_parts_without_usage_or_price_cost_none() -> None:
    assert cost_of_parts("openai", "gpt-4o", None, [("gpt-4o", None)]) is None
    assert cost_of_parts("openai", "gpt-4o", None,
                         [("gpt-4o", usage(1, 1)), ("gpt-4o", None)]) is None
    assert cost_of_parts("hosted_vllm", "hosted_vllm/my-llama", None,
                         [("my-llama", usage(10, 10))]) is None
    assert cost_of_parts("openai", "gpt-4o", None, []) == 0.0


def test_meta_without_a_provider_still_prices() -> None:
    # CallMeta passes "" when it has no provider: 1000 x 0.15/M + 1000 x 0.60/M
    assert cost_of_parts("", "gpt-4o-mini", None, [("gpt-4o-mini", usage(1000, 1000))]) \
        == pytest.approx(0.00075)
