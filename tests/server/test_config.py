"""Starting the gateway: configs that must stop it (exit status, a message naming the field and
the deployment, no traceback), LiteLLM configs that load unchanged, ``--model`` with no config,
an unreachable database (retried, then fail) and an unreachable Redis (not fatal)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from llmrelay.testing import Emulator

from ..services import free_port
from .gateway import EMULATOR_KEY_VAR, MASTER_KEY, Gateway, emulator_config


def _base(emulator: Emulator, url: str) -> dict[str, Any]:
    return {
        "model_list": [{"model_name": "chat", "params": {
            "model": "openai/gpt-4o-mini", "api_key": f"os.environ/{EMULATOR_KEY_VAR}",
            "api_base": emulator.base_url("openai")}}],
        "general_settings": {"master_key": MASTER_KEY, "database_url": url},
    }


def _fails(workdir: Path, config: dict[str, Any] | None, emulator: Emulator, *words: str,
           args: list[str] | None = None, env: dict[str, str] | None = None) -> str:
    result = Gateway(workdir, config, emulator=emulator, args=args, env=env).run()
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for word in words:
        assert word in output, (word, output)
    return output


def test_unknown_top_level_key(emulator: Emulator, workdir: Path, database_url: str) -> None:
    config = {**_base(emulator, database_url), "guardrails": []}
    _fails(workdir, config, emulator, "unknown top-level key", "guardrails")


def test_deployment_without_model(emulator: Emulator, workdir: Path, database_url: str) -> None:
    config = _base(emulator, database_url)
    config["model_list"].append({"model_name": "second", "params": {"api_key": "x"}})
    _fails(workdir, config, emulator, "model_list[1]", "'second'", "params.model")


def test_unknown_provider(emulator: Emulator, workdir: Path, database_url: str) -> None:
    config = _base(emulator, database_url)
    config["model_list"][0]["params"]["model"] = "nosuchprovider/some-model"
    _fails(workdir, config, emulator, "model_list[0]", "'chat'", "nosuchprovider/some-model",
           "provider")


def test_unset_environment_variable(emulator: Emulator, workdir: Path, database_url: str) -> None:
    config = _base(emulator, database_url)
    config["model_list"][0]["params"]["api_key"] = "os.environ/LLMRELAY_TEST_NOT_SET_ANYWHERE"
    _fails(workdir, config, emulator, "model_list[0]", "'chat'", "params.api_key",
           "LLMRELAY_TEST_NOT_SET_ANYWHERE")


@pytest.mark.parametrize("field,value,words", [
    ("database_url", "mysql://localhost/db", ["general_settings.database_url"]),
    ("database_url", "postgresql://host:port/db", ["general_settings.database_url"]),
    ("redis_url", "localhost:6379", ["general_settings.redis_url"]),
    ("redis_url", "redis://host:notaport/0", ["general_settings.redis_url"]),
    ("max_request_size_mb", -1, ["general_settings.max_request_size_mb"]),
])
def test_malformed_general_settings(emulator: Emulator, workdir: Path, database_url: str,
                                    field: str, value: Any, words: list[str]) -> None:
    config = _base(emulator, database_url)
    config["general_settings"][field] = value
    output = _fails(workdir, config, emulator, *words)
    assert "secret" not in output


def test_malformed_api_base(emulator: Emulator, workdir: Path, database_url: str) -> None:
    config = _base(emulator, database_url)
    config["model_list"][0]["params"]["api_base"] = "not a url"
    _fails(workdir, config, emulator, "model_list[0]", "'chat'", "api_base")


def test_yaml_syntax_error(emulator: Emulator, workdir: Path) -> None:
    path = workdir / "broken.yaml"
    path.write_text("model_list:\n  - model_name: chat\n    params: {model: [unclosed\n")
    result = Gateway(workdir, None, args=["--config", str(path)]).run()
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "line" in result.stderr


def test_unreachable_database_is_retried_then_fails(emulator: Emulator, workdir: Path) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    output = _fails(workdir, _base(emulator, dead), emulator, "unreachable after 1.5 s",
                    env={"LLMRELAY_DB_START_TIMEOUT": "1.5"})
    assert "retrying" in output


def test_litellm_config_loads_unchanged(emulator_server: Emulator, workdir: Path,
                                        make_database: Callable[[], str]) -> None:
    """A LiteLLM proxy config: litellm_params, model_info.id, environment_variables used by
    os.environ/ references, litellm_settings and router_settings in LiteLLM's spelling."""
    config = {
        "environment_variables": {"LLMRELAY_TEST_FROM_CONFIG": emulator_server.api_key},
        "model_list": [
            {"model_name": "gpt", "litellm_params": {
                "model": "openai/gpt-4o-mini", "api_key": "os.environ/LLMRELAY_TEST_FROM_CONFIG",
                "api_base": emulator_server.base_url("openai"), "rpm": 600},
             "model_info": {"id": "gpt-primary", "base_model": "gpt-4o-mini"}},
        ],
        "litellm_settings": {"drop_params": True, "set_verbose": False, "success_callback": []},
        "router_settings": {"routing_strategy": "simple-shuffle", "num_retries": 0,
                            "fallbacks": [{"gpt": ["gpt"]}], "enable_pre_call_checks": True,
                            "retry_policy": {"RateLimitErrorRetries": 2}},
        "general_settings": {"master_key": "os.environ/LLMRELAY_TEST_MASTER",
                             "database_url": make_database(), "alerting": ["slack"]},
    }
    gw = Gateway(workdir, config, env={"LLMRELAY_TEST_MASTER": MASTER_KEY}).start()
    try:
        response = gw.chat(model="gpt")
        assert response.status_code == 200, response.text
        assert response.headers["x-llmrelay-deployment"] == "gpt-primary"
        log = gw.stderr()
        for ignored in ("litellm_settings.set_verbose", "general_settings.alerting",
                        "router_settings.enable_pre_call_checks", "router_settings.retry_policy"):
            assert log.count(ignored) == 1, log
    finally:
        gw.close()


def test_litellm_settings_router_keys_apply(emulator_server: Emulator, workdir: Path,
                                            make_database: Callable[[], str]) -> None:
    """LiteLLM keeps fallbacks, cooldown_time... in litellm_settings: they are the Router's,
    not settings to log as ignored."""
    config = emulator_config(emulator_server, make_database())
    config["litellm_settings"] = {"fallbacks": [{"badauth": ["chat"]}], "cooldown_time": 5,
                                  "allowed_fails": 1, "context_window_fallbacks": [{"chat": ["other"]}]}
    gw = Gateway(workdir, config, emulator=emulator_server).start()
    try:
        response = gw.chat(model="badauth")
        assert response.status_code == 200, response.text
        assert response.headers["x-llmrelay-deployment"] == "chat/0"
        row = gw.row(response.headers["x-request-id"])
        assert (row["model_group"], row["deployment"]) == ("badauth", "chat/0")
        assert "litellm_settings." not in gw.stderr(), gw.stderr()
    finally:
        gw.close()


def test_model_flag_without_config(emulator_server: Emulator, tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": emulator_server.api_key, "OPENAI_API_BASE": emulator_server.base_url("openai"),
           "LLMRELAY_MASTER_KEY": MASTER_KEY}
    gw = Gateway(tmp_path, None, args=["--model", "openai/gpt-4o-mini"], env=env).start()
    try:
        assert [m.id for m in gw.client().models.list().data] == ["openai/gpt-4o-mini"]
        response = gw.chat(model="openai/gpt-4o-mini")
        assert response.status_code == 200, response.text
        assert (tmp_path / "llmrelay.db").exists()
    finally:
        gw.close()


def test_console_script(emulator_server: Emulator, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "llmrelay"
    assert script.exists()
    port = free_port()
    env = {**os.environ, "OPENAI_API_KEY": emulator_server.api_key,
           "OPENAI_API_BASE": emulator_server.base_url("openai")}
    import subprocess

    proc = subprocess.Popen([str(script), "serve", "--model", "gpt-4o-mini", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import time

        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/readiness").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        response = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                              json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
        # No master key configured: an open gateway (bound to loopback), warned at start.
        assert response.status_code == 200, response.text
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, output
    assert "no master key" in output


def test_unreachable_redis_is_not_fatal(emulator_server: Emulator, workdir: Path,
                                        make_database: Callable[[], str]) -> None:
    config = emulator_config(emulator_server, make_database(),
                             redis_url=f"redis://127.0.0.1:{free_port()}/0")
    gw = Gateway(workdir, config, emulator=emulator_server).start()
    try:
        ready = httpx.get(gw.url + "/health/readiness")
        assert ready.status_code == 200
        assert ready.json() == {"status": "healthy", "db": "connected", "redis": "disconnected"}
        assert gw.chat().status_code == 200
        assert "redis" in gw.stderr().lower()
    finally:
        gw.close()


def test_readiness_with_redis(emulator_server: Emulator, workdir: Path,
                              make_database: Callable[[], str]) -> None:
    url = os.environ.get("LLMRELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    gw = Gateway(workdir, emulator_config(emulator_server, make_database(), redis_url=url),
                 emulator=emulator_server).start()
    try:
        ready = httpx.get(gw.url + "/health/readiness")
        assert ready.json() == {"status": "healthy", "db": "connected", "redis": "connected"}
    finally:
        gw.close()


def test_readiness_without_redis(gw: Gateway) -> None:
    ready = httpx.get(gw.url + "/health/readiness")
    assert ready.status_code == 200
    assert ready.json() == {"status": "healthy", "db": "connected", "redis": "not configured"}
