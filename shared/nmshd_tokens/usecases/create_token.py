"""The use cases: Create Token (and QR code) for a File and for an own RelationshipTemplate (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..domain.crypto import derive_password_hash, encrypt_content, generate_key, generate_salt
from ..domain.errors import DomainError, ErrorKind
from ..domain.models import (
    NEVER_EXPIRES,
    PublishedToken,
    ServiceIdentity,
    StoredToken,
    Token,
    TokenDraft,
    file_token_content,
    serialize_content,
    template_token_content,
)
from ..domain.references import Reference, SharedPasswordProtection
from ..domain.validation import TokenRequest
from ..storage.ports import RecordsRepository, TokenPublisher, TransactItem

AlsoWrite = Callable[[Token], TransactItem]
"""One more write in the token's own transaction, made from the created token (e.g. a command's record)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class TokenService:
    records: RecordsRepository
    publisher: TokenPublisher
    identity: ServiceIdentity
    backbone_base_url: str
    clock: Callable[[], datetime] = field(default=utc_now)

    def create_for_file(self, request: TokenRequest, *, also: AlsoWrite | None = None) -> Token:
        record = self.records.get_file(request.target_id)
        if record is None or record.is_expired(self.clock()):
            raise DomainError(ErrorKind.FILE_NOT_FOUND)
        return self._issue(file_token_content(record), request, record.expires_at or NEVER_EXPIRES, also)

    def create_for_template(self, request: TokenRequest, *, also: AlsoWrite | None = None) -> Token:
        record = self.records.get_template(request.target_id)
        if record is None or record.is_expired(self.clock()):
            raise DomainError(ErrorKind.TEMPLATE_NOT_FOUND)
        if not record.is_own:
            raise DomainError(ErrorKind.PEER_TEMPLATE)
        if record.for_identity and request.for_identity != record.for_identity:
            raise DomainError(ErrorKind.PERSONALIZATION_MUST_BE_INHERITED)
        if record.password_protection and not record.password_protection.matches(request.password_protection):
            raise DomainError(ErrorKind.PASSWORD_PROTECTION_MUST_BE_INHERITED)
        return self._issue(template_token_content(record), request, record.expires_at or NEVER_EXPIRES, also)

    def _issue(
        self, content: dict[str, Any], request: TokenRequest, default_expiry: datetime, also: AlsoWrite | None
    ) -> Token:
        expires_at = request.expires_at or default_expiry
        key = generate_key()
        shared_protection: SharedPasswordProtection | None = None
        password_hash: bytes | None = None
        if request.password_protection:
            # A fresh salt per token; the hash is all the backbone ever sees.
            salt = generate_salt()
            password_hash = derive_password_hash(request.password_protection.password, salt)
            shared_protection = SharedPasswordProtection(
                request.password_protection.password_type, salt, request.password_protection.location_indicator
            )
        draft = TokenDraft(
            content_cipher=encrypt_content(serialize_content(content), key),
            created_by=self.identity.address,
            created_by_device=self.identity.device_id,
            expires_at=expires_at,
            for_identity=request.for_identity,
            password_hash=password_hash,
        )

        def token_for(published: PublishedToken) -> Token:
            reference = Reference(
                id=published.id,
                key=key,
                backbone_base_url=self.backbone_base_url,
                for_identity_truncated=Reference.truncate_address(request.for_identity),
                password_protection=shared_protection,
            )
            return Token(
                id=published.id,
                identity=self.identity,
                content=content,
                created_at=published.created_at,
                expires_at=expires_at,
                reference=reference,
                ephemeral=request.ephemeral,
                for_identity=request.for_identity,
                password_protection=request.password_protection,
            )

        def keep(published: PublishedToken) -> StoredToken:
            return StoredToken(token_for(published).to_dto(), key, expires_at)

        def also_for(published: PublishedToken) -> TransactItem:
            assert also is not None
            return also(token_for(published))

        published = self.publisher.publish(
            draft, None if request.ephemeral else keep, also=None if also is None else also_for
        )
        return token_for(published)
