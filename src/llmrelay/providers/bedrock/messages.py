"""OpenAI messages -> Converse ``system`` blocks and a user/assistant conversation.

Rules from the Converse API (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html):
the system prompt is not a message; tool results are ``toolResult`` blocks in a user turn,
before its text; consecutive turns of one role are merged (never dropped); empty text blocks
are refused, so they are left out; images and documents travel as base64 bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ...exceptions import BadRequestError
from ...validation import list_field

Block = dict[str, Any]

IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg",
                 "image/gif": "gif", "image/webp": "webp"}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf", "text/csv": "csv", "text/plain": "txt", "text/markdown": "md",
    "text/html": "html", "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
CACHE_TTLS = ("5m", "1h")  # botocore CacheTTL
TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")


def convert_messages(messages: list[dict[str, Any]]) -> tuple[list[Block], list[dict[str, Any]]]:
    """``(system blocks, turns)``."""
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    legacy_calls: dict[str, str] = {}  # function name -> id of its latest assistant call
    documents = [0]  # documents need a name unique within the request
    for i, message in enumerate(messages):
        role, where = message["role"], f"messages[{i}]"
        if role in ("system", "developer"):
            blocks = content_blocks(message.get("content"), where, documents, allowed=("text",))
            system.extend(with_cache_point(blocks, message))
            continue
        if role == "user":
            blocks = content_blocks(message.get("content"), where, documents)
        elif role == "assistant":
            blocks = assistant_blocks(message, where, i, legacy_calls, documents)
        elif role == "tool":
            blocks = [tool_result(message["tool_call_id"], message.get("content"), where, documents)]
        else:  # legacy "function" role answers the latest call of that function
            call_id = legacy_calls.get(message["name"])
            if call_id is None:
                raise BadRequestError(
                    f"{where} (role 'function') answers {message['name']!r}, but no earlier "
                    "assistant message called that function"
                )
            blocks = [tool_result(call_id, message.get("content"), where, documents)]
        if not blocks:
            continue  # nothing to send (empty text, content null without calls)
        append_turn(turns, "assistant" if role == "assistant" else "user",
                    with_cache_point(blocks, message))
    for turn in turns:
        if turn["role"] == "user":  # tool results lead their user turn
            blocks = turn["content"]
            turn["content"] = ([b for b in blocks if "toolResult" in b]
                               + [b for b in blocks if "toolResult" not in b])
    return system, turns


def append_turn(turns: list[dict[str, Any]], role: str, blocks: list[Block]) -> None:
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": list(blocks)})


def cache_point(marker: Any) -> Block:
    """The ``cachePoint`` for a ``cache_control`` marker; its ``ttl`` ("5m" or "1h", as
    Anthropic's) goes along: Converse's ``CachePointBlock`` takes the same two values."""
    point: Block = {"type": "default"}
    ttl = marker.get("ttl") if isinstance(marker, dict) else None
    if ttl is not None:
        if ttl not in CACHE_TTLS:
            raise BadRequestError(f"cache_control.ttl must be one of {', '.join(CACHE_TTLS)} on "
                                  f"bedrock, not {ttl!r}")
        point["ttl"] = ttl
    return {"cachePoint": point}


def with_cache_point(blocks: list[Block], message: dict[str, Any]) -> list[Block]:
    """A message-level ``cache_control`` (Anthropic's prompt-caching marker, which OpenAI
    clients pass through) becomes a ``cachePoint`` after the message's blocks."""
    if message.get("cache_control") and blocks:
        return [*blocks, cache_point(message["cache_control"])]
    return blocks


def content_blocks(content: Any, where: str, documents: list[int],
                   allowed: tuple[str, ...] = ("text", "image_url", "file")) -> list[Block]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[Block] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        here = f"{where}.content[{j}]"
        if kind == "refusal" and "text" in allowed:  # an assistant's earlier refusal is its text
            part, kind = {"type": "text", "text": part.get("refusal") or ""}, "text"
        if kind not in allowed:
            raise BadRequestError(f"{here}: bedrock does not accept {kind!r} parts here")
        if kind == "text":
            if part["text"]:
                blocks.append({"text": part["text"]})
        elif kind == "image_url":
            blocks.append(image_block(part["image_url"], here, documents))
        else:
            blocks.append(file_block(part.get("file"), here, documents))
        if part.get("cache_control") and blocks:
            blocks.append(cache_point(part["cache_control"]))
    return blocks


def data_url(url: str, where: str) -> tuple[str, str]:
    """``data:<media type>;base64,<data>`` -> (media type, base64 data as given)."""
    header, sep, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding != "base64" or not data:
        raise BadRequestError(f"{where}: a data URL must be 'data:<media type>;base64,<data>'")
    return media_type.lower(), data


def image_block(image: Any, where: str, documents: list[int]) -> Block:
    """Converse takes bytes (base64 in JSON) or an S3 URI, never an http(s) URL."""
    url = str(image.get("url") if isinstance(image, dict) else image)
    if url.startswith("s3://"):
        return {"image": {"format": format_from_name(url, IMAGE_FORMATS, where),
                          "source": {"s3Location": {"uri": url}}}}
    if not url.startswith("data:"):
        raise BadRequestError(
            f"{where}: bedrock takes images as data: URLs (base64) or s3:// URIs, not "
            f"{url[:40]!r}; download the image and send it as a data URL"
        )
    media_type, data = data_url(url, where)
    if media_type in DOCUMENT_FORMATS:
        return document_block(DOCUMENT_FORMATS[media_type], data, None, documents)
    if media_type not in IMAGE_FORMATS:
        raise BadRequestError(
            f"{where}: bedrock takes images of type {', '.join(sorted(set(IMAGE_FORMATS)))}, "
            f"not {media_type!r}"
        )
    return {"image": {"format": IMAGE_FORMATS[media_type], "source": {"bytes": data}}}


def file_block(file: Any, where: str, documents: list[int]) -> Block:
    """An OpenAI ``file`` part with inline ``file_data`` -> a ``document`` (or ``image``)."""
    data = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data, str) or not data.startswith("data:"):
        raise BadRequestError(f"{where}: bedrock takes file parts with file_data as a data: URL")
    media_type, payload = data_url(data, where)
    if media_type in IMAGE_FORMATS:
        return {"image": {"format": IMAGE_FORMATS[media_type], "source": {"bytes": payload}}}
    if media_type not in DOCUMENT_FORMATS:
        raise BadRequestError(
            f"{where}: bedrock takes documents of type "
            f"{', '.join(sorted(set(DOCUMENT_FORMATS.values())))}, not {media_type!r}"
        )
    return document_block(DOCUMENT_FORMATS[media_type], payload, file.get("filename"), documents)


def document_block(fmt: str, data: str, filename: Any, documents: list[int]) -> Block:
    # Names allow letters, digits, single spaces, hyphens, parentheses and square brackets.
    documents[0] += 1
    stem = str(filename).rsplit(".", 1)[0] if filename else ""
    name = " ".join(re.sub(r"[^A-Za-z0-9\-\(\)\[\] ]", " ", stem).split())[:200]
    return {"document": {"format": fmt, "name": name or f"document-{documents[0]}",
                         "source": {"bytes": data}}}


def format_from_name(name: str, formats: dict[str, str], where: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower()
    extension = {"jpg": "jpeg"}.get(extension, extension)
    if extension not in formats.values():
        raise BadRequestError(f"{where}: cannot tell the image format of {name!r} from its name")
    return extension


def tool_use_id(call_id: str) -> str:
    """Converse ids are ``[a-zA-Z0-9_.:-]{1,64}``; OpenAI's ``call_...`` fit as they are. Other
    ids are rewritten the same way wherever they appear, so a call and its result still pair."""
    if TOOL_USE_ID.fullmatch(call_id):
        return call_id
    return "tooluse_" + hashlib.sha256(call_id.encode()).hexdigest()[:40]


def tool_result(call_id: str, content: Any, where: str, documents: list[int]) -> Block:
    # ``status`` is left out: only some models take it (Claude), and "success" is the default.
    if isinstance(content, str):
        parts: list[Block] = [{"text": content}] if content else []
    else:
        parts = content_blocks(content, where, documents)
        parts = [b for b in parts if "cachePoint" not in b]
    return {"toolResult": {"toolUseId": tool_use_id(call_id), "content": parts}}


def assistant_blocks(message: dict[str, Any], where: str, index: int,
                     legacy_calls: dict[str, str], documents: list[int]) -> list[Block]:
    """Reasoning (sent back unchanged, signature included), text, then tool calls."""
    blocks = [reasoning_block(b, f"{where}.thinking_blocks[{k}]")
              for k, b in enumerate(list_field(message, "thinking_blocks", where))]
    blocks += content_blocks(message.get("content"), where, documents, allowed=("text",))
    for k, call in enumerate(message.get("tool_calls") or []):
        fn = call["function"]
        blocks.append({"toolUse": {
            "toolUseId": tool_use_id(call["id"]), "name": fn["name"],
            "input": parse_arguments(fn.get("arguments"), f"{where}.tool_calls[{k}]")}})
    fn = message.get("function_call")
    if fn:
        # Legacy calls carry no id; this one ties the call to the ``function`` message answering it.
        call_id = legacy_calls[fn["name"]] = f"tooluse_function_call_{index}"
        blocks.append({"toolUse": {
            "toolUseId": call_id, "name": fn["name"],
            "input": parse_arguments(fn.get("arguments"), f"{where}.function_call")}})
    return blocks


def reasoning_block(block: Any, where: str) -> Block:
    """An Anthropic-shaped thinking block (what our responses carry as ``thinking_blocks``)
    -> a ``reasoningContent`` block."""
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "thinking":
        text: Block = {"text": block.get("thinking") or ""}
        if block.get("signature"):
            text["signature"] = block["signature"]
        return {"reasoningContent": {"reasoningText": text}}
    if kind == "redacted_thinking":
        return {"reasoningContent": {"redactedContent": block.get("data") or ""}}
    raise BadRequestError(f"{where} must be a 'thinking' or 'redacted_thinking' block")


def parse_arguments(arguments: Any, where: str) -> dict[str, Any]:
    """A tool call's JSON ``arguments`` string -> the object ``toolUse.input`` needs."""
    if arguments is None or arguments == "":
        return {}
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        raise BadRequestError(f"{where}.function.arguments is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequestError(f"{where}.function.arguments must be a JSON object")
    return value


def tool_names_used(turns: list[dict[str, Any]]) -> list[str]:
    """The tools the conversation already called, in order of first use."""
    names: list[str] = []
    for turn in turns:
        for block in turn["content"]:
            name = (block.get("toolUse") or {}).get("name")
            if name and name not in names:
                names.append(name)
    return names


def has_tool_blocks(turns: list[dict[str, Any]]) -> bool:
    return any("toolUse" in b or "toolResult" in b for t in turns for b in t["content"])
