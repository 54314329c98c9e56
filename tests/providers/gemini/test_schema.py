"""Tool and response schemas in the two forms Gemini takes (what is kept, inlined, dropped).

JSON Schema (``parametersJsonSchema``, Gemini 2.0 and later) is sent nearly as given: Gemini reads
the full vocabulary and ignores what it does not use, but refuses ``$ref`` it cannot follow, so
references are inlined and ``$schema`` dropped. The OpenAPI subset (``parameters``, Gemini 1.x)
refuses every key it does not have with a 400 "Unknown name": those are translated or dropped.
tests/fidelity/test_gemini_sdk.py checks the same results against google-genai's own types.
"""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.providers.gemini.schema import OPENAPI_KEYS, json_schema, openapi_schema

GUEST = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
         "additionalProperties": False}


def keys_of(schema: Any) -> set[str]:
    """Every key used anywhere in a schema (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= keys_of(sub)
            elif key not in ("enum", "required", "default", "example"):
                found |= keys_of(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= keys_of(item)
    return found


def test_json_schema_inlines_references_and_drops_the_dialect() -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "$defs": {"Guest": GUEST},
              "properties": {"guest": {"$ref": "#/$defs/Guest", "description": "who"},
                             "others": {"type": "array", "items": {"$ref": "#/$defs/Guest"}}}}
    out = json_schema(schema, "p")
    assert out == {"type": "object", "properties": {
        "guest": {**GUEST, "description": "who"}, "others": {"type": "array", "items": GUEST}}}
    assert schema["$defs"] == {"Guest": GUEST}  # the caller's schema is not changed


def test_json_schema_keeps_what_json_schema_says() -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "a": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "b": {"type": ["integer", "null"]},
        "c": {"const": "x"}, "d": {"type": "string", "format": "email"}}}
    assert json_schema(schema, "p") == schema


def test_definitions_spelling_and_pointer_escapes() -> None:
    schema = {"definitions": {"a/b": {"type": "integer"}},
              "properties": {"n": {"$ref": "#/definitions/a~1b"}}}
    assert json_schema(schema, "p") == {"properties": {"n": {"type": "integer"}}}


def test_recursive_schema_goes_as_json_schema_but_not_as_openapi() -> None:
    tree = {"type": "object", "$defs": {"Node": {"type": "object", "properties": {
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
        "properties": {"root": {"$ref": "#/$defs/Node"}}}
    assert json_schema(tree, "p") == tree  # Gemini unrolls recursion itself
    with pytest.raises(llmrelay.BadRequestError, match="recursive"):
        openapi_schema(tree, "p")


def test_undefined_reference_is_a_clear_error() -> None:
    with pytest.raises(llmrelay.BadRequestError, match=r"tools\[0\].*'#/\$defs/Nope' points to nothing"):
        json_schema({"properties": {"a": {"$ref": "#/$defs/Nope"}}}, "tools[0].function.parameters")


@pytest.mark.parametrize(("given", "expected"), [
    ({"type": "string"}, {"type": "STRING"}),
    ({"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Age"},
     {"type": "INTEGER", "title": "Age", "nullable": True}),
    ({"type": ["string", "null"]}, {"type": "STRING", "nullable": True}),
    ({"type": ["string", "integer"]}, {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}),
    ({"type": "null"}, {"nullable": True}),
    ({"oneOf": [{"type": "string"}, {"type": "number"}]}, {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}),
    ({"const": "hotel"}, {"enum": ["hotel"], "type": "STRING"}),
    ({"type": "integer", "enum": [1, 2]}, {"type": "INTEGER", "enum": ["1", "2"], "format": "enum"}),
    ({"enum": ["a", None]}, {"enum": ["a"], "type": "STRING", "nullable": True}),
    ({"type": "string", "format": "email"}, {"type": "STRING"}),
    ({"type": "string", "format": "date-time"}, {"type": "STRING", "format": "date-time"}),
    ({"type": "integer", "format": "int64", "exclusiveMinimum": 0}, {"type": "INTEGER", "format": "int64"}),
    ({"type": "object", "additionalProperties": {"type": "string"}}, {"type": "OBJECT"}),
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 1},
     {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1}),
    ({"type": "string", "examples": ["x", "y"], "default": None}, {"type": "STRING", "example": "x"}),
    ({"properties": {"a": {"type": "string"}}, "required": ["a", "ghost"], "patternProperties": {}},
     {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["a"]}),
    ({"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]},
     {"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "INTEGER"}}, "required": ["a", "b"]}),
])
def test_openapi_translation(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert openapi_schema(given, "p") == expected


def test_openapi_output_uses_only_keys_the_gemini_api_has() -> None:
    schema = {"$schema": "x", "$id": "y", "$comment": "z", "type": "object", "title": "T",
              "additionalProperties": False, "$defs": {"G": GUEST},
              "properties": {"g": {"$ref": "#/$defs/G"}, "n": {"not": {"type": "null"}},
                             "s": {"type": "string", "minLength": 1, "maxLength": 9, "pattern": "^a",
                                   "contentEncoding": "base64", "readOnly": True, "deprecated": True},
                             "m": {"propertyNames": {"pattern": "^x"}, "minProperties": 1},
                             "i": {"type": "integer", "multipleOf": 2, "minimum": 0, "maximum": 9}}}
    out = openapi_schema(schema, "p")
    assert keys_of(out) <= OPENAPI_KEYS
    assert "additionalProperties" not in keys_of(out) and "$ref" not in keys_of(out)
    assert out["properties"]["g"] == {"type": "OBJECT", "properties": {"name": {"type": "STRING"}},
                                      "required": ["name"]}


def test_non_object_schema_is_refused() -> None:
    with pytest.raises(llmrelay.BadRequestError, match="must be a JSON Schema object"):
        json_schema(["not", "a", "schema"], "tools[0].function.parameters")
