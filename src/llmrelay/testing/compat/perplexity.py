"""Perplexity, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import CREATED, Flavor
from ..server import Exchange, RawReply, Reply
from .common import (
    bearer_ok,
    plain_usage,
    think_in_content,
)
from .spec import (
    Chunk,
    Spec,
    refusal,
    register,
    thought_pieces,
    uuid_for,
    with_reasoning,
    without,
)

# A wrong key gets the proxy's HTML 401 page; an unknown model 400 invalid_model (both from
# public issues). Stream chunks say "chat.completion", carry the text so far as ``message``
# beside the ``delta``, running usage totals and the citations on every chunk (reported).

PERPLEXITY_401 = (b"<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
                  b"<center><h1>401 Authorization Required</h1></center>\r\n"
                  b"<hr><center>openresty/1.27.4</center>\r\n</body>\r\n</html>\r\n")
CITATIONS = ["https://example.com/emulator-a", "https://example.com/emulator-b"]
SEARCH_RESULTS = [{"title": "Emulator A", "url": CITATIONS[0], "date": "2026-01-01"},
                  {"title": "Emulator B", "url": CITATIONS[1], "date": None}]


def perplexity_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kind = "invalid_model" if status == 400 else ("internal_server_error" if status >= 500
                                                  else "invalid_request_error")
    return ({"error": {"message": message, "type": kind, "code": status}},
            {"retry-after": "0"} if status == 429 else {})


def perplexity_authorize(ex: Exchange) -> Reply | None:
    if bearer_ok(ex):
        return None
    return RawReply(401, PERPLEXITY_401, {"content-type": "text/html"})


def perplexity_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = str(request.get("model") or "")
    if not model.startswith("sonar"):
        return refusal(400, perplexity_error(400, f"Invalid model '{model}'. Permitted models can "
                                             "be found in the documentation at "
                                             "https://docs.perplexity.ai/getting-started/models.")[0])
    return None


def perplexity_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    return {**plain_usage(prompt_tokens, completion_tokens, request),
            "search_context_size": "low", "citation_tokens": 0, "num_search_queries": 1,
            "cost": {"input_tokens_cost": 0.0, "output_tokens_cost": 0.0,
                     "request_cost": 0.005, "total_cost": 0.005}}


def perplexity_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = think_in_content(without(out, "system_fingerprint"), request, thought)
    out["choices"] = [{**c, "delta": {"role": "assistant", "content": ""}}
                      for c in out["choices"]]
    return {**out, "citations": CITATIONS, "search_results": SEARCH_RESULTS}


def perplexity_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    pieces = [c for c in chunks if c.get("choices")]
    if thought:
        pieces = with_reasoning(pieces, [{"content": "<think>"}] + [
            {"content": p} for p in thought_pieces(thought)] + [{"content": "</think>\n"}])
    usage = next((c["usage"] for c in chunks if c.get("usage")), None) or {}
    out, text = [], ""
    for i, chunk in enumerate(pieces):
        choice = chunk["choices"][0]
        text += choice["delta"].get("content") or ""
        done = i + 1 == len(pieces)
        running = perplexity_usage(usage.get("prompt_tokens", 0), i + 1 if not done else
                                   usage.get("completion_tokens", 0), request)
        out.append({"id": uuid_for(chunk["id"]), "model": chunk["model"], "created": CREATED,
                    "usage": running, "citations": CITATIONS, "search_results": SEARCH_RESULTS,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "finish_reason": choice.get("finish_reason"),
                                 "message": {"role": "assistant", "content": text},
                                 "delta": {"role": "assistant",
                                           "content": choice["delta"].get("content") or ""}}]})
    return out


PERPLEXITY = register(Spec(
    name="perplexity",
    base_paths=("/perplexity",),
    flavor=Flavor("perplexity", usage=perplexity_usage, obfuscation=False, native_n=False,
                  always_usage=True),
    authorize=perplexity_authorize,
    error=perplexity_error,
    refuse=perplexity_refuse,
    thinks=("sonar-reasoning*",),
    shape_body=perplexity_body,
    shape_stream=perplexity_stream,
))
