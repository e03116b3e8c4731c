"""Domain records (Files, RelationshipTemplates), token content and the TokenDTO (SPEC §3, §4)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .crypto import XCHACHA20_POLY1305, secret_texts_equal
from .encoding import b64url_encode
from .errors import format_timestamp
from .references import Reference
from .validation import PasswordProtectionInput, indicator_for_output

# Files uploaded without an expiry get this one upstream (runtime UploadOwnFile).
NEVER_EXPIRES = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class StoredPasswordProtection:
    """A template's own password protection, as the owning identity keeps it."""

    password: str
    password_type: str
    salt: bytes
    location_indicator: int | None = None

    def matches(self, requested: PasswordProtectionInput | None) -> bool:
        return (
            requested is not None
            and requested.password_type == self.password_type
            and secret_texts_equal(requested.password, self.password)
            and requested.location_indicator == self.location_indicator
        )


@dataclass(frozen=True)
class FileRecord:
    id: str
    secret_key: bytes
    expires_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class TemplateRecord:
    id: str
    secret_key: bytes
    expires_at: datetime | None = None
    is_own: bool = True
    for_identity: str | None = None
    password_protection: StoredPasswordProtection | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _secret_key_json(key: bytes) -> dict[str, Any]:
    # Upstream's CryptoSecretKey serialises as {key, alg} in this order.
    return {"key": b64url_encode(key), "alg": XCHACHA20_POLY1305}


def file_token_content(record: FileRecord) -> dict[str, Any]:
    return {"@type": "TokenContentFile", "fileId": record.id, "secretKey": _secret_key_json(record.secret_key)}


def template_token_content(record: TemplateRecord) -> dict[str, Any]:
    """Keys sorted as ts-serval writes them; the template's salt and type travel, never its password."""
    content: dict[str, Any] = {"@type": "TokenContentRelationshipTemplate"}
    if record.for_identity:
        content["forIdentity"] = record.for_identity
    if record.password_protection:
        protection: dict[str, Any] = {
            "passwordType": record.password_protection.password_type,
            "salt": b64url_encode(record.password_protection.salt),
        }
        if record.password_protection.location_indicator is not None:
            protection["passwordLocationIndicator"] = record.password_protection.location_indicator
        content["passwordProtection"] = protection
    content["secretKey"] = _secret_key_json(record.secret_key)
    content["templateId"] = record.id
    return content


def serialize_content(content: dict[str, Any]) -> bytes:
    """The exact plaintext that is encrypted: compact JSON, UTF-8, as JSON.stringify writes it."""
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class ServiceIdentity:
    """Who creates the tokens: the service's enmeshed address and device."""

    address: str
    device_id: str


@dataclass(frozen=True)
class TokenDraft:
    """Everything the backbone stores for a token, before it has an id."""

    content_cipher: str
    created_by: str
    created_by_device: str
    expires_at: datetime
    for_identity: str | None = None
    password_hash: bytes | None = None


@dataclass(frozen=True)
class PublishedToken:
    id: str
    created_at: datetime


@dataclass(frozen=True)
class StoredToken:
    """A non-ephemeral token as the records table keeps it: the DTO and the token's key."""

    dto: dict[str, Any]
    secret_key: bytes
    expires_at: datetime


@dataclass(frozen=True)
class Token:
    """A created token and what its DTO shows."""

    id: str
    identity: ServiceIdentity
    content: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    reference: Reference
    ephemeral: bool
    for_identity: str | None = None
    password_protection: PasswordProtectionInput | None = None

    def to_dto(self) -> dict[str, Any]:
        dto: dict[str, Any] = {
            "id": self.id,
            "isOwn": True,
            "createdBy": self.identity.address,
            "createdByDevice": self.identity.device_id,
            "content": self.content,
            "createdAt": format_timestamp(self.created_at),
            "expiresAt": format_timestamp(self.expires_at),
        }
        if self.for_identity:
            dto["forIdentity"] = self.for_identity
        if self.password_protection:
            protection: dict[str, Any] = {"password": self.password_protection.password}
            if self.password_protection.is_pin:
                protection["passwordIsPin"] = True
            if self.password_protection.location_indicator is not None:
                protection["passwordLocationIndicator"] = indicator_for_output(
                    self.password_protection.location_indicator
                )
            dto["passwordProtection"] = protection
        truncated = self.reference.truncated
        dto["reference"] = {"truncated": truncated, "url": self.reference.url}
        dto["truncatedReference"] = truncated
        dto["isEphemeral"] = self.ephemeral
        return dto
