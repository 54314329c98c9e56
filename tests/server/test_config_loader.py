"""The config loader in process: what it resolves, normalises and refuses (the start-up tests
run the same checks through a real ``llmrelay serve``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from llmrelay.server.config import ConfigError, load_config

ENV = {"KEY": "sk-from-env-123456"}


def load(tmp_path: Path, config: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_config(path, environ=env if env is not None else ENV)


def chat(**params: Any) -> dict[str, Any]:
    return {"model_list": [{"model_name": "chat", "params": {"model": "openai/gpt-4o-mini", **params}}]}


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, chat(api_key="os.environ/KEY"))
    assert config.model_list[0]["params"]["api_key"] == "sk-from-env-123456"
    assert config.database is not None and config.database.path == str(tmp_path / "llmrelay.db")
    assert config.max_request_bytes == 10 * 1024 * 1024
    assert config.master_key is None and config.redis_url is None and config.cache is None
    assert config.spool_dir == Path(str(tmp_path / "llmrelay.db") + ".spool")
    assert "sk-from-env-123456" not in repr(config)
    assert config.secrets() == ("sk-from-env-123456",)


def test_master_key_from_environment(tmp_path: Path) -> None:
    config = load(tmp_path, chat(), {"LLMRELAY_MASTER_KEY": "sk-admin"})
    assert config.master_key == "sk-admin"


def test_litellm_names(tmp_path: Path) -> None:
    config = load(tmp_path, {
        "model_list": [{"model_name": "chat", "litellm_params": {"model": "gpt-4o-mini"}}],
        "litellm_settings": {"drop_params": True, "num_retries": 3, "request_timeout": 20,
                             "cache": True, "cache_params": {"type": "redis", "host": "localhost",
                                                             "port": 6380}},
        "general_settings": {"database_url": "postgresql://u:pw@db.example:5433/llm",
                             "database_connection_pool_limit": 4},
    })
    assert config.model_list[0]["params"] == {"model": "gpt-4o-mini"}
    assert config.call_defaults == {"drop_params": True}
    assert config.router_settings == {"num_retries": 3, "timeout": 20}
    assert config.cache == {"type": "redis", "url": "redis://localhost:6380/0"}
    assert config.database is not None and config.database.dialect == "postgresql"
    assert "pw" not in repr(config.database) and "pw" not in config.database.describe()
    assert config.pool_size == 4
    assert config.spool_dir.parent == (tmp_path / ".llmrelay-spool").resolve()


def test_litellm_router_settings(tmp_path: Path) -> None:
    config = load(tmp_path, {
        "model_list": [{"model_name": "a", "litellm_params": {"model": "gpt-4o-mini"}},
                       {"model_name": "b", "litellm_params": {"model": "gpt-4o"}}],
        "litellm_settings": {"fallbacks": [{"a": ["b"]}], "context_window_fallbacks": [{"a": ["b"]}],
                             "content_policy_fallbacks": [{"a": ["b"]}], "allowed_fails": 2,
                             "cooldown_time": 10, "num_retries": 4},
        "router_settings": {"num_retries": 1, "enable_pre_call_checks": True,
                            "model_group_alias": "os.environ/NOT_SET_ANYWHERE"},
    })
    assert config.router_settings == {
        "fallbacks": [{"a": ["b"]}], "context_window_fallbacks": [{"a": ["b"]}],
        "content_policy_fallbacks": [{"a": ["b"]}], "allowed_fails": 2, "cooldown_time": 10,
        "num_retries": 1}  # router_settings wins where both say
    # LiteLLM's Router settings llmrelay's Router does not take: ignored, as Router.from_config
    assert config.ignored == ["router_settings.enable_pre_call_checks",
                              "router_settings.model_group_alias"]
    # A budget reserves the dearest deployment a request may reach, by any fallback list.
    from llmrelay.server.state import fallbacks_of

    assert fallbacks_of({"fallbacks": {"a": ["b"]}, "context_window_fallbacks": [{"a": ["c"]}],
                         "content_policy_fallbacks": [{"*": ["d"]}]}) == {"a": ["b", "c"], "*": ["d"]}


def test_redis_url_shared_with_the_router(tmp_path: Path) -> None:
    config = load(tmp_path, {**chat(), "general_settings": {"redis_url": "redis://127.0.0.1:6379/1"}})
    assert config.router_settings["redis_url"] == "redis://127.0.0.1:6379/1"


def test_environment_variables_set_first(tmp_path: Path) -> None:
    import os

    config = load(tmp_path, {"environment_variables": {"LLMRELAY_TEST_SET_BY_CONFIG": "v1"},
                             **chat(api_key="os.environ/LLMRELAY_TEST_SET_BY_CONFIG")}, {})
    assert config.model_list[0]["params"]["api_key"] == "v1"
    assert os.environ["LLMRELAY_TEST_SET_BY_CONFIG"] == "v1"
    del os.environ["LLMRELAY_TEST_SET_BY_CONFIG"]


@pytest.mark.parametrize("config,words", [
    ({"model_list": []}, ["model_list"]),
    ({"model_list": "chat"}, ["model_list"]),
    ({}, ["model_list is missing"]),
    ({"model_list": [{"params": {"model": "gpt-4o"}}]}, ["model_list[0]", "model_name"]),
    ({"model_list": [{"model_name": "a"}]}, ["model_list[0] (group 'a')", "params"]),
    ({**chat(), "general_settings": {"spend_fsync": "yes"}}, ["spend_fsync"]),
    ({**chat(), "general_settings": {"database_connection_pool_limit": 0}}, ["pool_limit"]),
    ({**chat(), "cache": {"type": "redis"}}, ["redis_url"]),
    ({**chat(), "cache": {"type": "memcached"}}, ["cache.type"]),
    ({**chat(), "general_settings": "x"}, ["general_settings"]),
    ({"model_list": [{"model_name": "a", "params": {"model": "gpt-4o", "api_base": "ftp://x"}}]},
     ["model_list[0] (group 'a')", "api_base"]),
    ({"model_list": [{"model_name": "a", "params": {"model": "gpt-4o", "api_key": "os.environ/NOPE"}}]},
     ["model_list[0] (group 'a'): params.api_key", "NOPE"]),
])
def test_refused(tmp_path: Path, config: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, config)
    for word in words:
        assert word in str(caught.value)


def test_model_flag(tmp_path: Path) -> None:
    config = load_config(None, model="anthropic/claude-3-5-haiku-20241022", environ={})
    assert config.groups() == ["anthropic/claude-3-5-haiku-20241022"]
    with pytest.raises(ConfigError):
        load_config(None, environ={})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(chat()))
    with pytest.raises(ConfigError, match="not both"):
        load_config(path, model="gpt-4o", environ={})
