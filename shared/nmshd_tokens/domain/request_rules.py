"""The Create Token request's rules, stated once as JSON Schema: the runtime checks a request against these
schemas (`schema_failures`, with the messages of the Connector's validator) and `make openapi` publishes them.

Plain data, so reading it costs nothing at init. Patterns are matched against the whole value (SPEC §2.1); the
published document anchors them. `schema_failures` reads only the keywords listed at it: the rest (`if`/`then`,
`anyOf`, `description`, `default`) say for the document what validation.py's semantic checks test after it, from
the same constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .clock import parse_iso_datetime
from .ids import ADDRESS_PATTERN, FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, matches
from .password_protection import (
    MAX_NUMBERED_INDICATOR,
    MAX_PASSWORD_LENGTH,
    MIN_NUMBERED_INDICATOR,
    PIN_PATTERN,
    SETTABLE_INDICATOR_NAMES,
    is_unicode_text,
)

Schema = Mapping[str, Any]

# The id a command names (in a route, the path's id: the generator documents these as path parameters).
ID_PATTERNS: Mapping[str, str] = {"fileId": FILE_ID_PATTERN, "templateId": TEMPLATE_ID_PATTERN}

PASSWORD_PROTECTION: Schema = {
    "type": "object",
    "required": ["password"],
    "additionalProperties": False,
    "properties": {
        "password": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_PASSWORD_LENGTH,
            "description": "The password or PIN peers must enter. Never stored in clear.",
        },
        "passwordIsPin": {
            "type": "boolean",
            "const": True,
            "description": "Only `true` or absent: the password is a PIN of 4 to 16 digits.",
        },
        "passwordLocationIndicator": {
            "anyOf": [
                {"type": "string", "enum": list(SETTABLE_INDICATOR_NAMES)},
                {"type": "integer", "minimum": MIN_NUMBERED_INDICATOR, "maximum": MAX_NUMBERED_INDICATOR},
            ],
            "description": f"Where the peer finds the password: a name, or a number from {MIN_NUMBERED_INDICATOR} "
            f"to {MAX_NUMBERED_INDICATOR}.",
        },
    },
    # A PIN (passwordIsPin: true) is 4 to 16 ASCII digits.
    "if": {"required": ["passwordIsPin"]},
    "then": {"properties": {"password": {"pattern": PIN_PATTERN}}},
}

# Connector 7's body (/api/core/v1). Every field is optional; unknown top-level keys are ignored.
BODY: Schema = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "expiresAt": {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 date-time in the future; default: the expiry of the File or template.",
        },
        "ephemeral": {
            "type": "boolean",
            "default": True,
            "description": "Default true. Ignored (always true) when a QR code (image/png) is requested.",
        },
        "forIdentity": {
            "type": "string",
            "pattern": ADDRESS_PATTERN,
            "description": "The only identity that may load the token.",
        },
        "passwordProtection": PASSWORD_PROTECTION,
    },
}

# Connector 6.36's body (/api/v2) adds it; it is checked last, and only for a QR code (image/png).
NEW_QR_CODE_FORMAT: Schema = {
    "type": "boolean",
    "description": "image/png only: true = URL payload, false = legacy nmshd://tr# payload, absent or null = "
    "configured.",
}

# POST /Tokens/Own (both families): the runtime's CreateOwnTokenRequest. No other property; `content` is any JSON
# value the semantic check (token_content.py) then reads as upstream's Serializable.fromUnknown does.
OWN_TOKEN_BODY: Schema = {
    "type": "object",
    "required": ["content", "expiresAt"],
    "additionalProperties": False,
    "properties": {
        "content": {
            "description": "Any JSON object (an array, a string, a number or a boolean is wrapped as upstream "
            "wraps it; null is refused). `@type` may only be `JSONWrapper`.",
        },
        "expiresAt": {"type": "string", "format": "date-time", "description": "ISO 8601 date-time in the future."},
        "ephemeral": {
            "type": "boolean",
            "default": False,
            "description": "Default false (null too): the token is kept (GET /Tokens/{id}, /Tokens/Own).",
        },
        "forIdentity": BODY["properties"]["forIdentity"],
        "passwordProtection": PASSWORD_PROTECTION,
    },
}

_TYPES: Mapping[str, type] = {"boolean": bool, "string": str, "object": dict}  # JSON's types, as json.loads gives them
FORMAT_MESSAGES = {"date-time": "must match ISO8601 datetime format"}  # the Connector's words, not JSON Schema's
MSG_NOT_UNICODE = "{field} must be valid Unicode text (no unpaired surrogates)"


def _at(path: str, text: str) -> str:
    return f"{path} {text}" if path else text


def schema_failures(schema: Schema, value: object, path: str = "") -> list[str]:
    """The failures of `value` in the order the Connector reports them (the first one is answered).

    A value's keywords in this order, the first failing one its only failure: `format` (for any type: a
    date-time is a string), `const`, `type`, `pattern`, `minLength`, `maxLength`, and a string must be Unicode
    text (JSON can carry a lone surrogate such as "\\ud800"; UTF-8 cannot, so it can be neither hashed nor stored).
    An object's `required`, `additionalProperties: false` and `properties` each add theirs.
    """
    if schema.get("format") == "date-time" and parse_iso_datetime(value) is None:
        return [_at(path, FORMAT_MESSAGES["date-time"])]
    if "const" in schema and not (type(value) is type(schema["const"]) and value == schema["const"]):
        return [_at(path, "must be equal to constant")]
    if "type" in schema and not isinstance(value, _TYPES[schema["type"]]):
        return [_at(path, f"must be {schema['type']}")]
    if "pattern" in schema and not matches(schema["pattern"], value):
        return [_at(path, f"must match pattern {schema['pattern']}")]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return [_at(path, f"must NOT have fewer than {schema['minLength']} characters")]
        if len(value) > schema.get("maxLength", len(value)):
            return [_at(path, f"must NOT have more than {schema['maxLength']} characters")]
        if not is_unicode_text(value):
            return [MSG_NOT_UNICODE.format(field=path)]
    if not isinstance(value, dict):
        return []
    failures = [
        _at(path, f"must have required property '{key}'") for key in schema.get("required", ()) if key not in value
    ]
    properties: Schema = schema.get("properties", {})
    if schema.get("additionalProperties", True) is False and set(value) - set(properties):
        failures.append(_at(path, "must NOT have additional properties"))
    for key, property_schema in properties.items():
        if key in value:
            failures += schema_failures(property_schema, value[key], f"{path}/{key}" if path else key)
    return failures


# A command's id: required, and a File or template id (any other type fails the pattern, as upstream).
ID_SCHEMAS: Mapping[str, Schema] = {
    field: {"required": [field], "properties": {field: {"pattern": pattern}}} for field, pattern in ID_PATTERNS.items()
}


# Load a peer token (POST /{v}/Tokens/Peer): the runtime's LoadPeerTokenRequest. Any failure of this schema, or a
# reference that is not a token's, is answered with its one message.
PEER_REFERENCE_MESSAGE = "token reference invalid"
# base64url of "TOK…": the runtime's VE9L.{84}, here matched against the whole value.
TRUNCATED_TOKEN_REFERENCE_PATTERN = "VE9L.{84,}"  # noqa: S105 - a pattern, not a secret
URL_TOKEN_REFERENCE_PATTERN = r"https?://.*/r/TOK[a-zA-Z0-9]+(\?app=.+)?#[a-zA-Z0-9-_]+"  # noqa: S105 - a pattern
LOAD_PEER_TOKEN_BODY: Schema = {
    "type": "object",
    "required": ["reference"],
    "additionalProperties": False,
    "properties": {
        "reference": {
            "type": "string",
            "anyOf": [{"pattern": TRUNCATED_TOKEN_REFERENCE_PATTERN}, {"pattern": URL_TOKEN_REFERENCE_PATTERN}],
            "description": "The token's truncated reference (VE9L…) or its reference URL (…/r/TOK…#…).",
        },
        "ephemeral": {
            "type": "boolean",
            "default": False,
            "description": "Default false: the loaded token is kept (GET …/Tokens/{id}, GET …/Tokens/Peer).",
        },
        "password": {
            "type": "string",
            "description": "The token's password or PIN; required when the reference says it is protected.",
        },
    },
}
