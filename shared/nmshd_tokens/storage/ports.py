"""The ports the use cases need; DynamoDB (and later a remote Backbone) implement them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..domain.models import FileRecord, PublishedToken, StoredToken, TemplateRecord, TokenDraft


class RecordsRepository(Protocol):
    def get_file(self, file_id: str) -> FileRecord | None: ...

    def get_template(self, template_id: str) -> TemplateRecord | None: ...


TransactItem = dict[str, Any]
"""One element of a storage transaction (DynamoDB TransactItems); opaque to the use cases."""


class TokenPublisher(Protocol):
    supports_transactions: bool
    """Whether `also` can be written in the token's own transaction (the embedded backbone; not a remote one)."""

    def publish(
        self,
        draft: TokenDraft,
        keep: Callable[[PublishedToken], StoredToken] | None,
        *,
        also: Callable[[PublishedToken], TransactItem] | None = None,
    ) -> PublishedToken:
        """Publish a token; when `keep` is given, also store its record, never one without the other.

        `also` (only where `supports_transactions`): one more conditional write in the same transaction,
        or nothing is written (CommandAlreadyRecorded when its condition fails).
        """
        ...


class PeerTokenReader(Protocol):
    def fetch_for_peer(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        """The Backbone's view of a token for an anonymous peer, or a DomainError (404 / locked)."""
        ...

    def exists(self, token_id: str) -> bool:
        """Whether a live (unexpired) token has this id."""
        ...


# --- event-driven creation (issue #6): the idempotency record of a command and the outputs ---------------


class CommandAlreadyRecorded(Exception):
    """The command's record already exists: another delivery of the same command got there first."""


@dataclass(frozen=True)
class CommandRecord:
    """What is kept per command (SQS message or idempotency key) so that a redelivery repeats nothing.

    `dto` and `qr_payload` are only kept until the outputs are written (`done`): they hold the token's secrets.
    """

    key: str
    message_id: str
    prefix: str
    expires_at: datetime
    token_id: str | None = None
    dto: dict[str, Any] | None = None
    qr_payload: str | None = None
    error_code: str | None = None
    done: bool = False


class CommandLog(Protocol):
    def get(self, key: str) -> CommandRecord | None: ...

    def add(self, record: CommandRecord) -> bool:
        """Write the record unless one exists for its key; False when one did."""
        ...

    def put_request(self, record: CommandRecord) -> TransactItem:
        """The conditional write of a new record, for a TokenPublisher's transaction (`also`)."""
        ...

    def mark_done(self, key: str) -> None:
        """The outputs are written: forget the token's secrets, keep the fact."""
        ...


class OutputStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]) -> None:
        """Write (or overwrite with the same content) one object."""
        ...
