"""Reading the JSON body of an API Gateway event: strict, bounded, never a 500 for the caller's bytes."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..domain.errors import DomainError, ErrorKind

MAX_BODY_BYTES = 64 * 1024  # a token request is a few hundred bytes
_JSON_WHITESPACE = b" \t\n\r"  # RFC 8259 §2
# A literal U+FFFD: a client that means it sends the escape \ufffd, which is ASCII and passes.
_REPLACEMENT_CHARACTER = "\ufffd"
_MAX_INT_DIGITS = 4000  # below sys.get_int_max_str_digits()'s default of 4300 (sign included)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_int(text: str) -> int | float:
    """An integer literal of any length is valid JSON; Python's int() refuses more than 4300 digits (a ValueError
    that would read as invalid JSON), so a longer one becomes a float, as JSON.parse reads it (±Infinity)."""
    return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)


def parse_json_object(body: str | None, is_base64_encoded: bool = False) -> dict[str, Any]:
    """A missing or empty body is `{}`; anything that is not one JSON object is invalidJsonInPayload."""
    if body is None:
        return {}
    raw: bytes
    try:
        raw = base64.b64decode(body, validate=True) if is_base64_encoded else body.encode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError) as exc:
        raise DomainError(ErrorKind.INVALID_JSON) from exc
    if len(raw) > MAX_BODY_BYTES:
        raise DomainError(ErrorKind.PAYLOAD_TOO_LARGE, f"The request body must not exceed {MAX_BODY_BYTES} bytes.")
    if not raw.strip(_JSON_WHITESPACE):  # bytes.strip() would also drop \x0b and \x0c, which JSON does not allow
        return {}
    try:
        text = raw.decode("utf-8")
        if _REPLACEMENT_CHARACTER in text:
            # API Gateway (and the local emulator) decode a text body with U+FFFD in place of bytes that are not
            # UTF-8; parsing on would silently store a password or address the client never sent.
            raise ValueError("not UTF-8")
        parsed = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise DomainError(ErrorKind.INVALID_JSON) from exc
    if not isinstance(parsed, dict):
        raise DomainError(ErrorKind.INVALID_JSON)
    return parsed
