"""Which entry prices a model: lookup order, register_model, the price file, model_info."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import llmrelay
from llmrelay.pricing import completion_cost, cost_of_parts, model_info, register_model
from llmrelay.pricing.catalog import ENV_VAR
from llmrelay.pricing.names import candidates

ONE_K = {"prompt_tokens": 1000, "completion_tokens": 1000}


def write_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(content)
    monkeypatch.setenv(ENV_VAR, str(path))
    return path


def test_public_names() -> None:
    assert llmrelay.completion_cost is completion_cost
    assert llmrelay.model_info is model_info
    assert llmrelay.register_model is register_model
    assert issubclass(llmrelay.UnknownModelError, LookupError)
    assert llmrelay.UnknownModelError is llmrelay.exceptions.UnknownModelError
    assert {"completion_cost", "model_info", "register_model", "token_counter",
            "UnknownModelError"} <= set(llmrelay.__all__)


def test_model_info_of_the_contract_example() -> None:
    info = model_info("anthropic/claude-3-5-sonnet-20241022")
    assert (info.max_input_tokens, info.max_output_tokens) == (200_000, 8192)
    assert (info.input_cost_per_token, info.output_cost_per_token) == (3e-6, 15e-6)
    assert info.cache_read_input_cost_per_token == 0.3e-6
    assert info.cache_write_input_cost_per_token == 3.75e-6
    assert info.provider == "anthropic" and info.mode == "chat"
    assert info["max_input_tokens"] == 200_000
    assert info.to_dict()["output_cost_per_token"] == 15e-6


def test_model_info_openai_and_tiers() -> None:
    info = model_info("gpt-4o-mini")
    assert (info.max_input_tokens, info.max_output_tokens) == (128_000, 16_384)
    assert (info.input_cost_per_token, info.cache_read_input_cost_per_token) == (0.15e-6, 0.075e-6)
    pro = model_info("gemini/gemini-2.5-pro")
    assert pro.max_input_tokens == 1_048_576
    assert pro.tiers[200_000]["input_cost_per_token"] == 2.5e-6
    assert pro.tiers[200_000]["output_cost_per_token"] == 15e-6


def test_unknown_model() -> None:
    with pytest.raises(llmrelay.UnknownModelError) as caught:
        completion_cost(model="acme/never-heard-of-it", usage=ONE_K)
    assert "acme/never-heard-of-it" in str(caught.value)
    assert "register_model" in str(caught.value)
    assert caught.value.model == "acme/never-heard-of-it"
    with pytest.raises(LookupError):
        model_info("acme/never-heard-of-it")
    assert cost_of_parts("openai", "acme/never-heard-of-it", None,
                         [("acme/never-heard-of-it", ONE_K)]) is None


def test_a_bare_name_is_not_priced_as_another_providers_model() -> None:
    # A self-hosted model that happens to be called gpt-4o is not billed at OpenAI's price.
    with pytest.raises(llmrelay.UnknownModelError):
        completion_cost(model="hosted_vllm/gpt-4o", usage=ONE_K)


def test_register_model_with_prices_then_merge() -> None:
    register_model("hosted_vllm/my-llama", input_cost_per_token=1e-7, output_cost_per_token=2e-7,
                   max_input_tokens=8192)
    # 1000 x 0.1/M + 1000 x 0.2/M
    assert completion_cost(model="hosted_vllm/my-llama", usage=ONE_K) == pytest.approx(0.0003)
    register_model("hosted_vllm/my-llama", output_cost_per_token=4e-7)
    assert completion_cost(model="hosted_vllm/my-llama", usage=ONE_K) == pytest.approx(0.0005)
    info = model_info("hosted_vllm/my-llama")
    assert (info.max_input_tokens, info.input_cost_per_token, info.source) == (8192, 1e-7,
                                                                               "registered")


def test_register_model_over_a_shipped_name_keeps_the_rest() -> None:
    register_model("gpt-4o-mini", input_cost_per_token=1e-6)
    # 1000 x 1/M + 1000 x 0.60/M (the shipped output price)
    assert completion_cost(model="gpt-4o-mini", usage=ONE_K) == pytest.approx(0.0016)
    assert model_info("gpt-4o-mini").max_input_tokens == 128_000


def test_register_model_base_model_and_own_limits() -> None:
    register_model("azure/my-deployment", base_model="gpt-4o", max_input_tokens=32_000)
    info = model_info("azure/my-deployment")
    assert (info.input_cost_per_token, info.max_input_tokens, info.max_output_tokens) == (
        2.5e-6, 32_000, 16_384)


def test_register_model_accepts_litellm_field_names() -> None:
    register_model("hosted_vllm/tiered", input_cost_per_token=1e-6, output_cost_per_token=2e-6,
                   input_cost_per_token_above_128k_tokens=2e-6, cache_read_input_token_cost=1e-7)
    # above the tier: 200000 x 2/M + 1000 x 2/M
    assert completion_cost(model="hosted_vllm/tiered",
                           usage={"prompt_tokens": 200_000, "completion_tokens": 1000}) \
        == pytest.approx(0.402)
    assert model_info("hosted_vllm/tiered").cache_read_input_cost_per_token == 1e-7


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"input_cost_per_tokn": 1e-6}, "unknown field 'input_cost_per_tokn'"),
    ({"input_cost_per_token": "cheap"}, "'input_cost_per_token' must be a non-negative number"),
    ({"input_cost_per_token": -1.0}, "must be a non-negative number"),
    ({"max_input_tokens": 0}, "'max_input_tokens' must be a positive integer"),
    ({"base_model": ""}, "'base_model' must be a non-empty string"),
])
def test_register_model_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        register_model("hosted_vllm/x", **kwargs)  # type: ignore[arg-type]


def test_register_model_with_unknown_base_model() -> None:
    register_model("azure/mystery", base_model="not-a-real-model")
    with pytest.raises(llmrelay.UnknownModelError, match="base_model 'not-a-real-model'"):
        completion_cost(model="azure/mystery", usage=ONE_K)


def test_lookup_order_base_model_first() -> None:
    register_model("azure/prod", input_cost_per_token=9e-6, output_cost_per_token=9e-6)
    # The Router's base_model wins over the entry registered for the written name:
    # 1000 x 0.15/M + 1000 x 0.60/M
    assert cost_of_parts("azure", "azure/prod", "gpt-4o-mini", [("gpt-4o-mini", ONE_K)]) \
        == pytest.approx(0.00075)
    # without it, the registered entry: 1000 x 9/M + 1000 x 9/M
    assert cost_of_parts("azure", "azure/prod", None, [("gpt-4o-mini", ONE_K)]) \
        == pytest.approx(0.018)


def test_lookup_falls_back_to_the_reported_model() -> None:
    # An Azure deployment nobody registered is priced by the model Azure reports it ran:
    # azure/gpt-4o-2024-08-06 at 1000 x 2.50/M + 1000 x 10/M
    assert cost_of_parts("azure", "azure/unnamed-deploy", None,
                         [("gpt-4o-2024-08-06", ONE_K)]) == pytest.approx(0.0125)
    assert cost_of_parts("azure", "azure/unnamed-deploy", None, [(None, ONE_K)]) is None


def test_candidates_order() -> None:
    assert candidates("anthropic", "anthropic/claude-x", "claude-x-2025") == [
        "anthropic/claude-x", "claude-x", "claude-x-2025", "anthropic/claude-x-2025"]
    names = candidates("bedrock", "bedrock/us.amazon.nova-pro-v1", None)
    assert names[:2] == ["bedrock/us.amazon.nova-pro-v1", "us.amazon.nova-pro-v1"]
    assert {"amazon.nova-pro-v1", "us.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"} <= set(names)


def test_bedrock_profile_without_its_own_entry_falls_back_to_the_base_id() -> None:
    info = model_info("bedrock/ca.anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert info.key == "anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_price_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_prices(tmp_path, monkeypatch, json.dumps({
        "hosted_vllm/file-llama": {"input_cost_per_token": 2e-7, "output_cost_per_token": 4e-7,
                                   "max_input_tokens": 4096},
        "azure/file-deploy": {"base_model": "gpt-4o-mini"},
        "gpt-4o": {"input_cost_per_token": 1e-6},
    }))
    # 1000 x 0.2/M + 1000 x 0.4/M
    assert completion_cost(model="hosted_vllm/file-llama", usage=ONE_K) == pytest.approx(0.0006)
    assert model_info("hosted_vllm/file-llama").source == "env"
    # 1000 x 0.15/M + 1000 x 0.60/M
    assert completion_cost(model="azure/file-deploy", usage=ONE_K) == pytest.approx(0.00075)
    # the file's gpt-4o input price over the shipped output price: 1000 x 1/M + 1000 x 10/M
    assert completion_cost(model="gpt-4o", usage=ONE_K) == pytest.approx(0.011)
    # register_model wins over the file
    register_model("gpt-4o", input_cost_per_token=2e-6)
    assert completion_cost(model="gpt-4o", usage=ONE_K) == pytest.approx(0.012)


def test_price_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_prices(tmp_path, monkeypatch, json.dumps(
        {"hosted_vllm/once": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}}))
    assert completion_cost(model="hosted_vllm/once", usage=ONE_K) == pytest.approx(0.002)
    path.write_text("{}")
    assert completion_cost(model="hosted_vllm/once", usage=ONE_K) == pytest.approx(0.002)


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"bad-entry": 3}', "entry 'bad-entry' must be an object"),
    ('{"bad-entry": {"input_cost": 1}}', "entry 'bad-entry': unknown field 'input_cost'"),
    ('{"bad-entry": {"max_input_tokens": "lots"}}', "entry 'bad-entry': 'max_input_tokens'"),
])
def test_malformed_price_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str,
                              message: str) -> None:
    path = write_prices(tmp_path, monkeypatch, content)
    for _ in range(2):  # the same clear error every time, not once and then silence
        with pytest.raises(ValueError, match=message) as caught:
            completion_cost(model="gpt-4o", usage=ONE_K)
        assert f"{ENV_VAR}={path}" in str(caught.value)


def test_missing_price_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.json"))
    with pytest.raises(ValueError, match=r"nope\.json: cannot read the file"):
        model_info("gpt-4o")


def test_completion_cost_needs_usage() -> None:
    with pytest.raises(ValueError, match="no usage"):
        completion_cost(model="gpt-4o")
    with pytest.raises(ValueError, match="needs a response"):
        completion_cost()


def test_base_model_cycle_is_unknown_not_a_hang() -> None:
    register_model("hosted_vllm/a", base_model="hosted_vllm/b")
    register_model("hosted_vllm/b", base_model="hosted_vllm/a")
    with pytest.raises(llmrelay.UnknownModelError):
        completion_cost(model="hosted_vllm/a", usage=ONE_K)
