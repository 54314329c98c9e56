"""OpenAI messages -> Anthropic's top-level ``system`` plus a valid user/assistant conversation.

Rules from https://docs.claude.com/en/api/messages: the system prompt is not a message; tool
results travel as ``tool_result`` blocks in a user turn, before any text of that turn, and every
``tool_use`` must be answered in the very next user turn; consecutive turns of one role are
merged here (never dropped) so those rules hold.
"""

from __future__ import annotations

import json
from typing import Any

from ...exceptions import BadRequestError
from ...validation import list_field

Block = dict[str, Any]

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def convert_messages(messages: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """``(system, turns)``: ``system`` is ``None``, a string or a list of text blocks."""
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    legacy_calls: dict[str, str] = {}  # function name -> id of its latest assistant call
    for i, message in enumerate(messages):
        role, where = message["role"], f"messages[{i}]"
        if role in ("system", "developer"):
            blocks = content_blocks(message.get("content"), where, allowed=("text",))
            system.extend(with_cache_control(blocks, message))
            continue
        if role == "user":
            blocks = content_blocks(message.get("content"), where)
        elif role == "assistant":
            blocks = assistant_blocks(message, where, i, legacy_calls)
        elif role == "tool":
            blocks = [tool_result(message["tool_call_id"], message.get("content"), where)]
        else:  # legacy "function" role answers the latest call of that function
            call_id = legacy_calls.get(message["name"])
            if call_id is None:
                raise BadRequestError(
                    f"{where} (role 'function') answers {message['name']!r}, but no earlier "
                    "assistant message called that function"
                )
            blocks = [tool_result(call_id, message.get("content"), where)]
        if role == "assistant" and not blocks:
            continue  # nothing to send (content null, no calls)
        append_turn(turns, "assistant" if role == "assistant" else "user",
                    with_cache_control(blocks, message))
    return compact_system(system), [finish_turn(t) for t in turns]


def append_turn(turns: list[dict[str, Any]], role: str, blocks: list[Block]) -> None:
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": list(blocks)})


def finish_turn(turn: dict[str, Any]) -> dict[str, Any]:
    """Tool results first in a user turn; a lone plain text block becomes a string."""
    blocks = turn["content"]
    if turn["role"] == "user":
        blocks = [b for b in blocks if b["type"] == "tool_result"] + [
            b for b in blocks if b["type"] != "tool_result"
        ]
    if not blocks:
        return {"role": turn["role"], "content": ""}
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"}:
        return {"role": turn["role"], "content": blocks[0]["text"]}
    return {"role": turn["role"], "content": blocks}


def compact_system(blocks: list[Block]) -> Any:
    if not blocks:
        return None
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"}:
        return blocks[0]["text"]
    return blocks


def with_cache_control(blocks: list[Block], message: dict[str, Any]) -> list[Block]:
    """A message-level ``cache_control`` marks the message's last block (a cache breakpoint)."""
    if message.get("cache_control") and blocks:
        blocks[-1] = {**blocks[-1], "cache_control": message["cache_control"]}
    return blocks


def content_blocks(content: Any, where: str, allowed: tuple[str, ...] = ("text", "image_url")) -> list[Block]:
    """String or parts -> Anthropic blocks; empty text is left out (the API refuses it)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "refusal" and "text" in allowed:  # an assistant's earlier refusal is its text
            part = {"type": "text", "text": part.get("refusal") or ""}
            kind = "text"
        if kind not in allowed:
            raise BadRequestError(
                f"{where}.content[{j}]: anthropic does not accept {kind!r} parts here"
            )
        if kind == "text":
            if not part["text"]:
                continue
            block: Block = {"type": "text", "text": part["text"]}
        else:
            block = image_block(part["image_url"], f"{where}.content[{j}]")
        if part.get("cache_control"):
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def image_block(image: Any, where: str) -> Block:
    """``data:`` URLs become base64 sources (PDFs a document); http(s) URLs a url source."""
    url = str(image.get("url") if isinstance(image, dict) else image)
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64":
            raise BadRequestError(f"{where}: a data URL must be 'data:<media type>;base64,<data>'")
        if media_type == "application/pdf":
            return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
        if media_type not in IMAGE_TYPES:
            raise BadRequestError(
                f"{where}: anthropic takes images of type {', '.join(IMAGE_TYPES)}, not {media_type!r}"
            )
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise BadRequestError(f"{where}: image_url must be an http(s) or data: URL")


def tool_result(call_id: str, content: Any, where: str) -> Block:
    block: Block = {"type": "tool_result", "tool_use_id": call_id}
    if isinstance(content, str):
        block["content"] = content
    elif content is not None:
        block["content"] = content_blocks(content, where)
    return block


def assistant_blocks(
    message: dict[str, Any], where: str, index: int, legacy_calls: dict[str, str]
) -> list[Block]:
    """Thinking blocks (sent back unchanged, signatures included), text, then tool calls."""
    blocks = [thinking_block(b, f"{where}.thinking_blocks[{k}]")
              for k, b in enumerate(list_field(message, "thinking_blocks", where))]
    blocks += content_blocks(message.get("content"), where, allowed=("text",))
    for k, call in enumerate(message.get("tool_calls") or []):
        fn = call["function"]
        blocks.append({"type": "tool_use", "id": call["id"], "name": fn["name"],
                       "input": parse_arguments(fn.get("arguments"), f"{where}.tool_calls[{k}]")})
    fn = message.get("function_call")
    if fn:
        # Legacy calls carry no id; the id ties this call to the ``function`` message answering it.
        call_id = legacy_calls[fn["name"]] = f"toolu_function_call_{index}"
        blocks.append({"type": "tool_use", "id": call_id, "name": fn["name"],
                       "input": parse_arguments(fn.get("arguments"), f"{where}.function_call")})
    return blocks


def thinking_block(block: Any, where: str) -> Block:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "thinking":
        return {"type": "thinking", "thinking": block.get("thinking", ""),
                "signature": block.get("signature", "")}
    if kind == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.get("data", "")}
    raise BadRequestError(f"{where} must be a 'thinking' or 'redacted_thinking' block")


def parse_arguments(arguments: Any, where: str) -> dict[str, Any]:
    """A tool call's JSON ``arguments`` string -> the object ``tool_use.input`` needs."""
    if arguments is None or arguments == "":
        return {}
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        raise BadRequestError(f"{where}.function.arguments is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequestError(f"{where}.function.arguments must be a JSON object")
    return value
