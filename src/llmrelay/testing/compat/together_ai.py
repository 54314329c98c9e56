"""Together AI, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import Flavor
from ..server import Exchange, Reply
from .common import (
    bearer_ok,
    missing,
    openai_envelope,
    plain_usage,
    think_in_content,
    usage_always_on_finish,
)
from .spec import (
    EmbeddingSpec,
    Spec,
    refusal,
    register,
)

# OpenAI's envelope (the 401 wording from public issues); usage on the last stream chunk
# without asking (unverified).


def together_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    if status == 401:
        return openai_envelope(401, "Invalid API key provided. You can find your API key at "
                               "https://api.together.xyz/settings/api-keys.", "invalid_api_key"), {}
    return openai_envelope(status, message), ({"retry-after": "0"} if status == 429 else {})


def together_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = missing(request)
    if model:
        return refusal(400, openai_envelope(400, f"Unable to access model {model}. Please visit "
                                            "https://api.together.ai/models to view the list of "
                                            "supported models.", "model_not_available"))
    return None


TOGETHER = register(Spec(
    name="together_ai",
    base_paths=("/together/v1",),
    flavor=Flavor("together_ai", usage=plain_usage, obfuscation=False, always_usage=True),
    authorize=lambda ex: None if bearer_ok(ex) else refusal(401, together_error(401, "")[0]),
    error=together_error,
    refuse=together_refuse,
    thinks=("deepseek-ai/deepseek-r1*",),
    shape_body=think_in_content,
    shape_stream=usage_always_on_finish,
    # /v1/embeddings: OpenAI's shape; its limit and wording are not documented (unverified).
    embeddings=EmbeddingSpec(
        max_inputs=2048,
        too_many=lambda n: refusal(400, openai_envelope(
            400, f"Too many inputs: {n}. The maximum number of inputs is 2048.")),
        refuse=together_refuse,
        dimensions=("dimensions", ()),
        size=lambda model: 1024,
    ),
))
