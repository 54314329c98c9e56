"""Gemini ``GenerateContentResponse`` -> OpenAI ``chat.completion``: one choice per candidate;
text, thought and ``functionCall`` parts become content, reasoning and tool calls.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ...exceptions import APIError
from ...types import ModelResponse, response_of
from ..base import CallContext
from .callids import tool_call_id
from .errors import stream_error

# A prompt refused before any candidate (``promptFeedback.blockReason``, HTTP 200) is one empty
# choice with ``finish_reason: "content_filter"``, as a filtered completion is at OpenAI.
FILTERED = "content_filter"
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "CONTINUATION": "length",  # the per-request token limit, more could follow
    "SAFETY": FILTERED,
    "RECITATION": FILTERED,
    "BLOCKLIST": FILTERED,
    "PROHIBITED_CONTENT": FILTERED,
    "SPII": FILTERED,
    "IMAGE_SAFETY": FILTERED,
    "IMAGE_PROHIBITED_CONTENT": FILTERED,
    "IMAGE_RECITATION": FILTERED,
    "MODEL_ARMOR": FILTERED,
    "ESCALATION": FILTERED,
    "PUP_LIMITED_DISABLED": FILTERED,
    # Everything else (MALFORMED_FUNCTION_CALL, LANGUAGE, OTHER, ...) ends the answer: "stop".
}


def finish_reason(reason: Any, *, has_calls: bool, legacy: bool) -> str | None:
    if not reason:
        return None
    mapped = FINISH_REASONS.get(str(reason), "stop")
    if mapped == "stop" and has_calls:
        return "function_call" if legacy else "tool_calls"
    return mapped


def is_legacy(ctx: CallContext) -> bool:
    """The request used ``functions``: tool calls come back as ``function_call``."""
    return bool(ctx.request.get("functions")) and not ctx.request.get("tools")


def usage_fields(meta: Any) -> dict[str, Any]:
    """``usageMetadata`` -> OpenAI usage: thoughts count as completion (reasoning) tokens, as
    OpenAI counts them; cached tokens are part of the prompt, as Gemini counts them already."""
    meta = meta if isinstance(meta, dict) else {}
    prompt = int(meta.get("promptTokenCount") or 0) + int(meta.get("toolUsePromptTokenCount") or 0)
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    completion = int(meta.get("candidatesTokenCount") or 0) + thoughts
    total = meta.get("totalTokenCount")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(total) if isinstance(total, int) and total else prompt + completion,
        "prompt_tokens_details": {"cached_tokens": int(meta.get("cachedContentTokenCount") or 0)},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def response_id(body: dict[str, Any]) -> str:
    rid = body.get("responseId")
    if isinstance(rid, str) and rid:
        return rid
    return "gemini-" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]


def candidate_index(candidate: dict[str, Any], position: int) -> int:
    index = candidate.get("index")
    return index if isinstance(index, int) else position  # some models leave ``index`` out


def tool_call(part: dict[str, Any], rid: str, candidate: int, ordinal: int) -> dict[str, Any]:
    fn = part["functionCall"]
    return {"id": tool_call_id(part, rid, candidate, ordinal), "type": "function",
            "function": {"name": fn.get("name") or "", "arguments": json.dumps(fn.get("args") or {})}}


def logprobs_of(result: Any) -> dict[str, Any] | None:
    """``logprobsResult`` -> OpenAI ``choice.logprobs`` (``content`` entries, top alternatives)."""
    if not isinstance(result, dict) or not isinstance(result.get("chosenCandidates"), list):
        return None
    tops = result.get("topCandidates") or []
    content = []
    for i, chosen in enumerate(result["chosenCandidates"]):
        alternatives = (tops[i].get("candidates") or []) if i < len(tops) else []
        content.append({**logprob_entry(chosen),
                        "top_logprobs": [logprob_entry(c) for c in alternatives]})
    return {"content": content}


def logprob_entry(candidate: dict[str, Any]) -> dict[str, Any]:
    token = str(candidate.get("token") or "")
    return {"token": token, "logprob": float(candidate.get("logProbability") or 0.0),
            "bytes": list(token.encode())}


def choice_of(candidate: dict[str, Any], position: int, rid: str, legacy: bool) -> dict[str, Any]:
    index = candidate_index(candidate, position)
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if "functionCall" in part:
            calls.append(tool_call(part, rid, index, len(calls)))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls and legacy:
        message["function_call"] = calls[0]["function"]
    elif calls:
        message["tool_calls"] = calls
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    finish = finish_reason(candidate.get("finishReason"), has_calls=bool(calls), legacy=legacy)
    return {"index": index, "message": message, "finish_reason": finish or "stop",
            "logprobs": logprobs_of(candidate.get("logprobsResult"))}


def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        raise stream_error(body, ctx)  # an error envelope under a 2xx status
    if not isinstance(body, dict) or not isinstance(body.get("candidates", []), list) or not (
        "candidates" in body or "promptFeedback" in body
    ):
        raise APIError("gemini returned a body that is not a GenerateContentResponse", response=body)
    rid, legacy = response_id(body), is_legacy(ctx)
    choices = [choice_of(c, i, rid, legacy) for i, c in enumerate(body.get("candidates") or [])]
    if not choices:  # the prompt itself was blocked
        choices = [{"index": 0, "message": {"role": "assistant", "content": None},
                    "finish_reason": FILTERED}]
    return response_of({
        "id": rid,
        "model": body.get("modelVersion") or ctx.model,
        "choices": choices,
        "usage": usage_fields(body.get("usageMetadata")),
    })
