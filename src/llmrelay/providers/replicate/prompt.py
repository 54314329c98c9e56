"""The conversation rendered as the ``prompt`` / ``system_prompt`` inputs Replicate LLMs take.

System and developer messages become ``system_prompt``. A lone user message is sent as the
``prompt`` itself, so the model's own chat template wraps it exactly as on replicate.com.
Longer conversations become a role-tagged transcript ending in ``Assistant:`` (the model's
template then wraps the whole transcript as one user turn). Callers who want another layout
pass ``prompt_template`` (the Llama 3 models take one with ``{prompt}`` and ``{system_prompt}``
placeholders) or the raw ``prompt`` as keyword arguments: they go into ``input`` unchanged.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from ...exceptions import UnsupportedParamsError

ROLE_TAGS = {"user": "User", "assistant": "Assistant", "tool": "Tool", "function": "Tool"}


def text_of(message: Mapping[str, Any]) -> str:
    """A message's text; image parts cannot be sent because each model names its image input."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.get("type") == "text":
            texts.append(part["text"])
        elif part.get("type") == "refusal":
            texts.append(part.get("refusal") or "")
        else:
            raise UnsupportedParamsError(
                f"replicate cannot send {part.get('type')!r} content parts: each model names its"
                " image input differently; pass it as a keyword argument (e.g. image=<url>)",
                param="messages", provider="replicate",
            )
    return "\n".join(texts)


def _turn(message: Mapping[str, Any]) -> str:
    text = text_of(message)
    calls = [c["function"] for c in message.get("tool_calls") or []]
    if message.get("function_call"):
        calls.append(message["function_call"])
    for call in calls:
        text += ("\n" if text else "") + json.dumps(
            {"name": call.get("name"), "arguments": call.get("arguments")}
        )
    return f"{ROLE_TAGS[message['role']]}: {text}"


def render(messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``{"prompt": ..., "system_prompt": ...}`` for a conversation (system only when given).

    >>> render([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    {'prompt': 'Hi', 'system_prompt': 'Be brief.'}
    """
    system = [text_of(m) for m in messages if m["role"] in ("system", "developer")]
    turns = [m for m in messages if m["role"] not in ("system", "developer")]
    if len(turns) == 1 and turns[0]["role"] == "user":
        prompt = text_of(turns[0])
    else:
        # A trailing assistant turn is a prefix for the model to continue, so no cue after it.
        cue = [] if turns and turns[-1]["role"] == "assistant" else ["Assistant:"]
        prompt = "\n\n".join([_turn(m) for m in turns] + cue)
    inputs = {"prompt": prompt}
    if system:
        inputs["system_prompt"] = "\n\n".join(system)
    return inputs
