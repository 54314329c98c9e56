"""The shipped command lines: the emulator CLI and the demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import llmrelay

ROOT = Path(__file__).resolve().parents[1]


def test_emulator_cli_serves_until_stopped() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "llmrelay.testing", "--api-key", "sk-cli"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        bases = dict(line.split()[0:2] for line in (proc.stdout.readline() for _ in range(8)))
        assert "api key sk-cli" in banner
        openai_base = bases["openai"].removeprefix("api_base=")
        resp = llmrelay.completion(model="gpt-4o-mini", api_base=openai_base, api_key="sk-cli",
                                   messages=[{"role": "user", "content": "cli"}])
        assert resp.choices[0].message.content.endswith("cli")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_calls_every_provider_through_the_emulator() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    for provider in ("openai", "azure", "anthropic", "cohere", "replicate", "openrouter", "bedrock",
                     "mistral", "groq", "deepseek", "xai", "together_ai", "fireworks_ai",
                     "perplexity", "ollama", "hosted_vllm", "gemini"):
        assert f"[{provider}]" in out.stdout
    assert "failed" not in out.stdout
    assert "answered by claude-backup after 3 attempts" in out.stdout
    assert "again: cache_hit=True cost=$0.00; equal=True; requests sent: 1" in out.stdout
    assert "2 vectors of 8 floats" in out.stdout
    assert "[gateway]" in out.stdout
