"""The service identity's own Files and RelationshipTemplates, as the token use cases need them (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .algorithms import secret_texts_equal
from .password_protection import PasswordRequest

# Files uploaded without an expiry get this one upstream (runtime UploadOwnFile).
NEVER_EXPIRES = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class StoredPasswordProtection:
    """A template's own password protection, as the owning identity keeps it."""

    password: str
    password_type: str
    salt: bytes
    location_indicator: int | None = None

    def matches(self, requested: PasswordRequest | None) -> bool:
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
