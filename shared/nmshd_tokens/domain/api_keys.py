"""API keys as Connector 7 configures them (SPEC §17): the configuration, its start-up refusals, the check of a
presented key, and scopes.

The configuration is the Connector's `authentication.apiKey` object:
`{"headerName"?: "X-API-KEY", "enabled"?, "keys": {"<id>": {"key", "enabled"?, "description"?, "expiresAt"?,
"scopes"?}}}`. Instead of `key` an entry may hold `keySha256` (the key's SHA-256, 64 hex digits): the stored form
that does not keep the key itself. Only the SHA-256 of each key is kept in memory; a presented key is hashed and
compared with every configured hash in constant time (hmac.compare_digest), so neither timing nor an early exit
says which key came close. The start-up refusals and their messages are the Connector's (connector 7.4.6,
src/infrastructure/httpServer/middlewares/authentication/apiKeyAuth.ts and HttpServer.ts).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import parse_iso_datetime

DEFAULT_HEADER_NAME = "X-API-KEY"

NOT_ENABLED = "No API key and OAuth config set in configuration. At least one is required in production mode."
DUPLICATE_KEYS = "Duplicate API keys found in configuration. Each API key must be unique."
NO_VALID_KEY = "No valid API keys found in configuration. At least one is required."
WEAK_KEYS = (
    "The API keys with the following key(s) does not meet the requirements: {ids}. They must be at least 30 "
    "characters long and contain at least 2 digits, 2 uppercase letters, 2 lowercase letters and 1 special "
    "character (!\"#$%&'()*+,-./:;<=>?@[\\]^_`{{|}}~)."
)
# The Connector's key rule: 30 characters or more, 2 upper case, 2 lower case, 2 digits, 1 ASCII special.
_KEY_RULE = re.compile(
    r"^(?=.*[A-Z].*[A-Z])(?=.*[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])(?=.*[0-9].*[0-9])(?=.*[a-z].*[a-z]).{30,}\Z"
)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# typescript-rest's role patterns: `*` one segment, `**` one or more segments.
_SEGMENT = "[a-zA-Z0-9_-]+"
_SEGMENTS = f"{_SEGMENT}(?::{_SEGMENT})*"
_ENTRY_MEMBERS = frozenset({"key", "keySha256", "enabled", "description", "expiresAt", "scopes"})


class ApiKeyConfigError(ValueError):
    """The configuration is refused; the message is the Connector's, or names the member that is wrong."""


def key_digest(key: str) -> bytes:
    # surrogatepass: a header value from a JSON event may hold a lone surrogate; it is a wrong key, not an error.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def scope_covers(granted: str, required: str) -> bool:
    """Whether a key's scope covers a route's: `core:*` covers `core:tokens`, `core:**` and `**` any depth."""
    if "*" not in granted:
        return granted == required
    pieces = (_SEGMENT.join(re.escape(part) for part in piece.split("*")) for piece in granted.split("**"))
    pattern = _SEGMENTS.join(pieces)
    return re.fullmatch(pattern, required) is not None


@dataclass(frozen=True)
class ApiKey:
    id: str
    digest: bytes = field(repr=False)  # SHA-256 of the key
    scopes: tuple[str, ...] | None  # None (no `scopes`): every scope, as the Connector's default roles ["**"]
    expires_at: datetime | None = None
    description: str = ""

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at < now

    def allows(self, required_scope: str) -> bool:
        if self.scopes is None:
            return True
        return any(scope_covers(scope, required_scope) for scope in self.scopes)

    @property
    def usage_identifier(self) -> str:
        """The name API Gateway's usage plan knows this key by: its SHA-256 in hex (never the key itself)."""
        return self.digest.hex()


@dataclass(frozen=True)
class ApiKeys:
    """The keys that may be used: enabled, and unexpired when the configuration was read."""

    header_name: str
    keys: tuple[ApiKey, ...]

    def authenticate(self, presented: str | None, now: datetime) -> ApiKey | None:
        """The key whose value was presented, unless it expired since; None for no, unknown or expired keys."""
        if not presented:
            return None
        digest = key_digest(presented)
        found: ApiKey | None = None
        for key in self.keys:  # every key is compared: no early exit
            if hmac.compare_digest(digest, key.digest):
                found = key
        if found is None or found.expired(now):
            return None
        return found

    @classmethod
    def single(cls, key: str, header_name: str = DEFAULT_HEADER_NAME) -> ApiKeys:
        """One admin key (no scopes: every route), as `serve` generates it when no configuration is given."""
        return cls(header_name, (ApiKey("default", key_digest(key), None),))


def _connector_api_key_object(document: object) -> Mapping[str, Any]:
    """The `apiKey` object itself, or a whole Connector configuration that holds it."""
    if not isinstance(document, Mapping):
        raise ApiKeyConfigError("the API key configuration must be a JSON object")
    nested: Any = document
    for name in ("infrastructure", "httpServer", "authentication", "apiKey"):
        if not isinstance(nested, Mapping) or name not in nested:
            return document
        nested = nested[name]
    if not isinstance(nested, Mapping):
        raise ApiKeyConfigError("infrastructure.httpServer.authentication.apiKey must be a JSON object")
    return nested


def _entry(key_id: str, entry: object) -> tuple[ApiKey, str | None, bool]:
    """One `keys.<id>` member: the key, its value when given in clear (for the key rule), and `enabled`."""
    where = f"keys.{key_id}"
    if not isinstance(entry, Mapping):
        raise ApiKeyConfigError(f"{where} must be an object")
    unknown = sorted(set(entry) - _ENTRY_MEMBERS)
    if unknown:
        raise ApiKeyConfigError(f"{where} has unknown members: {', '.join(unknown)}")
    value, stored = entry.get("key"), entry.get("keySha256")
    if (value is None) == (stored is None):
        raise ApiKeyConfigError(f"{where} needs exactly one of key and keySha256")
    if value is not None:
        if not isinstance(value, str):
            raise ApiKeyConfigError(f"{where}.key must be a string")
        digest = key_digest(value)
    else:
        if not isinstance(stored, str) or not _SHA256_HEX.fullmatch(stored):
            raise ApiKeyConfigError(f"{where}.keySha256 must be 64 lower-case hex digits")
        digest = bytes.fromhex(stored)
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ApiKeyConfigError(f"{where}.enabled must be true or false")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise ApiKeyConfigError(f"{where}.description must be a string")
    expires_at = None
    if "expiresAt" in entry:
        expires_at = parse_iso_datetime(entry["expiresAt"])
        if expires_at is None:
            raise ApiKeyConfigError(f"{where}.expiresAt must be an ISO 8601 date and time")
    scopes = entry.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise ApiKeyConfigError(f"{where}.scopes must be a list of strings")
    key = ApiKey(key_id, digest, None if scopes is None else tuple(scopes), expires_at, description)
    return key, value, enabled


def parse_api_keys(document: object, now: datetime) -> ApiKeys:
    """The usable keys of a configuration, or the Connector's refusal to start."""
    config = _connector_api_key_object(document)
    header_name = config.get("headerName", DEFAULT_HEADER_NAME)
    if not isinstance(header_name, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", header_name):
        raise ApiKeyConfigError("headerName must be an HTTP header name")
    entries = config.get("keys", {})
    if not isinstance(entries, Mapping):
        raise ApiKeyConfigError("keys must be an object of key id → key")
    enabled = config.get("enabled", len(entries) != 0)
    if not isinstance(enabled, bool):
        raise ApiKeyConfigError("enabled must be true or false")
    if not enabled:
        raise ApiKeyConfigError(NOT_ENABLED)
    parsed = [_entry(str(key_id), entry) for key_id, entry in entries.items()]
    digests = [key.digest for key, _, _ in parsed]
    if len(set(digests)) != len(digests):
        raise ApiKeyConfigError(DUPLICATE_KEYS)
    valid = [(key, value) for key, value, key_enabled in parsed if key_enabled and not key.expired(now)]
    if not valid:
        raise ApiKeyConfigError(NO_VALID_KEY)
    weak = [key.id for key, value in valid if value is not None and not _KEY_RULE.match(value)]
    if weak:
        raise ApiKeyConfigError(WEAK_KEYS.format(ids=", ".join(weak)))
    return ApiKeys(header_name, tuple(key for key, _ in valid))


def stored_form(document: object) -> dict[str, Any]:
    """The configuration with every `key` replaced by its `keySha256`: what the AWS secret may hold instead."""
    config = dict(_connector_api_key_object(document))
    entries = config.get("keys")
    if isinstance(entries, Mapping):
        hashed: dict[str, Any] = {}
        for key_id, entry in entries.items():
            if isinstance(entry, Mapping) and isinstance(entry.get("key"), str):
                entry = {**{k: v for k, v in entry.items() if k != "key"}, "keySha256": key_digest(entry["key"]).hex()}
            hashed[str(key_id)] = entry
        config["keys"] = hashed
    return config


def header_value(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of header `name`, whatever its case (the Connector lower-cases the configured name)."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)
