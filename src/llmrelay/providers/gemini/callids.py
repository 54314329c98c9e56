"""Tool-call ids for Gemini function calls: minted (Gemini sends none), deterministic, and
carrying the call's thought signature back to Gemini (``call_<hex>__thought__<signature>``).
"""

from __future__ import annotations

import hashlib

# Why the id: the OpenAI shape has no slot for a signature, and Gemini 3 refuses a replayed call
# without it. An id survives every client, ``stream_chunk_builder`` and the gateway; the
# ``__thought__`` separator is the one LiteLLM and compatible gateways use.
SEPARATOR = "__thought__"
# Documented stand-in for a function call that has no signature of its own (history written by
# hand or by another model): https://ai.google.dev/gemini-api/docs/thought-signatures
SKIP_VALIDATOR = "skip_thought_signature_validator"


def mint(response_id: str, candidate: int, ordinal: int, name: str) -> str:
    """``call_`` + 24 hex digits, a function of where the call stands in which answer."""
    digest = hashlib.sha256(f"{response_id}\0{candidate}\0{ordinal}\0{name}".encode()).hexdigest()
    return "call_" + digest[:24]


def tool_call_id(call: dict[str, object], response_id: str, candidate: int, ordinal: int) -> str:
    """The OpenAI id of a ``functionCall`` part: Gemini's own id when it sent one, else minted;
    with the part's thought signature appended."""
    fn = call.get("functionCall")
    fn = fn if isinstance(fn, dict) else {}
    base = fn.get("id") or mint(response_id, candidate, ordinal, str(fn.get("name") or ""))
    signature = call.get("thoughtSignature")
    return f"{base}{SEPARATOR}{signature}" if isinstance(signature, str) and signature else str(base)


def split(call_id: str) -> tuple[str, str | None]:
    """``(id, thought signature or None)`` of an id made by ``tool_call_id``."""
    base, sep, signature = call_id.partition(SEPARATOR)
    return (base, signature) if sep and signature else (call_id, None)
