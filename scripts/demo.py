"""The demo: one streaming and one non-streaming call through every provider, what the library
does beyond one call (meta and cost, embeddings, a Router, the cache, callbacks), then the gateway.

By default against llmrelay's own emulators on loopback, ending with ``llmrelay serve`` on
SQLite in front of them, called with the ``openai`` SDK; with ``--live``, against the real
providers whose keys are in the environment (the others are skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

import demo_gateway
import demo_library

import llmrelay
from llmrelay.registry import PROVIDERS

# provider -> (model string, env vars of which one must be set for --live)
MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "openai": ("gpt-4o-mini", ("OPENAI_API_KEY",)),
    "azure": ("azure/gpt-4o-mini", ("AZURE_API_KEY",)),
    "anthropic": ("anthropic/claude-3-5-haiku-20241022", ("ANTHROPIC_API_KEY",)),
    "cohere": ("cohere/command-r-plus-08-2024", ("COHERE_API_KEY",)),
    "replicate": ("replicate/meta/meta-llama-3-8b-instruct", ("REPLICATE_API_TOKEN",)),
    "openrouter": ("openrouter/openai/gpt-4o-mini", ("OPENROUTER_API_KEY",)),
    # Against the emulator, api_key= is a Bedrock API key (Bearer); live, AWS keys work too.
    "bedrock": ("bedrock/us.amazon.nova-micro-v1:0",
                ("AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID")),
    "mistral": ("mistral/mistral-small-latest", ("MISTRAL_API_KEY",)),
    "groq": ("groq/llama-3.3-70b-versatile", ("GROQ_API_KEY",)),
    "deepseek": ("deepseek/deepseek-chat", ("DEEPSEEK_API_KEY",)),
    "xai": ("xai/grok-3", ("XAI_API_KEY",)),
    "together_ai": ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
                    ("TOGETHER_API_KEY", "TOGETHERAI_API_KEY")),
    "fireworks_ai": ("fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
                     ("FIREWORKS_API_KEY",)),
    "perplexity": ("perplexity/sonar", ("PERPLEXITY_API_KEY",)),
    # Local servers need no key: --live calls them when their base URL is set.
    "ollama": ("ollama/llama3.2", ("OLLAMA_API_BASE",)),
    "hosted_vllm": ("hosted_vllm/meta-llama/Llama-3.1-8B-Instruct", ("HOSTED_VLLM_API_BASE",)),
    "gemini": ("gemini/gemini-2.5-flash", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
}
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Say hello to llmrelay in five words."},
]


def available() -> list[str]:
    """Providers whose adapter is implemented in this checkout."""
    found = []
    for provider in PROVIDERS:
        try:
            llmrelay.registry.get_adapter(provider)
        except (ImportError, AttributeError):
            continue
        found.append(provider)
    return found


def demo(provider: str, model: str, extra: dict[str, Any]) -> None:
    print(f"[{provider}] {model}")
    resp = llmrelay.completion(model=model, messages=MESSAGES, max_tokens=60, **extra)
    usage = resp.usage
    print(f"  completion: {resp.choices[0].message.content!r}")
    print(f"    finish_reason={resp.choices[0].finish_reason} "
          f"tokens={usage.total_tokens if usage else '?'}")
    print("  stream:     ", end="", flush=True)
    chunks = []
    for chunk in llmrelay.completion(model=model, messages=MESSAGES, max_tokens=60, stream=True,
                                     stream_options={"include_usage": True}, **extra):
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    built = llmrelay.stream_chunk_builder(chunks)
    print(f"\n    {len(chunks)} chunks, finish_reason={built.choices[0].finish_reason}")


async def ademo(provider: str, model: str, extra: dict[str, Any]) -> None:
    resp = await llmrelay.acompletion(model=model, messages=MESSAGES, max_tokens=60, **extra)
    print(f"  async:      {resp.choices[0].message.content!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--live", action="store_true", help="call the real providers")
    args = parser.parse_args()
    providers = available()
    failures = 0
    if args.live:
        for provider in providers:
            model, keys = MODELS[provider]
            if not any(os.environ.get(key) for key in keys):
                print(f"[{provider}] skipped: {' or '.join(keys)} is not set")
                continue
            failures += run(provider, model, {})
        return 1 if failures else 0

    from llmrelay.testing import Emulator

    with Emulator() as emu:
        print(f"emulator on {emu.url}\n")
        for provider in providers:
            model, _ = MODELS[provider]
            extra: dict[str, Any] = {"api_base": emu.base_url(provider), "api_key": emu.api_key}
            failures += run(provider, model, extra)
        failures += demo_library.run(emu)
        failures += demo_gateway.run(emu)
    return 1 if failures else 0


def run(provider: str, model: str, extra: dict[str, Any]) -> int:
    try:
        demo(provider, model, extra)
        asyncio.run(ademo(provider, model, extra))
    except llmrelay.APIError as exc:
        print(f"  failed: {exc!r}")
        return 1
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
