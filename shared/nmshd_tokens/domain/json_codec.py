"""JSON in and out: compact output as JSON.stringify writes it, and strict reading of one JSON object.

Strict because the bytes come from callers: a duplicate key, NaN or a byte sequence that is not UTF-8 is refused
(invalidJsonInPayload) instead of being read as something the caller never sent.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import DomainError, ErrorKind

MAX_OBJECT_BYTES = 64 * 1024  # a token request is a few hundred bytes
_JSON_WHITESPACE = b" \t\n\r"  # RFC 8259 §2
# A literal U+FFFD: a client that means it sends the escape \ufffd, which is ASCII and passes.
_REPLACEMENT_CHARACTER = "\ufffd"
_MAX_INT_DIGITS = 4000  # below sys.get_int_max_str_digits()'s default of 4300 (sign included)


def dumps_compact(value: Any) -> str:
    """No spaces, non-ASCII as is: the form JSON.stringify writes (and encrypts, for token content)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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


def parse_json_object(raw: bytes | str | None, max_bytes: int = MAX_OBJECT_BYTES) -> dict[str, Any]:
    """A missing or blank input is `{}`; anything that is not one JSON object is invalidJsonInPayload."""
    if raw is None:
        return {}
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise DomainError(ErrorKind.PAYLOAD_TOO_LARGE, f"The request body must not exceed {max_bytes} bytes.")
    if not data.strip(_JSON_WHITESPACE):  # bytes.strip() would also drop \x0b and \x0c, which JSON does not allow
        return {}
    try:
        text = data.decode("utf-8")
        if _REPLACEMENT_CHARACTER in text:
            # API Gateway (and the local emulator) decode a text body with U+FFFD in place of bytes that are not
            # UTF-8; parsing on would silently store a password or address the client never sent.
            raise ValueError("not UTF-8")
        parsed = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_int=_parse_int
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise DomainError(ErrorKind.INVALID_JSON) from exc
    if not isinstance(parsed, dict):
        raise DomainError(ErrorKind.INVALID_JSON)
    return parsed
