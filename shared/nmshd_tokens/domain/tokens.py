"""Tokens: their content, what is known of one before and after it is published, and its DTO (SPEC §3–§5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .algorithms import XCHACHA20_POLY1305
from .clock import format_timestamp
from .connector import Generation, QrForm
from .encoding import b64url_encode
from .files_and_templates import FileRecord, TemplateRecord
from .json_codec import dumps_compact
from .password_protection import indicator_for_output, password_type
from .references import Reference, SharedPasswordProtection


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
    return dumps_compact(content).encode("utf-8")


@dataclass(frozen=True)
class TokenPassword:
    """A token's password protection as its owner keeps it: the password and the salt its hash was made with."""

    password: str
    salt: bytes
    is_pin: bool = False
    location_indicator: int | None = None

    @property
    def password_type(self) -> str:
        return password_type(self.password, self.is_pin)

    def shared(self) -> SharedPasswordProtection:
        """What the reference tells a peer: enough to derive the hash, never the password."""
        return SharedPasswordProtection(self.password_type, self.salt, self.location_indicator)


@dataclass(frozen=True)
class TokenDetails:
    """What the owner knows of a token apart from its id and creation time, which the backbone decides."""

    content: dict[str, Any]
    secret_key: bytes
    created_by: str
    created_by_device: str
    expires_at: datetime
    backbone_base_url: str
    ephemeral: bool
    for_identity: str | None = None
    password: TokenPassword | None = None
    is_own: bool = True  # False: a peer's token, loaded by its reference (POST /Tokens/Peer)


@dataclass(frozen=True)
class TokenDraft:
    """A token ready to publish: its details, and what the backbone stores (the cipher, the password hash)."""

    details: TokenDetails
    content_cipher: str
    password_hash: bytes | None = None


@dataclass(frozen=True)
class Token:
    """A published token."""

    id: str
    created_at: datetime
    details: TokenDetails

    @property
    def reference(self) -> Reference:
        details = self.details
        return Reference(
            id=self.id,
            key=details.secret_key,
            backbone_base_url=details.backbone_base_url,
            for_identity_truncated=Reference.truncate_address(details.for_identity),
            password_protection=details.password.shared() if details.password else None,
        )

    def qr_payload(self, form: QrForm) -> str:
        reference = self.reference
        return reference.url if form is QrForm.URL else reference.legacy_qr_payload

    def to_dto(self, generation: Generation = Generation.API_V2) -> dict[str, Any]:
        """The TokenDTO, keys in the runtime mapper's order; Connector 6 has `truncatedReference` before `reference`."""
        details = self.details
        dto: dict[str, Any] = {
            "id": self.id,
            "isOwn": details.is_own,
            "createdBy": details.created_by,
            "createdByDevice": details.created_by_device,
            "content": details.content,
            "createdAt": format_timestamp(self.created_at),
            "expiresAt": format_timestamp(details.expires_at),
        }
        if details.for_identity:
            dto["forIdentity"] = details.for_identity
        if details.password:
            protection: dict[str, Any] = {"password": details.password.password}
            if details.password.is_pin:
                protection["passwordIsPin"] = True
            if details.password.location_indicator is not None:
                protection["passwordLocationIndicator"] = indicator_for_output(details.password.location_indicator)
            dto["passwordProtection"] = protection
        reference = self.reference
        truncated = reference.truncated
        if generation.has_truncated_reference_field:
            dto["truncatedReference"] = truncated
        dto["reference"] = {"truncated": truncated, "url": reference.url}
        dto["isEphemeral"] = details.ephemeral
        return dto
