"""One interaction of a cassette as the file holds it: readable JSON a person can review.

Request: method, URL, headers and body (JSON), secrets removed. Response: status, the headers
worth keeping, and the body as JSON (as text when it is not JSON, base64 when not even text),
or a stream as the list of its chunks exactly as received (text; a chunk that is not UTF-8 as
``{"base64": ...}``); an ``error`` when the connection failed, before an answer or midway.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Mapping

from ..exceptions import APIConnectionError, Timeout
from .secrets import is_secret_header, is_secret_response_header, scrub, scrub_chunks, strip_url

if TYPE_CHECKING:
    from ..providers.base import HTTPRequest
    from ..transport import AsyncResponse, Response

__all__ = ["error_of", "error_record", "request_record", "response_of", "response_record",
           "stream_record"]

# Transport details that a replay must not repeat (the body is stored decoded) or that only
# add noise to a review.
_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection",
                      "keep-alive", "date", "host", "accept-encoding", "user-agent"})
_ERRORS: dict[str, type[APIConnectionError]] = {"APIConnectionError": APIConnectionError,
                                                "Timeout": Timeout}
BINARY_NOTE = ("binary stream ({kind}): chunks are base64, one per chunk as received; the "
               "decoded events are not shown")


def request_record(request: "HTTPRequest", secrets: tuple[str, ...]) -> dict[str, Any]:
    headers = {k.lower(): scrub(v, secrets) for k, v in request.headers.items()
               if not is_secret_header(k) and k.lower() not in _DROPPED}
    return {"method": request.method.upper(), "url": strip_url(request.url, secrets, drop=False),
            "headers": dict(sorted(headers.items())), "body": scrub(request.json, secrets)}


def _headers(headers: Mapping[str, str], secrets: tuple[str, ...]) -> dict[str, str]:
    kept = {k.lower(): scrub(v, secrets) for k, v in headers.items()
            if not is_secret_response_header(k) and k.lower() not in _DROPPED}
    return dict(sorted(kept.items()))


def response_record(status: int, headers: Mapping[str, str], content: bytes,
                    secrets: tuple[str, ...]) -> dict[str, Any]:
    record: dict[str, Any] = {"status": status, "headers": _headers(headers, secrets)}
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        record["body_base64"] = base64.b64encode(
            scrub_chunks([content], secrets)[0]).decode("ascii")
        return record
    try:
        record["body"] = scrub(json.loads(text), secrets) if text.strip() else None
    except ValueError:
        record["body_text"] = scrub(text, secrets)
    if text and not text.strip():
        record.pop("body", None)
        record["body_text"] = text
    return record


def stream_record(status: int, headers: Mapping[str, str], chunks: list[bytes],
                  secrets: tuple[str, ...]) -> dict[str, Any]:
    record: dict[str, Any] = {"status": status, "headers": _headers(headers, secrets)}
    kind = record["headers"].get("content-type", "")
    chunks = scrub_chunks(chunks, secrets)
    binary = not (kind.startswith("text/") or "json" in kind or not kind)
    if binary:
        record["note"] = BINARY_NOTE.format(kind=kind.split(";")[0])
    record["stream"] = [_chunk(c, binary) for c in chunks]
    return record


def _chunk(chunk: bytes, binary: bool) -> Any:
    if not binary:
        try:
            return chunk.decode("utf-8")
        except UnicodeDecodeError:
            pass  # a character split between two chunks: exact bytes instead
    return {"base64": base64.b64encode(chunk).decode("ascii")}


def error_record(error: BaseException, secrets: tuple[str, ...]) -> dict[str, Any]:
    kind = "Timeout" if isinstance(error, Timeout) else "APIConnectionError"
    message = getattr(error, "message", None) or str(error)
    return {"type": kind, "message": scrub(message, secrets)}


def error_of(record: Mapping[str, Any]) -> APIConnectionError:
    return _ERRORS.get(record.get("type", ""), APIConnectionError)(str(record.get("message", "")))


def _chunk_bytes(item: Any) -> bytes:
    if isinstance(item, str):
        return item.encode("utf-8")
    return base64.b64decode(item["base64"])


def response_of(record: Mapping[str, Any], error: Mapping[str, Any] | None, *,
                asynchronous: bool) -> "Response | AsyncResponse":
    """The recorded answer as the transport's response, read by the core as from the network."""
    from ..transport import replayed

    status, headers = int(record["status"]), record.get("headers") or {}
    if "stream" in record:
        chunks = [_chunk_bytes(c) for c in record["stream"]]
        failure = error_of(error) if error is not None else None
        return replayed(status, headers, b"", chunks, failure, asynchronous=asynchronous)
    if "body_base64" in record:
        content = base64.b64decode(record["body_base64"])
    elif "body_text" in record:
        content = record["body_text"].encode("utf-8")
    elif record.get("body") is None:
        content = b""
    else:
        content = json.dumps(record["body"], ensure_ascii=False).encode("utf-8")
    return replayed(status, headers, content, asynchronous=asynchronous)
