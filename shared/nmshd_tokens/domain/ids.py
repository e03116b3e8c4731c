"""Ids (from a CSPRNG) and the patterns ids and addresses must match as a whole."""

from __future__ import annotations

import re
import secrets
import string

_ID_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits
# The Connector's error ids avoid look-alike characters (no I, O, 0, 1).
_ERROR_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_ID_SUFFIX_LENGTH = 17

FILE_ID_PATTERN = "FIL[A-Za-z0-9]{17}"
TEMPLATE_ID_PATTERN = "RLT[A-Za-z0-9]{17}"
TOKEN_ID_PATTERN = "TOK[A-Za-z0-9]{17}"  # noqa: S105 - an id pattern, not a secret
DEVICE_ID_PATTERN = "DVC[A-Za-z0-9]{17}"
ADDRESS_PATTERN = r"did:e:((([A-Za-z0-9]+(-[A-Za-z0-9]+)*)\.)+[a-z]{2,}|localhost):dids:[0-9a-f]{22}"

_COMPILED = {
    pattern: re.compile(pattern)
    for pattern in (FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, TOKEN_ID_PATTERN, DEVICE_ID_PATTERN, ADDRESS_PATTERN)
}


def _random_suffix(alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(_ID_SUFFIX_LENGTH))


def new_token_id() -> str:
    return "TOK" + _random_suffix(_ID_ALPHABET)


def new_id(prefix: str) -> str:
    """A 20-character enmeshed id such as FIL…, RLT…, DVC… ."""
    return prefix + _random_suffix(_ID_ALPHABET)


def new_error_id() -> str:
    return "ERR" + _random_suffix(_ERROR_ID_ALPHABET)


def matches(pattern: str, value: object) -> bool:
    """True when `value` is a string matching `pattern` as a whole (stricter than upstream's substring)."""
    compiled = _COMPILED.get(pattern) or re.compile(pattern)
    return isinstance(value, str) and compiled.fullmatch(value) is not None


def is_file_id(value: object) -> bool:
    return matches(FILE_ID_PATTERN, value)


def is_template_id(value: object) -> bool:
    return matches(TEMPLATE_ID_PATTERN, value)


def is_token_id(value: object) -> bool:
    return matches(TOKEN_ID_PATTERN, value)


def is_address(value: object) -> bool:
    return matches(ADDRESS_PATTERN, value)
