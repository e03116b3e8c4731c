"""Ids (from a CSPRNG), the patterns ids and addresses must match as a whole, and the Backbone's address check."""

from __future__ import annotations

import hashlib
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
MAX_ADDRESS_LENGTH = 80  # the Backbone's limit

_COMPILED = {
    pattern: re.compile(pattern)
    for pattern in (FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, TOKEN_ID_PATTERN, DEVICE_ID_PATTERN, ADDRESS_PATTERN)
}
# What the Backbone accepts as an address: lower case, and the last two hex digits are a checksum.
_BACKBONE_ADDRESS_RE = re.compile(r"did:e:((?:[a-z0-9-]+\.)*[a-z]{2,}):dids:([0-9a-f]{20})([0-9a-f]{2})")


def _random_suffix(alphabet: str) -> str:
    """17 characters drawn uniformly from `alphabet` with one read of the CSPRNG (rejection sampling)."""
    limit = 256 - 256 % len(alphabet)  # bytes at or above it would favour the first characters
    chosen: list[str] = []
    while len(chosen) < _ID_SUFFIX_LENGTH:  # one 32-byte read almost always suffices
        chosen += [alphabet[byte % len(alphabet)] for byte in secrets.token_bytes(32) if byte < limit]
    return "".join(chosen[:_ID_SUFFIX_LENGTH])


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


def address_checksum(head: str) -> str:
    """The Backbone's checksum of `did:e:<host>:dids:<20 hex>`: the first byte of its SHA-256, in hex."""
    return hashlib.sha256(head.encode("utf-8")).hexdigest()[:2]


def make_address(host: str = "localhost", identity: str | None = None) -> str:
    """A valid address on `host`: `identity` (20 hex digits, default random) and its checksum."""
    head = f"did:e:{host}:dids:{identity or secrets.token_hex(10)}"
    return head + address_checksum(head)


def is_backbone_address(value: object) -> bool:
    """At most 80 characters, lower case, and the right checksum: what the Backbone accepts."""
    if not isinstance(value, str) or len(value) > MAX_ADDRESS_LENGTH:
        return False
    match = _BACKBONE_ADDRESS_RE.fullmatch(value)
    return match is not None and match[3] == address_checksum(value[:-2])
