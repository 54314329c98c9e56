"""The OpenAI-compatible providers as the tests address them: model strings, env vars and how
to point a call at the family emulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmrelay.testing import Emulator


@dataclass(frozen=True)
class Provider:
    name: str
    model: str                   # a plain chat model
    key_env: str | None          # None: no key needed
    base_env: str
    thinker: str | None = None   # a model that answers reasoning_content
    path: str = "/v1/chat/completions"   # the tail of the real request path
    native_n: bool = True


FAMILY = {p.name: p for p in (
    Provider("mistral", "mistral/mistral-small-latest", "MISTRAL_API_KEY", "MISTRAL_API_BASE",
             "mistral/magistral-medium-latest"),
    Provider("groq", "groq/llama-3.3-70b-versatile", "GROQ_API_KEY", "GROQ_API_BASE",
             "groq/openai/gpt-oss-120b", path="/openai/v1/chat/completions", native_n=False),
    Provider("deepseek", "deepseek/deepseek-chat", "DEEPSEEK_API_KEY", "DEEPSEEK_API_BASE",
             "deepseek/deepseek-reasoner", path="/chat/completions", native_n=False),
    Provider("xai", "xai/grok-3", "XAI_API_KEY", "XAI_API_BASE", "xai/grok-3-mini"),
    Provider("together_ai", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
             "TOGETHER_API_KEY", "TOGETHER_API_BASE"),
    Provider("fireworks_ai", "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
             "FIREWORKS_API_KEY", "FIREWORKS_API_BASE", path="/inference/v1/chat/completions"),
    Provider("perplexity", "perplexity/sonar", "PERPLEXITY_API_KEY", "PERPLEXITY_API_BASE",
             path="/chat/completions", native_n=False),
    Provider("ollama", "ollama/llama3.2", None, "OLLAMA_API_BASE", "ollama/qwen3:0.6b",
             native_n=False),
    Provider("hosted_vllm", "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
             "HOSTED_VLLM_API_KEY", "HOSTED_VLLM_API_BASE", "hosted_vllm/Qwen/Qwen3-8B"),
)}
NAMES = list(FAMILY)
THINKERS = [n for n, p in FAMILY.items() if p.thinker]
WITH_TOOLS = [n for n in NAMES if n != "perplexity"]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
THOUGHT = "The user wrote: Hi there. A short friendly answer will do."


def at(emulator: Emulator, name: str, **extra: Any) -> dict[str, Any]:
    """Keyword arguments of a call to ``name``'s emulator."""
    return {"model": FAMILY[name].model, "api_base": emulator.base_url(name),
            "api_key": emulator.api_key, **extra}
