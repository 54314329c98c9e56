"""Azure OpenAI emulator (``POST /openai/deployments/<deployment>/chat/completions`` and
``.../embeddings``).

OpenAI's generator with Azure's differences, as recorded in shared/recorded/azure: the
``api-version`` query is required, ``api-key`` (or an Entra ``Bearer`` token) authenticates,
bodies carry ``prompt_filter_results`` and per-choice ``content_filter_results``, and a stream
opens with an identity-less prompt-filter event. Deployments named ``missing-*`` do not exist.
"""

from __future__ import annotations

from typing import Any

from .openai import OPENAI, Flavor, check_embedding_request, embedding_reply, serve_chat
from .server import Exchange, Reply, error_body, provider_error, route, sse

# Versions Azure's REST spec tree and docs list for chat completions (GA, then previews).
API_VERSIONS = frozenset({
    "2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21",
    "2023-12-01-preview", "2024-02-15-preview", "2024-03-01-preview", "2024-04-01-preview",
    "2024-05-01-preview", "2024-07-01-preview", "2024-08-01-preview", "2024-09-01-preview",
    "2024-10-01-preview", "2024-12-01-preview", "2025-01-01-preview", "2025-02-01-preview",
    "2025-03-01-preview", "2025-04-01-preview",
})

SAFE = {"filtered": False, "severity": "safe"}
NOT_DETECTED = {"filtered": False, "detected": False}
PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": {
    "hate": SAFE, "jailbreak": NOT_DETECTED, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE,
}}]
OUTPUT_FILTER = {
    "hate": SAFE, "protected_material_code": NOT_DETECTED, "protected_material_text": NOT_DETECTED,
    "self_harm": SAFE, "sexual": SAFE, "violence": SAFE,
}
# The first event of every stream: no identity, no choices, the prompt's filter results.
PRELUDE = sse({"choices": [], "created": 0, "id": "", "model": "", "object": "",
               "prompt_filter_results": PROMPT_FILTER})

UNAUTHORIZED = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                "to provide a valid key for an active subscription and use a correct regional "
                "API endpoint for your resource.")
DEPLOYMENT_NOT_FOUND = ("The API deployment for this resource does not exist. If you created the "
                        "deployment within the last 5 minutes, please wait a moment and try again.")


def shape_body(out: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    out.pop("service_tier", None)
    for choice in out["choices"]:
        choice["content_filter_results"] = OUTPUT_FILTER
    return {**out, "prompt_filter_results": PROMPT_FILTER}


def shape_chunk(chunk: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """Recorded chunks have no ``service_tier`` nor ``usage: null``; text deltas carry the
    output filter's results, the role and finish chunks an empty object."""
    chunk.pop("service_tier", None)
    if chunk.get("usage") is None:
        chunk.pop("usage", None)
    for choice in chunk["choices"]:
        delta = choice.get("delta") or {}
        choice["content_filter_results"] = OUTPUT_FILTER if delta.get("content") else {}
    return chunk


AZURE = Flavor(
    "azure",
    resolve_model=OPENAI.resolve_model,
    shape_body=shape_body,
    shape_chunk=shape_chunk,
    prelude=(PRELUDE,),
)


@error_body("azure")
def azure_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    """Azure's own envelopes (string ``code``, no ``type``) for what its gateway answers;
    the model service's OpenAI-style ones for 400 and 5xx, which Azure passes through."""
    headers = {"apim-request-id": "00000000-0000-4000-8000-000000000000"}
    if status == 401:
        return {"error": {"code": "401", "message": UNAUTHORIZED}}, headers
    if status == 403:
        return {"error": {"code": "403", "message": "Access denied due to Virtual Network/"
                          "Firewall rules."}}, headers
    if status == 404:
        return {"error": {"code": "404", "message": "Resource not found"}}, headers
    if status == 429:
        headers.update({"retry-after": "0", "retry-after-ms": "20"})
        return {"error": {"code": "429", "message": (
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
            "2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. "
            "Please retry after 0 seconds. Please go here: https://aka.ms/oai/quotaincrease if "
            "you would like to further increase the default rate limit.")}}, headers
    if status >= 500:
        return {"error": {"message": "The server had an error while processing your request. "
                          "Sorry about that!", "type": "server_error", "param": None,
                          "code": None}}, headers
    return {"error": {"message": message, "type": "invalid_request_error", "param": None,
                      "code": None}}, headers


def authorized(ex: Exchange) -> bool:
    """An ``api-key`` header, or ``Authorization: Bearer`` (an Entra token; here the key)."""
    return (ex.headers.get("api-key") == ex.api_key
            or ex.headers.get("authorization") == f"Bearer {ex.api_key}")


def refused(ex: Exchange) -> Reply | None:
    """What Azure's gateway answers before the model sees the request: auth, api-version and
    the deployment's existence."""
    if not authorized(ex):
        return provider_error("azure", 401, UNAUTHORIZED)
    version = ex.query.get("api-version")
    if not version:
        # Azure answers a missing api-version as an unknown route.
        return provider_error("azure", 404, "Resource not found")
    if version not in API_VERSIONS:
        reply = provider_error("azure", 400, "API version not supported")
        reply.body = {"error": {"code": "BadRequest", "message": "API version not supported"}}
        return reply
    if ex.match["deployment"].startswith("missing-"):
        reply = provider_error("azure", 404, DEPLOYMENT_NOT_FOUND)
        reply.body = {"error": {"type": "invalid_request_error", "code": "DeploymentNotFound",
                                "message": DEPLOYMENT_NOT_FOUND}}
        return reply
    return None


@route("azure", "POST", r"/openai/deployments/(?P<deployment>[^/]+)/chat/completions")
def chat_completions(ex: Exchange) -> Reply:
    reply = refused(ex)
    if reply is not None:
        return reply
    deployment = ex.match["deployment"]
    return serve_chat(ex, AZURE, deployment, {
        "apim-request-id": "00000000-0000-4000-8000-000000000001",
        "x-request-id": "req_emulator",
        "x-ratelimit-remaining-requests": "119",
        "x-ratelimit-remaining-tokens": "119986",
    })


# Azure's own wording for an embeddings request over its input limit.
TOO_MANY_INPUTS = ("Too many inputs. The max number of inputs is 2048.  We hope to increase the "
                   "number of inputs per request soon. Please contact us through an Azure support "
                   "request at: https://go.microsoft.com/fwlink/?linkid=2213926 for further "
                   "questions.")


@route("azure", "POST", r"/openai/deployments/(?P<deployment>[^/]+)/embeddings")
def embeddings(ex: Exchange) -> Reply:
    """The deployment's name stands for its model (``text-embedding-3-small``), as by convention."""
    reply = refused(ex)
    if reply is not None:
        return reply
    deployment = ex.match["deployment"]
    if deployment.startswith(("gpt-", "o1", "o3", "o4")):
        return provider_error("azure", 400, (
            f"The embeddings operation does not work with the specified model, {deployment}. "
            "Please choose different model and try again. You can learn more about which models "
            "can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."))
    inputs = check_embedding_request(ex.body, "azure", deployment, 2048, TOO_MANY_INPUTS)
    if not isinstance(inputs, list):
        return inputs
    return embedding_reply(ex.body, inputs, deployment, deployment, {
        "apim-request-id": "00000000-0000-4000-8000-000000000002",
        "x-request-id": "req_emulator"})
