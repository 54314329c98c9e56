"""A vLLM OpenAI-compatible server, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import Flavor
from ..server import STATUS_MESSAGES, Exchange, Reply, sse
from .common import (
    add_thought,
    bearer_ok,
    clean_body,
    missing,
)
from .spec import (
    Chunk,
    EmbeddingSpec,
    Spec,
    clean_chunk,
    refusal,
    register,
    thought_pieces,
    with_reasoning,
)

# vLLM's OpenAI server: ``{"error": "Unauthorized"}`` from its --api-key middleware (source),
# errors in OpenAI's envelope with ``code`` the status, the context-window wording, ``n``
# native, reasoning as ``reasoning``. ``/vllm/v1`` was started with --api-key,
# ``/vllm/open/v1`` without.


VLLM_CONTEXT = 32768


def vllm_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kinds = {400: "BadRequestError", 404: "NotFoundError", 429: "TooManyRequests"}
    kind = kinds.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}, {}


def vllm_authorize(ex: Exchange) -> Reply | None:
    if ex.path.startswith("/vllm/open/") or bearer_ok(ex):
        return None
    return refusal(401, {"error": "Unauthorized"})


def vllm_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = missing(request)
    if model:
        return refusal(404, vllm_error(404, f"The model `{model}` does not exist.")[0])
    wanted = request.get("max_completion_tokens") or request.get("max_tokens") or 0
    if wanted > VLLM_CONTEXT:
        prompt = 12
        return refusal(400, vllm_error(400, (
            f"This model's maximum context length is {VLLM_CONTEXT} tokens. However, you "
            f"requested {prompt + wanted} tokens ({prompt} in the messages, {wanted} in the "
            "completion). Please reduce the length of the messages or completion."))[0])
    return None


def vllm_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_body(out, "system_fingerprint")
    out["choices"] = [{**c, "stop_reason": None} for c in out["choices"]]
    out.update(prompt_logprobs=None, kv_transfer_params=None)
    return add_thought(out, "reasoning", thought)


def vllm_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [clean_chunk(c, "system_fingerprint") for c in chunks]
    if thought:
        out = with_reasoning(out, [{"reasoning": p} for p in thought_pieces(thought)])
    return out


def vllm_failure(events: list[str], status: int, request: dict[str, Any]) -> list[str]:
    return [*events[:3], sse(vllm_error(status, STATUS_MESSAGES.get(status, "Error"))[0])]


HOSTED_VLLM = register(Spec(
    name="hosted_vllm",
    base_paths=("/vllm/v1", "/vllm/open/v1"),
    flavor=Flavor("hosted_vllm", obfuscation=False),
    authorize=vllm_authorize,
    error=vllm_error,
    refuse=vllm_refuse,
    thinks=("*qwen3*",),
    shape_body=vllm_body,
    shape_stream=vllm_stream,
    stream_failure=vllm_failure,
    # /v1/embeddings of a server running an embedding model: strings or token ids.
    embeddings=EmbeddingSpec(
        max_inputs=1_000_000,
        too_many=lambda n: refusal(400, vllm_error(400, "too many inputs")[0]),
        fields=frozenset({"model", "input", "dimensions", "encoding_format", "user",
                          "truncate_prompt_tokens", "priority", "add_special_tokens"}),
        refuse=vllm_refuse,
        size=lambda model: 1024,
        token_ids=True,
    ),
))
