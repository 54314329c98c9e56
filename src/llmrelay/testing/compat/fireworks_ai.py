"""Fireworks AI, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import Flavor
from ..server import Exchange, Reply
from .common import (
    bearer_ok,
    id_body,
    missing,
    plain_usage,
    usage_always_on_finish,
)
from .spec import (
    EmbeddingSpec,
    Spec,
    refusal,
    register,
)

# OpenAI's envelope with ``object: error`` inside (unverified); usage on the last stream
# chunk without asking (unverified).


def fireworks_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    if status == 401:
        message = "The API key you provided is invalid."
    body = {"error": {"object": "error", "type": "invalid_request_error" if status < 500
                      else "internal_server_error", "message": message}}
    return body, ({"retry-after": "0"} if status == 429 else {})


def fireworks_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    if missing(request):
        return refusal(404, fireworks_error(404, "Model not found, inaccessible, and/or not "
                                            "deployed")[0])
    return None


FIREWORKS = register(Spec(
    name="fireworks_ai",
    base_paths=("/inference/v1",),
    flavor=Flavor("fireworks_ai", usage=plain_usage, obfuscation=False, always_usage=True),
    authorize=lambda ex: None if bearer_ok(ex) else refusal(401, fireworks_error(401, "")[0]),
    error=fireworks_error,
    refuse=fireworks_refuse,
    shape_body=id_body,
    shape_stream=usage_always_on_finish,
    # /inference/v1/embeddings: OpenAI's shape, ``dimensions`` on Matryoshka models (nomic);
    # its limit and wording are not documented (unverified).
    embeddings=EmbeddingSpec(
        max_inputs=2048,
        too_many=lambda n: refusal(400, fireworks_error(
            400, f"Too many inputs: {n}; at most 2048 are accepted")[0]),
        refuse=fireworks_refuse,
        dimensions=("dimensions", ("nomic-ai/*", "*nomic-embed*")),
        size=lambda model: 768,
    ),
))
