"""The gateway part of the demo: ``llmrelay serve`` on SQLite in front of the emulators, called
with the official ``openai`` SDK: a virtual key, a call, a stream, and the spend it logged."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

MASTER = "sk-demo-master-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin(url: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(url + path, method="POST" if body is not None else "GET",
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"authorization": f"Bearer {MASTER}",
                                              "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _config(emu: Any, workdir: Path) -> Path:
    config = (
        "model_list:\n"
        "  - model_name: chat\n"
        f"    params: {{model: openai/gpt-4o-mini, api_key: os.environ/DEMO_KEY, api_base: {emu.base_url('openai')}}}\n"
        "  - model_name: chat\n"
        "    params: {model: anthropic/claude-3-5-haiku-20241022, api_key: os.environ/DEMO_KEY,\n"
        f"             api_base: {emu.base_url('anthropic')}}}\n"
        "general_settings:\n"
        f"  master_key: {MASTER}\n"
        "  database_url: sqlite:///demo.db\n"
    )
    path = workdir / "config.yaml"
    path.write_text(config)
    return path


def run(emu: Any) -> int:
    """Start the gateway, call it, stop it; 0 when everything answered."""
    try:
        import openai
    except ImportError:
        print("[gateway] skipped: the demo needs the openai SDK (pip install openai)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DEMO_KEY": emu.api_key}
        proc = subprocess.Popen([sys.executable, "-m", "llmrelay.server", "--config",
                                 str(_config(emu, workdir)), "--port", str(port)],
                                cwd=workdir, env=env, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(url + "/health/readiness", timeout=1)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        print("[gateway] did not start:", proc.stderr.read().decode() if proc.stderr else "")
                        return 1
                    time.sleep(0.1)
            print(f"[gateway] llmrelay serve on {url}, SQLite, groups: chat (OpenAI + Anthropic)")
            key = _admin(url, "/key/generate", {"key_alias": "demo", "max_budget": 1.0,
                                                 "budget_duration": "30d", "rpm_limit": 60})
            print(f"  new key (shown once): {key['key'][:8]}...  stored as sha256 {key['token'][:12]}...")
            client = openai.OpenAI(base_url=url + "/v1", api_key=key["key"])
            raw = client.chat.completions.with_raw_response.create(
                model="chat", messages=[{"role": "user", "content": "Say hello to the gateway."}])
            resp = raw.parse()
            print(f"  completion: {resp.choices[0].message.content!r} "
                  f"(deployment {raw.headers['x-llmrelay-deployment']}, "
                  f"gateway overhead {raw.headers['x-llmrelay-overhead-ms']} ms)")
            print("  stream:     ", end="", flush=True)
            for chunk in client.chat.completions.create(
                    model="chat", stream=True, messages=[{"role": "user", "content": "Stream please."}]):
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
            print()
            info = _admin(url, f"/key/info?key={key['token']}")["info"]
            print(f"  key spend this period: ${info['spend']:.6f} of ${info['max_budget']:.2f}")
            for row in _admin(url, "/spend/logs?page_size=5")["data"]:
                print(f"  spend row: {row['model_group']} -> {row['deployment']} ({row['model']}), "
                      f"{row['total_tokens']} tokens, ${row['spend'] or 0:.6f}, {row['status']}")
        finally:
            proc.terminate()
            proc.wait(30)
    print()
    return 0
