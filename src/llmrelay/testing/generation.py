"""Deterministic model behaviour for the emulators: what they answer, given what was asked.

The same input always gives the same text, tool arguments and token counts, so tests can
assert on exact values.
"""

from __future__ import annotations

from typing import Any


def reply_text(prompt: str) -> str:
    """The answer to a prompt: a fixed greeting that echoes (the start of) the prompt."""
    prompt = " ".join(prompt.split())[:120]
    return f"Hello from the emulator. You said: {prompt}" if prompt else "Hello from the emulator."


def words(text: str) -> list[str]:
    """Stream pieces: each word with the space that precedes it."""
    parts = text.split(" ")
    return [parts[0]] + [" " + p for p in parts[1:]]


def count_tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def truncate(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut ``text`` to ``max_tokens`` words; says whether it was cut."""
    pieces = text.split(" ")
    if max_tokens is None or len(pieces) <= max_tokens:
        return text, False
    return " ".join(pieces[:max_tokens]), True


def example_for(schema: Any, name: str = "value") -> Any:
    """A value that satisfies a (simple) JSON schema: enums, objects, arrays, scalars."""
    if not isinstance(schema, dict):
        return name
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example_for(schema[key][0], name)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {p: example_for(props.get(p, {}), p) for p in required}
    if kind == "array":
        return [example_for(schema.get("items", {}), name)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return f"{name}-1"
