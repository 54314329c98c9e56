"""The deployment table and settings: model_list in llmrelay's and LiteLLM's shapes, from_config,
and the errors a malformed configuration gets at construction."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.router.strategies import STRATEGY_NAMES
from llmrelay.testing import Emulator

from .conftest import API_VERSION, MESSAGES, azure, sent


def test_routing_settings_beside_or_inside_params_are_never_sent(emu: Emulator) -> None:
    inside = azure(emu, "inside", params={"rpm": 100, "tpm": 10_000, "weight": 2, "order": 1,
                                          "base_model": "gpt-4o"})
    beside = azure(emu, "beside", rpm=100, tpm=10_000, weight=2, order=1, base_model="gpt-4o")
    router = llmrelay.Router(model_list=[inside, beside])
    for _ in range(6):
        router.completion(model="chat", messages=MESSAGES)
    assert sent(emu, "inside") + sent(emu, "beside") == 6
    for request in emu.requests:
        assert not {"rpm", "tpm", "weight", "order", "base_model"} & set(request.body)
    table = {d.id: d for d in router.deployments()}
    assert table["inside"].rpm == table["beside"].rpm == 100
    assert table["inside"].weight == table["beside"].weight == 2.0


def test_litellm_model_list_loads_unchanged(emu: Emulator) -> None:
    model_list = [
        {"model_name": "chat",
         "litellm_params": {"model": "azure/ll-a", "api_base": emu.url, "api_key": emu.api_key,
                            "api_version": API_VERSION, "rpm": 60},
         "model_info": {"id": "a-id", "base_model": "gpt-4o"}},
        {"model_name": "chat",
         "litellm_params": {"model": "ll-b", "custom_llm_provider": "azure", "api_base": emu.url,
                            "api_key": emu.api_key, "api_version": API_VERSION,
                            "tags": ["x"], "input_cost_per_token": 1e-6}},
    ]
    router = llmrelay.Router(model_list=model_list)
    statuses = router.deployments()
    assert [(s.id, s.model_name, s.model) for s in statuses] == [
        ("a-id", "chat", "azure/ll-a"), ("chat/1", "chat", "azure/ll-b")]
    assert router.get_deployment("a-id").base_model == "gpt-4o"  # type: ignore[union-attr]
    for _ in range(4):
        resp = router.completion(model="chat", messages=MESSAGES)
        assert resp.meta.deployment in ("a-id", "chat/1")
    for request in emu.requests:
        assert not {"rpm", "tags", "input_cost_per_token", "custom_llm_provider"} & set(request.body)


def test_default_ids_are_group_and_index(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[
        {"model_name": "a", "params": {"model": "openai/gpt-4o-mini"}},
        {"model_name": "b", "params": {"model": "openai/gpt-4o-mini"}},
        {"model_name": "a", "params": {"model": "openai/gpt-4o-mini"}},
    ])
    assert [s.id for s in router.deployments()] == ["a/0", "b/1", "a/2"]
    assert router.model_names == ["a", "b"]


@pytest.mark.parametrize(("model_list", "match"), [
    ("chat", "model_list must be a list"),
    ([{"params": {"model": "gpt-4o"}}], r"model_list\[0\]: 'model_name'"),
    ([{"model_name": "chat"}], r"model_list\[0\] \(model_name 'chat'\): 'params'"),
    ([{"model_name": "chat", "params": {"api_key": "k"}}], r"model_list\[0\].*params.model"),
    ([{"model_name": "chat", "params": {"model": "nope/x"}}], r"model_list\[0\].*'nope/x'"),
    ([{"model_name": "ok", "params": {"model": "gpt-4o"}},
      {"model_name": "chat", "params": {"model": "gpt-4o"}, "rpm": -1}],
     r"model_list\[1\] \(model_name 'chat'\): 'rpm'"),
    ([{"model_name": "chat", "params": {"model": "gpt-4o"}, "weight": "heavy"}], "'weight'"),
    ([{"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "x"},
      {"model_name": "chat", "params": {"model": "gpt-4o"}, "id": "x"}],
     r"model_list\[1\].*'x' is already used by model_list\[0\]"),
    ([{"model_name": "chat", "params": {"model": "gpt-4o"}, "api_key": "k"}],
     r"unknown key\(s\) api_key"),
    (["gpt-4o"], r"model_list\[0\]: a deployment must be a mapping"),
])
def test_malformed_model_list_is_a_value_error_naming_the_entry(model_list: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        llmrelay.Router(model_list=model_list)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"routing_strategy": "fastest"}, "Unknown routing_strategy 'fastest'"),
    ({"num_retries": -1}, "num_retries"),
    ({"cooldown_time": "long"}, "cooldown_time"),
    ({"fallbacks": {"chat": "backup", "x": 3}}, r"fallbacks: 'x': expected a list"),
    ({"fallbacks": {"chat": [3]}}, r"fallbacks\['chat'\]: expected group names"),
    ({"context_window_fallbacks": ["chat"]}, "context_window_fallbacks: each entry"),
    ({"redis_url": "http://cache.local:6379"}, "redis_url is not a Redis URL"),
])
def test_bad_settings_are_value_errors(kwargs: dict[str, Any], match: str) -> None:
    model_list = [{"model_name": "chat", "params": {"model": "gpt-4o"}}]
    with pytest.raises(ValueError, match=match):
        llmrelay.Router(model_list=model_list, **kwargs)


def test_the_contracts_router_example_constructs_fallbacks_to_unknown_groups_are_ignored(
        emu: Emulator) -> None:
    # API.md's Router example sets context_window_fallbacks={"chat": ["chat-long"]} with no
    # "chat-long" group: it must construct (LiteLLM does not check either). Unknown names are
    # left out with a warning; a known name beside them still counts.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        router = llmrelay.Router(
            model_list=[azure(emu, "a"), azure(emu, "b", group="backup")],
            fallbacks={"chat": ["backup"], "ghost": ["chat"]},
            context_window_fallbacks={"chat": ["chat-long"]},
            content_policy_fallbacks={"chat": ["nowhere", "backup"]},
        )
    assert [str(w.message).rsplit(": ", 2)[-2:] for w in caught] == [
        ["fallbacks", "'ghost'"], ["context_window_fallbacks['chat']", "'chat-long'"],
        ["content_policy_fallbacks['chat']", "'nowhere'"]]
    assert router.fallbacks == {"fallbacks": {"chat": ("backup",)},
                                "context_window_fallbacks": {},
                                "content_policy_fallbacks": {"chat": ("backup",)}}
    emu.fail(400, path="/deployments/a/", body={"error": {
        "message": "This model's maximum context length is 128000 tokens.",
        "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})
    with pytest.raises(llmrelay.ContextWindowExceededError):
        router.completion(model="chat", messages=MESSAGES)
    assert sent(emu, "b") == 0


def test_call_arguments_over_params_over_router_defaults_but_params_pin_the_target(
        emu: Emulator) -> None:
    deployment = azure(emu, "a", params={"temperature": 0.1, "max_tokens": 50, "user": "dep"})
    router = llmrelay.Router(model_list=[deployment], timeout=30)
    resp = router.completion(model="chat", messages=MESSAGES, temperature=0.7,
                             api_base="http://127.0.0.1:9/", api_key="sk-other",
                             api_version="2020-01-01")
    assert resp.meta.deployment == "a"  # the deployment's api_base, key and version were used
    body = emu.requests[-1].body
    assert (body["temperature"], body["max_tokens"], body["user"]) == (0.7, 50, "dep")
    assert emu.requests[-1].query["api-version"] == API_VERSION


def test_unknown_group_is_a_bad_request_listing_the_groups(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b", group="backup")])
    with pytest.raises(llmrelay.BadRequestError, match=r"'chatt'.*backup, chat") as info:
        router.completion(model="chatt", messages=MESSAGES)
    assert info.value.status_code == 400
    assert len(emu.requests) == 0


@pytest.mark.parametrize("name", sorted(STRATEGY_NAMES))
def test_every_strategy_name_routes(emu: Emulator, name: str) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a"), azure(emu, "b")], routing_strategy=name)
    for _ in range(3):
        assert router.completion(model="chat", messages=MESSAGES).meta.deployment in ("a", "b")


def test_litellm_fallbacks_list_form(emu: Emulator) -> None:
    router = llmrelay.Router(
        model_list=[azure(emu, "a"), azure(emu, "b", group="backup")],
        fallbacks=[{"chat": ["backup"]}], num_retries=0)
    emu.fail(500, path="/deployments/a/")
    assert router.completion(model="chat", messages=MESSAGES).meta.deployment == "b"


CONFIG = """
model_list:
  - model_name: chat
    litellm_params:
      model: azure/cfg-a
      api_base: os.environ/ROUTER_TEST_BASE
      api_key: os.environ/ROUTER_TEST_KEY
      api_version: "2024-10-21"
      rpm: 5
    model_info:
      id: cfg-a
  - model_name: backup
    params: {model: azure/cfg-b, api_base: os.environ/ROUTER_TEST_BASE,
             api_key: os.environ/ROUTER_TEST_KEY, api_version: "2024-10-21"}
router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 0
  fallbacks: [{chat: [backup]}]
  enable_pre_call_checks: true
  model_group_alias: {}
general_settings:
  master_key: sk-1234
litellm_settings:
  drop_params: true
environment_variables: {}
"""


def test_from_config_yaml_with_env_values(emu: Emulator, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ROUTER_TEST_BASE", emu.url)
    monkeypatch.setenv("ROUTER_TEST_KEY", emu.api_key)
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    with pytest.warns(UserWarning, match="enable_pre_call_checks, model_group_alias") as record:
        router = llmrelay.Router.from_config(str(path))
    assert len(record) == 1
    assert "enable_pre_call_checks" in caplog.text
    assert router.strategy.name == "usage-based"
    assert [d.rpm for d in router.deployments()] == [5, None]
    emu.fail(503, path="/deployments/cfg-a/")
    resp = router.completion(model="chat", messages=MESSAGES)
    assert (resp.meta.deployment, resp.meta.attempts) == ("backup/1", 2)


def test_from_config_dict_and_unset_env(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"model_list": [{"model_name": "chat", "params": {
        "model": "gpt-4o", "api_key": "os.environ/ROUTER_TEST_UNSET"}}]}
    monkeypatch.delenv("ROUTER_TEST_UNSET", raising=False)
    with pytest.raises(ValueError, match=r"model_list\[0\]\.params\.api_key.*ROUTER_TEST_UNSET"):
        llmrelay.Router.from_config(config)
    monkeypatch.setenv("ROUTER_TEST_UNSET", "sk-x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        router = llmrelay.Router.from_config({**config, "router_settings": {"num_retries": 1}})
    assert router.num_retries == 1


def test_from_config_litellm_settings_give_router_defaults() -> None:
    config = {"model_list": [{"model_name": "chat", "params": {"model": "gpt-4o"}},
                             {"model_name": "big", "params": {"model": "gpt-4o"}}],
              "litellm_settings": {"num_retries": 4, "context_window_fallbacks": [{"chat": ["big"]}],
                                   "request_timeout": 12},
              "router_settings": {"num_retries": 1}}
    router = llmrelay.Router.from_config(config)
    assert router.num_retries == 1
    assert router.fallbacks["context_window_fallbacks"] == {"chat": ("big",)}
    assert router.defaults == {"timeout": 12}


def test_from_config_bad_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        llmrelay.Router.from_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        llmrelay.Router.from_config(bad)
    bad.write_text("router_settings: {}\n")
    with pytest.raises(ValueError, match="no 'model_list'"):
        llmrelay.Router.from_config(bad)


def test_redis_host_port_password_make_a_url() -> None:
    from llmrelay.router.config import redis_address

    assert redis_address(None, "cache.local", 6380, "p@ss") == "redis://:p%40ss@cache.local:6380/0"
    assert redis_address("redis://x:1/2", "ignored", None, None) == "redis://x:1/2"
    assert redis_address(None, None, None, None) is None


def test_reprs_hold_no_secret(emu: Emulator) -> None:
    router = llmrelay.Router(model_list=[azure(emu, "a", params={"api_key": "sk-very-secret"})])
    assert "sk-very-secret" not in repr(router)
    assert "sk-very-secret" not in repr(router.table)
    assert "sk-very-secret" not in repr(router.deployments())


def test_router_and_its_error_are_lazy_public_names() -> None:
    import subprocess
    import sys

    code = ("import sys, llmrelay; assert 'llmrelay.router' not in sys.modules; "
            "E = llmrelay.NoDeploymentAvailableError; "
            "assert 'llmrelay.router.router' not in sys.modules; "
            "assert issubclass(E, llmrelay.RateLimitError); "
            "assert llmrelay.Router.__name__ == 'Router'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
