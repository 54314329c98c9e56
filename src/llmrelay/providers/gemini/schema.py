"""OpenAI (JSON Schema) tool and response schemas -> the two forms Gemini takes: JSON Schema with
local ``$ref`` inlined, or Google's OpenAPI subset (``parameters`` / ``responseSchema``).
"""

from __future__ import annotations

from typing import Any

from ...exceptions import BadRequestError

# ``parametersJsonSchema`` takes JSON Schema but stumbles over references ("reference to undefined
# schema", "$ref ... was set alongside unsupported fields"): they are inlined and ``$schema``
# dropped; a recursive schema goes as is (the API unrolls cycles itself). The OpenAPI subset
# refuses any other key with 400 "Unknown name": there the schema is rewritten the way the
# official SDK does (``google.genai._transformers.process_schema``).
# The keys Google's OpenAPI ``Schema`` message has on the Gemini API (google.genai.types.Schema
# minus the Vertex-only ``additionalProperties``, ``defs`` and ``ref``).
OPENAPI_KEYS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
    "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
})
# ``format`` values the OpenAPI subset takes, by type; others are left out.
FORMATS = {"STRING": {"enum", "date-time"}, "INTEGER": {"int32", "int64"},
           "NUMBER": {"float", "double"}}
DEFINITIONS = ("$defs", "definitions")


class _Recursive(Exception):
    """A ``$ref`` that leads back to itself: it cannot be inlined."""


def json_schema(schema: Any, where: str) -> dict[str, Any]:
    """The schema for ``parametersJsonSchema`` / ``responseJsonSchema``."""
    if not isinstance(schema, dict):
        raise BadRequestError(f"{where} must be a JSON Schema object")
    try:
        return inline(schema, where)
    except _Recursive:
        return {k: v for k, v in schema.items() if k != "$schema"}


def openapi_schema(schema: Any, where: str) -> dict[str, Any]:
    """The schema for ``parameters`` / ``responseSchema`` (Google's OpenAPI 3.0 subset)."""
    if not isinstance(schema, dict):
        raise BadRequestError(f"{where} must be a JSON Schema object")
    try:
        flat = inline(schema, where)
    except _Recursive:
        raise BadRequestError(
            f"{where} is recursive ($ref to itself), which Gemini's OpenAPI schema subset "
            "cannot express on this model"
        ) from None
    converted: dict[str, Any] = to_openapi(flat)
    return converted


def inline(schema: dict[str, Any], where: str) -> dict[str, Any]:
    """``schema`` without ``$schema``, its local ``$ref`` replaced by what they point to."""
    out: dict[str, Any] = _resolve(schema, schema, where, ())
    for key in ("$schema", *DEFINITIONS):
        out.pop(key, None)
    return out


def _resolve(node: Any, root: dict[str, Any], where: str, seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, root, where, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        if ref in seen:
            raise _Recursive(ref)
        target = _lookup(root, ref, where)
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, root, where, (*seen, ref))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DEFINITIONS and node is root:
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: _resolve(sub, root, where, seen) for name, sub in value.items()}
        elif key in ("enum", "const", "default", "example", "examples", "required"):
            out[key] = value  # data, not schemas
        else:
            out[key] = _resolve(value, root, where, seen)
    return out


def _lookup(root: dict[str, Any], ref: str, where: str) -> dict[str, Any]:
    node: Any = root
    for token in ref[1:].split("/")[1:] if ref != "#" else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node.get(token) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise BadRequestError(f"{where}: $ref {ref!r} points to nothing in the schema")
    return node


def to_openapi(node: Any) -> Any:
    """One (already inlined) JSON Schema node in the OpenAPI subset; see the module docstring."""
    if not isinstance(node, dict):
        return node
    node = _merge_all_of(node)
    out: dict[str, Any] = {}
    nullable = False
    kind = node.get("type")
    if kind is None:
        kind = "object" if "properties" in node else "array" if "items" in node else None
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        nullable = len(kinds) < len(kind)
        if len(kinds) > 1:
            out["anyOf"] = [{"type": str(k).upper()} for k in kinds]
            kind = None
        else:
            kind = kinds[0] if kinds else None
    if kind == "null":
        nullable, kind = True, None
    if kind is not None:
        out["type"] = str(kind).upper()
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        kept = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        nullable = nullable or len(kept) < len(options)
        if len(kept) == 1 and isinstance(kept[0], dict):
            merged = to_openapi(kept[0])
            out = {**merged, **out}
        elif kept:
            out["anyOf"] = [to_openapi(o) for o in kept]
    if "const" in node:
        out["enum"] = [_enum_value(node["const"])]
    for key, value in node.items():
        if key not in OPENAPI_KEYS or key in out or key == "type":
            continue
        if key == "properties" and isinstance(value, dict):
            out["properties"] = {name: to_openapi(sub) for name, sub in value.items()}
        elif key == "items":
            out["items"] = to_openapi(value[0] if isinstance(value, list) and value else value)
        elif key == "anyOf":
            continue  # handled above
        elif key == "enum" and isinstance(value, list):
            values = [v for v in value if v is not None]
            nullable = nullable or len(values) < len(value)
            out["enum"] = [_enum_value(v) for v in values]
        elif key == "format":
            if value in FORMATS.get(out.get("type", ""), ()):
                out["format"] = value
        elif key == "default" and value is None:
            continue  # "no default" is what leaving it out says (the SDK never sends null)
        elif key == "default" and value is None:
            continue  # "no default" is what leaving it out says (the SDK never sends null)
        elif key == "required" and isinstance(value, list):
            names = set((node.get("properties") or {}).keys())
            out["required"] = [r for r in value if r in names] if names else list(value)
        else:
            out[key] = value
    if "example" not in out and isinstance(node.get("examples"), list) and node["examples"]:
        out["example"] = node["examples"][0]
    if "enum" in out and "type" not in out and "anyOf" not in out:
        out["type"] = "STRING"  # enum values are strings in this subset
    if "enum" in out and out.get("type") != "STRING":
        out["format"] = "enum"  # a non-string enum is marked so (google.genai.types.Schema.enum)
    if nullable:
        out["nullable"] = True
    return out


def _merge_all_of(node: dict[str, Any]) -> dict[str, Any]:
    parts = node.get("allOf")
    if not isinstance(parts, list):
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    for part in parts:
        if not isinstance(part, dict):
            continue
        part = _merge_all_of(part)
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**(merged.get("properties") or {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*(merged.get("required") or []),
                                      *[r for r in value if r not in (merged.get("required") or [])]]
            else:
                merged.setdefault(key, value)
    return merged


def _enum_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
