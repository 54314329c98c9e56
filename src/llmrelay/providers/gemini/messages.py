"""OpenAI messages -> Gemini ``systemInstruction`` plus ``contents`` of user and model turns
(https://ai.google.dev/api/generate-content): consecutive turns of one role merged, never
dropped; tool results as named ``functionResponse`` parts, first in the user turn, in call order.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from ...exceptions import BadRequestError
from . import callids

Part = dict[str, Any]

# Media types by file extension, for http(s) and gs:// URLs (fileData needs one). A fixed
# table rather than ``mimetypes``, whose answers depend on the machine's /etc/mime.types.
MEDIA_TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "gif": "image/gif", "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
    "mp4": "video/mp4", "mpeg": "video/mpeg", "mov": "video/mov", "webm": "video/webm",
    "mp3": "audio/mp3", "wav": "audio/wav", "ogg": "audio/ogg", "flac": "audio/flac",
    "aac": "audio/aac", "aiff": "audio/aiff", "txt": "text/plain",
}
AUDIO_FORMATS = {"wav": "audio/wav", "mp3": "audio/mp3"}


def convert_messages(
    messages: list[dict[str, Any]], *, signatures: bool = False
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``(systemInstruction or None, contents)``. ``signatures``: the model refuses replayed
    function calls without a thought signature, so a turn that has none gets the documented
    stand-in on its first call."""
    system: list[Part] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id -> the function it called
    order: dict[str, int] = {}  # call id (without signature) -> its place among the calls
    for i, message in enumerate(messages):
        role, where = message["role"], f"messages[{i}]"
        if role in ("system", "developer"):
            system += text_parts(message.get("content"), where, "system instructions")
            continue
        if role == "user":
            parts, turn = user_parts(message.get("content"), where), "user"
        elif role == "assistant":
            parts, turn = model_parts(message, where, names, signatures), "model"
            for call in message.get("tool_calls") or []:
                order[callids.split(call["id"])[0]] = len(order)
        elif role == "tool":
            call_id = message["tool_call_id"]
            name = names.get(call_id) or names.get(callids.split(call_id)[0]) or message.get("name")
            if not name:
                raise BadRequestError(
                    f"{where} answers tool_call_id {call_id!r}, but no earlier assistant message "
                    "made that call; Gemini needs the name of the function it answers"
                )
            parts, turn = [function_response(name, callids.split(call_id)[0],
                                             message.get("content"), where)], "user"
        else:  # legacy "function" role: the answer to the latest call of that function
            parts, turn = [function_response(message["name"], None, message.get("content"), where)], "user"
        if parts:
            append_turn(contents, turn, parts)
    for content in contents:
        if content["role"] == "user":
            # Tool results first, in the order of the calls they answer (Gemini pairs results
            # with calls by position; OpenAI clients may answer parallel calls in any order).
            parts = content["parts"]
            answers = [p for p in parts if "functionResponse" in p]
            answers.sort(key=lambda p: order.get(p["functionResponse"].get("id", ""), len(order)))
            content["parts"] = answers + [p for p in parts if "functionResponse" not in p]
    return ({"parts": system} if system else None), contents


def append_turn(contents: list[dict[str, Any]], role: str, parts: list[Part]) -> None:
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": list(parts)})


def text_parts(content: Any, where: str, what: str) -> list[Part]:
    """Text-only content (system instructions, tool results, an assistant's words)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for j, part in enumerate(content):
        kind = part.get("type")
        text = part.get("text") if kind == "text" else part.get("refusal") if kind == "refusal" else None
        if text is None:
            raise BadRequestError(f"{where}.content[{j}]: gemini takes only text in {what}, not {kind!r}")
        if text:
            parts.append({"text": text})
    return parts


def user_parts(content: Any, where: str) -> list[Part]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[Part] = []
    for j, part in enumerate(content or []):
        kind, at = part.get("type"), f"{where}.content[{j}]"
        if kind == "text":
            if part["text"]:
                parts.append({"text": part["text"]})
        elif kind == "image_url":
            parts.append(media_part(part["image_url"], at))
        elif kind == "input_audio":
            parts.append(audio_part(part.get("input_audio"), at))
        elif kind == "file":
            parts.append(file_part(part.get("file"), at))
        else:
            raise BadRequestError(f"{at}: gemini does not accept {kind!r} parts from the user")
    return parts


def media_part(image: Any, where: str) -> Part:
    """``data:`` URLs become ``inlineData``; http(s) and ``gs://`` URLs ``fileData`` with a media
    type from ``format`` (LiteLLM's spelling) or the file extension."""
    url = str(image.get("url") if isinstance(image, dict) else image)
    given = image.get("format") if isinstance(image, dict) else None
    if url.startswith("data:"):
        return inline_data(url, given, where)
    if url.startswith(("http://", "https://", "gs://")):
        return {"fileData": {"mimeType": given or media_type(url, where), "fileUri": url}}
    raise BadRequestError(f"{where}: image_url must be an http(s), gs:// or data: URL")


def inline_data(url: str, given: str | None, where: str) -> Part:
    header, sep, data = url[5:].partition(",")
    media, _, encoding = header.partition(";")
    if not sep or encoding != "base64" or not (media or given):
        raise BadRequestError(f"{where}: a data URL must be 'data:<media type>;base64,<data>'")
    return {"inlineData": {"mimeType": given or media, "data": data}}


def media_type(url: str, where: str) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    found = MEDIA_TYPES.get(name.rpartition(".")[2].lower()) if "." in name else None
    if found is None:
        raise BadRequestError(
            f"{where}: gemini needs the media type of {url!r} and its name does not say it; "
            "add it as image_url.format (e.g. 'image/png') or send a data: URL"
        )
    return found


def audio_part(audio: Any, where: str) -> Part:
    fmt = audio.get("format") if isinstance(audio, dict) else None
    if fmt not in AUDIO_FORMATS or not isinstance(audio.get("data"), str):
        raise BadRequestError(f"{where}: input_audio needs base64 'data' and a format of wav or mp3")
    return {"inlineData": {"mimeType": AUDIO_FORMATS[fmt], "data": audio["data"]}}


def file_part(file: Any, where: str) -> Part:
    """``file_data`` (a data URL, or base64 named by ``filename``) is inlined; a ``file_id`` that
    is a Gemini Files API URI becomes ``fileData``. OpenAI file ids mean nothing to Gemini."""
    if not isinstance(file, dict):
        raise BadRequestError(f"{where}: a file part needs a 'file' object")
    data, given = file.get("file_data"), file.get("format")
    if isinstance(data, str) and data.startswith("data:"):
        return inline_data(data, given, where)
    if isinstance(data, str):
        media = given or media_type(str(file.get("filename") or ""), where)
        return {"inlineData": {"mimeType": media, "data": data}}
    file_id = file.get("file_id")
    if isinstance(file_id, str) and file_id.startswith(("https://", "gs://")):
        return {"fileData": {"mimeType": given or media_type(file_id, where), "fileUri": file_id}}
    raise BadRequestError(f"{where}: gemini takes file_data, or a file_id that is a Gemini "
                          "Files API URI (https://generativelanguage.googleapis.com/...)")


def model_parts(message: dict[str, Any], where: str, names: dict[str, str],
                signatures: bool) -> list[Part]:
    """Text, then one ``functionCall`` part per tool call, its thought signature restored."""
    parts = text_parts(message.get("content"), where, "assistant messages")
    calls: list[Part] = []
    for k, call in enumerate(message.get("tool_calls") or []):
        fn = call["function"]
        base, signature = callids.split(call["id"])
        names[call["id"]] = names[base] = fn["name"]
        part: Part = {"functionCall": {"id": base, "name": fn["name"],
                                       "args": parse_arguments(fn.get("arguments"), f"{where}.tool_calls[{k}]")}}
        if signature:
            part["thoughtSignature"] = signature
        calls.append(part)
    legacy = message.get("function_call")
    if legacy:
        calls.append({"functionCall": {"name": legacy["name"], "args": parse_arguments(
            legacy.get("arguments"), f"{where}.function_call")}})
    if signatures and calls and not any("thoughtSignature" in c for c in calls):
        # Only the first call of a turn carries a signature, so only the first gets the stand-in.
        calls[0]["thoughtSignature"] = callids.SKIP_VALIDATOR
    return parts + calls


def parse_arguments(arguments: Any, where: str) -> dict[str, Any]:
    """A tool call's JSON ``arguments`` string -> the object ``functionCall.args`` needs."""
    if arguments is None or arguments == "":
        return {}
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        raise BadRequestError(f"{where}.function.arguments is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequestError(f"{where}.function.arguments must be a JSON object")
    return value


def function_response(name: str, call_id: str | None, content: Any, where: str) -> Part:
    """A tool result: a JSON object as it is, anything else as ``{"result": <text>}``."""
    text = "".join(p["text"] for p in text_parts(content, where, "tool results"))
    try:
        value = json.loads(text) if text else None
    except ValueError:
        value = None
    response = value if isinstance(value, dict) else {"result": text}
    out: dict[str, Any] = {"name": name, "response": response}
    if call_id:
        out = {"id": call_id, **out}
    return {"functionResponse": out}
