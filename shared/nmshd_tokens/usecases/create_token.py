"""Create Token (and Token QR code) for a File and for an own RelationshipTemplate (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain.clock import utc_now
from ..domain.crypto import derive_password_hash, encrypt_content, generate_key, generate_salt
from ..domain.errors import DomainError, ErrorKind
from ..domain.files_and_templates import NEVER_EXPIRES
from ..domain.ids import is_template_id
from ..domain.password_protection import PasswordRequest
from ..domain.tokens import (
    Token,
    TokenDetails,
    TokenDraft,
    TokenPassword,
    file_token_content,
    serialize_content,
    template_token_content,
)
from ..domain.validation import TokenRequest
from .ports import CommandRecord, RecordsRepository, TokenPublisher, TokenWrite


@dataclass(frozen=True)
class ServiceIdentity:
    """Who creates the tokens: the service's enmeshed address and device."""

    address: str
    device_id: str


@dataclass
class TokenCreation:
    records: RecordsRepository
    publisher: TokenPublisher
    identity: ServiceIdentity
    clock: Callable[[], datetime] = field(default=utc_now)

    def create(self, request: TokenRequest, backbone_base_url: str, command: CommandRecord | None = None) -> Token:
        """For the File or the RelationshipTemplate the request names; `command`: its record, written with it."""
        if is_template_id(request.target_id):
            return self.for_template(request, backbone_base_url, command)
        return self.for_file(request, backbone_base_url, command)

    def for_file(self, request: TokenRequest, backbone_base_url: str, command: CommandRecord | None = None) -> Token:
        record = self.records.get_file(request.target_id)
        if record is None or record.is_expired(self.clock()):
            raise DomainError(ErrorKind.FILE_NOT_FOUND)
        draft = self._draft(file_token_content(record), request, record.expires_at, backbone_base_url)
        return self.publisher.publish(TokenWrite(draft, command))

    def for_template(
        self, request: TokenRequest, backbone_base_url: str, command: CommandRecord | None = None
    ) -> Token:
        record = self.records.get_template(request.target_id)
        if record is None or record.is_expired(self.clock()):
            raise DomainError(ErrorKind.TEMPLATE_NOT_FOUND)
        if not record.is_own:
            raise DomainError(ErrorKind.PEER_TEMPLATE)
        if record.for_identity and request.for_identity != record.for_identity:
            raise DomainError(ErrorKind.PERSONALIZATION_MUST_BE_INHERITED)
        if record.password_protection and not record.password_protection.matches(request.password_protection):
            raise DomainError(ErrorKind.PASSWORD_PROTECTION_MUST_BE_INHERITED)
        draft = self._draft(template_token_content(record), request, record.expires_at, backbone_base_url)
        return self.publisher.publish(TokenWrite(draft, command))

    def _draft(
        self,
        content: dict[str, Any],
        request: TokenRequest,
        record_expiry: datetime | None,
        backbone_base_url: str,
    ) -> TokenDraft:
        return new_draft(
            content,
            serialize_content(content),
            expires_at=request.expires_at or record_expiry or NEVER_EXPIRES,
            ephemeral=request.ephemeral,
            for_identity=request.for_identity,
            password_protection=request.password_protection,
            identity=self.identity,
            backbone_base_url=backbone_base_url,
        )


def new_draft(
    content: dict[str, Any],
    plaintext: bytes,
    *,
    expires_at: datetime,
    ephemeral: bool,
    for_identity: str | None,
    password_protection: PasswordRequest | None,
    identity: ServiceIdentity,
    backbone_base_url: str,
) -> TokenDraft:
    """A token ready to publish: a fresh key, `plaintext` (the serialized content) encrypted with it, and the
    password's hash with a fresh salt."""
    key = generate_key()
    password: TokenPassword | None = None
    password_hash: bytes | None = None
    if password_protection:
        # A fresh salt per token; the hash is all the backbone ever sees.
        password = TokenPassword(
            password_protection.password,
            generate_salt(),
            password_protection.is_pin,
            password_protection.location_indicator,
        )
        password_hash = derive_password_hash(password.password, password.salt)
    details = TokenDetails(
        content=content,
        secret_key=key,
        created_by=identity.address,
        created_by_device=identity.device_id,
        expires_at=expires_at,
        backbone_base_url=backbone_base_url,
        ephemeral=ephemeral,
        for_identity=for_identity,
        password=password,
    )
    return TokenDraft(details, encrypt_content(plaintext, key), password_hash)
