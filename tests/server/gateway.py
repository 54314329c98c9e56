"""``llmrelay serve`` as a real process for the tests: start it on a free port with a config,
call it with the official ``openai`` SDK and raw HTTP, stop it with a signal, read its stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import yaml

from llmrelay.testing import Emulator

from ..services import free_port

MASTER_KEY = "sk-master-test-0123456789"
EMULATOR_KEY_VAR = "LLMRELAY_TEST_EMULATOR_KEY"
PRICE_IN = 1e-6
PRICE_OUT = 2e-6


def emulator_config(emu: Emulator, database_url: str, **general: Any) -> dict[str, Any]:
    """A config with a few groups on the emulator: priced, unpriced, one with bad credentials,
    one limited to 1 request per minute, one that falls back."""
    base = emu.base_url("openai")
    key = f"os.environ/{EMULATOR_KEY_VAR}"
    return {
        "model_list": [
            {"model_name": "chat", "params": {"model": "openai/gpt-4o-mini", "api_key": key,
                                              "api_base": base},
             "model_info": {"input_cost_per_token": PRICE_IN, "output_cost_per_token": PRICE_OUT}},
            {"model_name": "other", "litellm_params": {"model": "openai/gpt-4o", "api_key": key,
                                                       "api_base": base}},
            {"model_name": "unpriced", "params": {"model": "openai/llmrelay-test-unknown-model",
                                                  "api_key": key, "api_base": base}},
            {"model_name": "badauth", "params": {"model": "openai/gpt-4o-mini",
                                                 "api_key": "sk-wrong-provider-key-999",
                                                 "api_base": base}},
            {"model_name": "limited", "params": {"model": "openai/gpt-4o-mini", "api_key": key,
                                                 "api_base": base, "rpm": 1}},
            {"model_name": "embed", "params": {"model": "openai/text-embedding-3-small",
                                               "api_key": key, "api_base": base}},
        ],
        "router_settings": {"num_retries": 0, "cooldown_time": 30},
        "general_settings": {"master_key": MASTER_KEY, "database_url": database_url, **general},
    }


class Gateway:
    """One ``llmrelay serve`` process."""

    def __init__(self, workdir: Path, config: dict[str, Any] | None, *, emulator: Emulator | None = None,
                 args: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = config
        self.config_path: Path | None = None
        self.stderr_path = workdir / f"gateway-{self.port}.log"
        self.args = args or []
        self.env = {**os.environ, **(env or {})}
        if emulator is not None:
            self.env[EMULATOR_KEY_VAR] = emulator.api_key
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self._clients: list[openai.OpenAI] = []

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "llmrelay.server"]
        if self.config is not None:
            self.config_path = self.workdir / f"config-{self.port}.yaml"
            self.config_path.write_text(yaml.safe_dump(self.config))
            cmd += ["--config", str(self.config_path)]
        return [*cmd, "--port", str(self.port), *self.args]

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> Gateway:
        self._log = self.stderr_path.open("ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, env=self.env,
                                     stdout=self._log, stderr=self._log)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                if self.http.get("/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the gateway did not start in {timeout} s:\n{self.stderr()}")

    def run(self, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run to completion (for starts that must fail): exit status and output."""
        return subprocess.run(self.command(), cwd=self.workdir, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def close(self) -> None:
        self.stop()
        self.http.close()
        for client in self._clients:
            client.close()

    # ---- clients ------------------------------------------------------------------------

    def client(self, key: str = MASTER_KEY) -> openai.OpenAI:
        client = openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=30)
        self._clients.append(client)
        return client

    def aclient(self, key: str = MASTER_KEY) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=30)

    def post(self, path: str, body: Any, key: str | None = MASTER_KEY, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        headers.update(kw.pop("headers", {}))
        return self.http.post(path, content=json.dumps(body), headers=headers, **kw)

    def get(self, path: str, key: str | None = MASTER_KEY, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return self.http.get(path, headers=headers, **kw)

    def chat(self, key: str = MASTER_KEY, model: str = "chat", content: str = "Hello there",
             **body: Any) -> httpx.Response:
        return self.post("/v1/chat/completions",
                         {"model": model, "messages": [{"role": "user", "content": content}], **body},
                         key)

    def create_key(self, **settings: Any) -> dict[str, Any]:
        response = self.post("/key/generate", settings)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def spend(self, **query: Any) -> dict[str, Any]:
        response = self.get("/spend/logs", params=query)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def row(self, request_id: str) -> dict[str, Any]:
        """The spend row of one request (waits briefly: admin reads flush this replica)."""
        for row in self.spend(page_size=1000)["data"]:
            if row["request_id"] == request_id:
                return dict(row)
        raise AssertionError(f"no spend row for {request_id}")


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return dict(body["error"])


def table(url: str, name: str) -> list[dict[str, Any]]:
    """Every row of a table, read straight from the database (not through the gateway)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///"):])
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(f"SELECT * FROM {name}")]
        finally:
            conn.close()
    import asyncpg

    from ..services import run_async

    async def read() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(f"SELECT * FROM {name}")]
        finally:
            await conn.close()

    rows: list[dict[str, Any]] = run_async(read())
    return rows
