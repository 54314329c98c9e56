"""The OpenAI-compatible family (Mistral, Groq, DeepSeek, xAI, ...): one adapter made from a
provider's data. How a provider differs from OpenAI is a ``Dialect``: body keys it never
takes, its name for reasoning text, its finish reasons, and small hooks for the rest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ...capabilities import EmbeddingFamily, ModelFamily
from ...config import ProviderSettings
from ...embedding_types import EmbeddingRequest
from ...exceptions import (
    APIError,
    BadRequestError,
    ContextWindowExceededError,
    UnsupportedParamsError,
)
from ...types import ChatRequest, ModelResponse, response_of
from ..base import Adapter, CallContext, EmbeddingAdapter, HTTPRequest
from .embeddings import embeddings_body
from .embeddings import parse_response as parse_embeddings
from .errors import classify
from .request import chat_body
from .response import with_choices
from .stream import ChunkTranslator, stream_error_status

Part = dict[str, Any]
ErrorRefiner = Callable[[int, str, "str | None"], "type[APIError] | None"]

# Context-window wording across OpenAI-compatible servers (vLLM, TGI, llama.cpp, Groq, ...).
CONTEXT_PHRASES = ("maximum context length", "context length", "context window",
                   "too many tokens", "reduce the length")
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Dialect:
    """What one provider does differently from OpenAI; every default is "as OpenAI does".

    ``omit``: body keys never sent (the provider rejects them and does their work anyway,
    e.g. Mistral's ``stream_options``: its streams always carry usage).
    ``reasoning_field``: the provider's name for reasoning text, also exposed as
    ``reasoning_content``. ``finish_reasons``: its finish reasons -> OpenAI's.
    ``shape_body`` adapts the request body; ``shape_part`` a response message or stream
    delta; ``shape_chunk`` a whole stream chunk. ``refine_error`` may pick a narrower class
    than the status gives. ``append_v1``: a base URL without ``/v1`` gets it (local servers
    are often given as ``http://host:port``). ``hold_usage``: usage is sent once, at the end
    of a stream (providers that repeat it).
    """

    omit: frozenset[str] = frozenset()
    reasoning_field: str | None = None
    finish_reasons: Mapping[str, str] = field(default_factory=dict)
    shape_body: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    shape_part: Callable[[Part], Part] | None = None
    shape_chunk: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    refine_error: ErrorRefiner | None = None
    append_v1: bool = False
    hold_usage: bool = False

    @property
    def rewrites_chunks(self) -> bool:
        return bool(self.reasoning_field or self.finish_reasons or self.shape_part
                    or self.shape_chunk)


def compatible(
    name: str,
    *,
    api_key_env: tuple[str, ...],
    default_base_url: str | None,
    base_url_env: str,
    families: tuple[ModelFamily, ...] = (),
    native_n: bool = True,
    api_key_optional: bool = False,
    dialect: Dialect = Dialect(),
    embeddings: tuple[EmbeddingFamily, ...] = (),
) -> Adapter:
    """The adapter of an OpenAI-compatible provider; ``api_key_optional`` for servers that
    need no key (no ``Authorization`` header is sent without one); ``embeddings``: the rows of
    its OpenAI-shaped ``/embeddings`` endpoint (none: it has no embeddings).

    >>> ADAPTER = compatible("groq", api_key_env=("GROQ_API_KEY",),
    ...                      default_base_url="https://api.groq.com/openai/v1",
    ...                      base_url_env="GROQ_API_BASE", native_n=False)
    """

    def parse_error(status: int, body: Any, headers: Mapping[str, str],
                    ctx: CallContext) -> APIError:
        return error_for(status, body, dialect.refine_error)

    def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
        return build_chat_request(dialect, request, settings)

    def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
        return parse_chat_response(dialect, body, ctx)

    def stream_translator(ctx: CallContext) -> CompatTranslator:
        return CompatTranslator(ctx, dialect, parse_error)

    def build_embeddings(request: EmbeddingRequest, settings: ProviderSettings) -> HTTPRequest:
        return HTTPRequest("POST", endpoint(dialect, settings, "/embeddings"),
                           auth_headers(settings), embeddings_body(request))

    return Adapter(
        name=name,
        api_key_env=api_key_env,
        default_base_url=default_base_url,
        base_url_env=base_url_env,
        build_request=build_request,
        parse_response=parse_response,
        stream_translator=stream_translator,
        parse_error=parse_error,
        families=families,
        native_n=native_n,
        # The core's "no API key" check gives way to ``finish_settings``: settings as resolved.
        finish_settings=keyless if api_key_optional else None,
        embeddings=(EmbeddingAdapter(build_embeddings, parse_embeddings, embeddings)
                    if embeddings else None),
    )


def keyless(settings: ProviderSettings) -> ProviderSettings:
    """Settings of a server that needs no key (Ollama, vLLM): as resolved, key or none."""
    return settings


# ---- requests -------------------------------------------------------------------------------


def endpoint(dialect: Dialect, settings: ProviderSettings, path: str) -> str:
    """``{base}{path}``; the base gets ``/v1`` first where the dialect asks for it."""
    base = settings.base_url
    if dialect.append_v1 and not base.endswith("/v1"):
        base += "/v1"
    return base + path


def auth_headers(settings: ProviderSettings) -> dict[str, str]:
    """Bearer auth, or no credentials at all when the provider needs none and none was set."""
    headers = {"content-type": "application/json"}
    if settings.api_key:
        headers["authorization"] = f"Bearer {settings.api_key}"
    return headers


def build_chat_request(dialect: Dialect, request: ChatRequest,
                       settings: ProviderSettings) -> HTTPRequest:
    body = chat_body(request)
    for key in dialect.omit:
        body.pop(key, None)
    if dialect.shape_body is not None:
        body = dialect.shape_body(body)
    return HTTPRequest("POST", endpoint(dialect, settings, "/chat/completions"),
                       auth_headers(settings), body, stream=bool(request.get("stream")))


def without_message_keys(body: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """``body`` with ``keys`` removed from every message."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(
            isinstance(m, dict) and not keys.isdisjoint(m) for m in messages):
        return body
    return {**body, "messages": [{k: v for k, v in m.items() if k not in keys}
                                 if isinstance(m, dict) else m for m in messages]}


# ---- responses ------------------------------------------------------------------------------


def shape_part(dialect: Dialect, part: Part) -> Part:
    """A message or delta with the dialect's changes and ``reasoning_content`` filled in."""
    if dialect.shape_part is not None:
        part = dialect.shape_part(part)
    name = dialect.reasoning_field
    if name:
        reasoning = part.get(name)
        if isinstance(reasoning, str) and reasoning and "reasoning_content" not in part:
            part = {**part, "reasoning_content": reasoning}
    return part


def shape_choice(dialect: Dialect, choice: Any, key: str, ctx: CallContext) -> Any:
    """A choice with its finish reason mapped and its message (``key``) or delta shaped.

    ``finish_reason: "error"`` (Mistral, OpenRouter) has no OpenAI equivalent: it raises."""
    if not isinstance(choice, dict):
        return choice
    finish = choice.get("finish_reason")
    if finish == "error":
        raise APIError(f"{ctx.provider} reports that generation failed (finish_reason 'error')")
    if isinstance(finish, str) and finish in dialect.finish_reasons:
        choice = {**choice, "finish_reason": dialect.finish_reasons[finish]}
    part = choice.get(key)
    if isinstance(part, dict):
        choice = {**choice, key: shape_part(dialect, part)}
    return choice


def is_error_body(body: dict[str, Any]) -> bool:
    """An error object where an answer should be: ``{"error": ...}`` or vLLM's and Mistral's
    ``{"object": "error", ...}``."""
    return bool(body.get("error")) or body.get("object") == "error"


def error_status(body: dict[str, Any]) -> int:
    error = body.get("error")
    return stream_error_status(error if isinstance(error, dict) else body)


def parse_chat_response(dialect: Dialect, body: Any, ctx: CallContext) -> ModelResponse:
    if not isinstance(body, dict):
        raise APIError(f"{ctx.provider} returned a body that is not an object", response=body)
    if is_error_body(body):
        raise error_for(error_status(body), body, dialect.refine_error)
    choices = [shape_choice(dialect, c, "message", ctx) for c in body.get("choices") or []]
    return with_choices(response_of({**body, "choices": choices}), ctx)


class CompatTranslator(ChunkTranslator):
    """The shared OpenAI chunk rules after the dialect's changes to each chunk."""

    def __init__(self, ctx: CallContext, dialect: Dialect,
                 parse_error: Callable[[int, Any, Mapping[str, str], CallContext], APIError]
                 ) -> None:
        super().__init__(ctx, parse_error, hold_usage=dialect.hold_usage)
        self._dialect = dialect
        # Chunks the dialect leaves alone take the one-step pydantic path.
        self._direct = not dialect.rewrites_chunks

    def prepare(self, obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("object") == "error":
            raise self._parse_error(error_status(obj), obj, {}, self._ctx)
        if self._dialect.shape_chunk is not None:
            obj = self._dialect.shape_chunk(obj)
        choices = obj.get("choices")
        if not choices:
            return obj
        return {**obj, "choices": [shape_choice(self._dialect, c, "delta", self._ctx)
                                   for c in choices]}


# ---- errors ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A message that may be a string, a FastAPI ``detail`` list or any JSON value."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "detail" in value:
        return _text(value["detail"])
    if isinstance(value, list) and all(isinstance(d, dict) and "msg" in d for d in value):
        return "; ".join(
            ".".join(str(p) for p in d.get("loc") or [] if p != "body") + f": {d['msg']}"
            if d.get("loc") else str(d["msg"]) for d in value)
    return json.dumps(value, default=str)[:2000]


def _forbidden_param(value: Any) -> str | None:
    """The request field a 422 ``extra_forbidden`` detail names (Mistral, FastAPI servers)."""
    if isinstance(value, dict):
        for key in ("detail", "message", "error"):
            found = _forbidden_param(value.get(key))
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item.get("type") == "extra_forbidden":
                loc = item.get("loc") or []
                return str(loc[-1]) if loc else None
    return None


def error_fields(body: Any) -> tuple[str, str | None]:
    """``(message, code)`` from any envelope the family uses.

    OpenAI's ``{"error": {"message", "type", "code"}}`` (Groq, DeepSeek, Together, Ollama,
    new vLLM); ``{"object": "error", "message": str | {"detail": [...]}, "type", "code"}``
    (Mistral, old vLLM); a bare ``{"detail": ...}`` (Mistral 401/422, FastAPI);
    ``{"code": "<text>", "error": "<message>"}`` (xAI) and ``{"error": "Unauthorized"}`` (vLLM);
    an HTML page from a proxy (Perplexity's 401): its title.
    """
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code") or error.get("type")
            message = error.get("message")
            return _text(message if message is not None else error), _code(code)
        if isinstance(error, str):
            return error, _code(body.get("code"))
        if "message" in body:
            return _text(body["message"]), _code(body.get("code") or body.get("type"))
        if "detail" in body:
            return _text(body["detail"]), None
        return _text(body), None
    text = body if isinstance(body, str) else repr(body)
    title = _TITLE.search(text)
    return (title.group(1).strip() if title else text[:2000]) or "(empty body)", None


def _code(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def error_for(status: int, body: Any, refine: ErrorRefiner | None = None) -> APIError:
    """The contract's exception for an error answer of the family.

    The status decides; a ``code`` (then the wording) narrows a 400/413/422 to a context-window
    or unsupported-parameter error; ``refine`` has the provider's last word."""
    message, code = error_fields(body)
    cls = classify(status, message, code)
    forbidden = _forbidden_param(body)
    if cls is BadRequestError and status in (400, 413, 422):
        if any(p in message.lower() for p in CONTEXT_PHRASES):
            cls = ContextWindowExceededError
        elif forbidden:
            cls = UnsupportedParamsError
    if refine is not None:
        cls = refine(status, message, code) or cls
    if issubclass(cls, UnsupportedParamsError):
        return cls(message, code=code, status_code=status, param=forbidden)
    return cls(message, code=code, status_code=status)
