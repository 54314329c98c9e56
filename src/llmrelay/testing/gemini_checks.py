"""What the Gemini API refuses in a ``generateContent`` body, in its own words: unknown field
names (the proto-JSON parser's message and snake_case path), roles, turns and signatures.
"""

from __future__ import annotations

import re
from typing import Any, Union

# Either spelling of a field is taken (the recorded thinking_include_thoughts.json sends
# snake_case). The field names are those google-genai's ``models.py`` puts on the wire for the
# Gemini API (``_GenerateContentConfig_to_mldev`` and friends). The Gemini API's OpenAPI ``Schema`` has no ``additionalProperties``, ``$ref`` or
# ``$schema``, one ``type`` name and string enums. Messages are quoted from the API's answers
# (google-gemini/gemini-cli issues #4217, #13292; the thought-signatures guide).
Spec = Union[None, dict[str, Any], tuple[str, Any]]  # None: any value; dict: a message

SCHEMA: dict[str, Spec] = dict.fromkeys(
    ("type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
     "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
     "example", "propertyOrdering", "default", "minimum", "maximum"))
SCHEMA.update(properties=("map", SCHEMA), anyOf=("list", SCHEMA), items=SCHEMA)
PART: dict[str, Spec] = {
    "text": None, "thought": None, "thoughtSignature": None, "videoMetadata": None,
    "mediaResolution": None, "partMetadata": None,
    "inlineData": {"mimeType": None, "data": None},
    "fileData": {"mimeType": None, "fileUri": None, "displayName": None},
    "functionCall": {"id": None, "name": None, "args": None},
    "functionResponse": {"id": None, "name": None, "response": None, "parts": None,
                         "willContinue": None, "scheduling": None},
    "executableCode": {"language": None, "code": None},
    "codeExecutionResult": {"outcome": None, "output": None},
}
DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse",
               "executableCode", "codeExecutionResult")
CONTENT: dict[str, Spec] = {"role": None, "parts": ("list", PART)}
DECLARATION: dict[str, Spec] = {
    "name": None, "description": None, "parameters": SCHEMA, "parametersJsonSchema": None,
    "response": SCHEMA, "responseJsonSchema": None, "behavior": None,
}
TOOL: dict[str, Spec] = {
    "functionDeclarations": ("list", DECLARATION), "googleSearch": None,
    "googleSearchRetrieval": None, "codeExecution": None, "urlContext": None,
    "computerUse": None, "fileSearch": None, "googleMaps": None, "mcpServers": None,
}
GENERATION: dict[str, Spec] = dict.fromkeys(
    ("candidateCount", "maxOutputTokens", "stopSequences", "temperature", "topP", "topK", "seed",
     "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs", "responseMimeType",
     "responseJsonSchema", "responseModalities", "mediaResolution", "speechConfig", "imageConfig",
     "enableEnhancedCivicAnswers", "audioTranscriptionConfig"))
GENERATION.update(responseSchema=SCHEMA,
                  thinkingConfig={"includeThoughts": None, "thinkingBudget": None,
                                  "thinkingLevel": None})
REQUEST: dict[str, Spec] = {
    "contents": ("list", CONTENT), "systemInstruction": CONTENT, "tools": ("list", TOOL),
    # streamFunctionCallArguments is Vertex AI's (the SDK refuses it for the Gemini API).
    "toolConfig": {"functionCallingConfig": {"mode": None, "allowedFunctionNames": None},
                   "retrievalConfig": None, "includeServerSideToolInvocations": None},
    "safetySettings": ("list", {"category": None, "threshold": None}),
    "generationConfig": GENERATION, "cachedContent": None, "serviceTier": None, "store": None,
    "continuationToken": None, "labels": None,
}
SCHEMA_TYPES = frozenset({"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY",
                          "OBJECT", "NULL"})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def unknown_fields(body: dict[str, Any]) -> list[str]:
    """Every parser complaint about ``body``, in the order Google lists them."""
    problems: list[str] = []
    _walk(body, REQUEST, "", problems)
    return problems


def _walk(value: Any, spec: Spec, path: str, problems: list[str]) -> None:
    if spec is None:
        return
    if isinstance(spec, tuple):
        kind, item = spec
        if kind == "list" and isinstance(value, list):
            for i, element in enumerate(value):
                _walk(element, item, f"{path}[{i}]", problems)
        elif kind == "map" and isinstance(value, dict):
            for i, element in enumerate(value.values()):
                _walk(element, item, f"{path}[{i}].value", problems)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        name = camel(key) if key in spec or camel(key) in spec else key
        if name not in spec:
            where = f" at '{path}'" if path else ""
            problems.append(f'Unknown name "{key}"{where}: Cannot find field.')
            continue
        child = f"{path}.{snake(name)}" if path else snake(name)
        if spec is SCHEMA and name == "type" and not isinstance(item, str):
            problems.append(f"Unknown name \"type\" at '{path}': Proto field is not repeating, "
                            "cannot start list.")
        elif spec is SCHEMA and name == "type" and item.upper() not in SCHEMA_TYPES:
            problems.append(f"Invalid value at '{child}' (type.googleapis.com/"
                            f"google.ai.generativelanguage.v1beta.Type), \"{item}\"")
        elif spec is SCHEMA and name == "enum" and isinstance(item, list):
            problems += [f"Invalid value at '{child}[{i}]' (TYPE_STRING), {v}"
                         for i, v in enumerate(item) if not isinstance(v, str)]
        _walk(item, spec[name], child, problems)


def conversation_problem(contents: list[Any], signatures: bool) -> str | None:
    """The first rule the turns break: roles, one data field per part, function call turns
    placed after a user turn and answered part for part, signed calls on Gemini 3."""
    for i, content in enumerate(contents):
        if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
            return "Please use a valid role: user, model."
        for j, part in enumerate(content.get("parts") or []):
            given = [f for f in DATA_FIELDS if isinstance(part, dict) and camel_get(part, f) is not None]
            if len(given) != 1:
                return (f"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof "
                        "field 'data' must have one initialized field\n")
    for i, content in enumerate(contents):
        calls = [p for p in content.get("parts") or [] if camel_get(p, "functionCall") is not None]
        if content.get("role") != "model" or not calls:
            continue
        before = contents[i - 1] if i else None
        if before is None or before.get("role") != "user":
            return ("Please ensure that function call turn comes immediately after a user turn or "
                    "after a function response turn.")
        after = contents[i + 1] if i + 1 < len(contents) else None
        answers = [p for p in (after or {}).get("parts") or []
                   if camel_get(p, "functionResponse") is not None]
        if after is not None and len(answers) != len(calls):
            return ("Please ensure that the number of function response parts is equal to the "
                    "number of function call parts of the function call turn.")
    if signatures:
        return missing_signature(contents)
    return None


def missing_signature(contents: list[Any]) -> str | None:
    """Gemini 3 checks the function calls of the current turn (since the last user text): the
    first call of each step must carry the signature it came with."""
    start = 0
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        if content.get("role") == "user" and any(camel_get(p, "text") is not None for p in parts):
            start = i
    for i in range(start, len(contents)):
        content = contents[i]
        calls = [p for p in content.get("parts") or [] if camel_get(p, "functionCall") is not None]
        if content.get("role") == "model" and calls and not camel_get(calls[0], "thoughtSignature"):
            name = camel_get(calls[0], "functionCall").get("name")
            return ("Function call is missing a thought_signature in functionCall parts. This is "
                    "required for tools to work correctly, and missing thought_signature may lead "
                    f"to degraded model performance. Additional data, function call `default_api:"
                    f"{name}` , position {i + 1}. Please refer to https://ai.google.dev/gemini-api/"
                    "docs/thought-signatures for more details.")
    return None


def camel_get(obj: Any, name: str) -> Any:
    """A field in either spelling."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(name)
    return value if value is not None else obj.get(snake(name))
