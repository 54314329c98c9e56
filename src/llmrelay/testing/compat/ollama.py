"""Ollama's OpenAI-compatible endpoint, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import Flavor, stable_id
from ..server import Exchange, Reply
from .common import (
    add_thought,
    clean_body,
    missing,
    plain_usage,
)
from .spec import (
    Chunk,
    EmbeddingSpec,
    Spec,
    clean_chunk,
    refusal,
    register,
    thought_pieces,
    whole_tool_calls,
    with_reasoning,
    without,
)

# Recorded: chatcmpl-<n> ids, fp_ollama, ``reasoning``; no key is checked. Documented (unknown
# model 404 wording from public issues): n and tool_choice are ignored; tool calls arrive
# whole in one chunk.


def ollama_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kind = "invalid_request_error" if status < 500 else "api_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}, {}


def ollama_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = missing(request)
    if model:
        return refusal(404, {"error": {"message": f'model "{model}" not found, try pulling it first',
                                       "type": "api_error", "param": None, "code": None}})
    return None


def ollama_id(chunk: dict[str, Any]) -> dict[str, Any]:
    return {**chunk, "id": f"chatcmpl-{int(stable_id('', chunk['id'])[:6], 16) % 1000}",
            "system_fingerprint": "fp_ollama"}


def ollama_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = ollama_id(clean_body(out))
    out["choices"] = [without(c, "logprobs") for c in out["choices"]]
    for choice in out["choices"]:
        if choice["message"].get("tool_calls"):
            choice["message"]["content"] = ""  # recorded
    return add_thought(out, "reasoning", thought)


def ollama_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [ollama_id(clean_chunk(c, "usage") if c.get("choices") else without(c, "service_tier"))
           for c in whole_tool_calls(chunks)]
    for chunk in out:
        chunk["choices"] = [without(c, "logprobs") for c in chunk["choices"]]
    if thought:
        out = with_reasoning(out, [{"role": "assistant", "content": "", "reasoning": p}
                                   for p in thought_pieces(thought)])
    return out


OLLAMA = register(Spec(
    name="ollama",
    base_paths=("/ollama/v1",),
    flavor=Flavor("ollama", usage=plain_usage, obfuscation=False, native_n=False),
    authorize=lambda ex: None,
    error=ollama_error,
    refuse=ollama_refuse,
    thinks=("qwen3*", "gpt-oss*", "deepseek-r1*"),
    shape_body=ollama_body,
    shape_stream=ollama_stream,
    # /v1/embeddings: strings, ``dimensions`` passed to the model; no input limit of its own.
    embeddings=EmbeddingSpec(
        max_inputs=1_000_000,
        too_many=lambda n: refusal(400, ollama_error(400, "too many inputs")[0]),
        fields=frozenset({"model", "input", "dimensions", "encoding_format", "user",
                          "truncate", "keep_alive", "options"}),
        refuse=ollama_refuse,
        size=lambda model: 768,
    ),
))
