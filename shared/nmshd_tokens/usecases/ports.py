"""What the use cases need from the world outside: records, a backbone, a command log, an output store.

The adapters in `storage/` implement these; tests may implement them in memory. Nothing here knows DynamoDB.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..domain.connector import QrForm
from ..domain.files_and_templates import FileRecord, TemplateRecord
from ..domain.tokens import Token, TokenDraft


class RecordsRepository(Protocol):
    def get_file(self, file_id: str) -> FileRecord | None: ...

    def get_template(self, template_id: str) -> TemplateRecord | None: ...


CONNECTOR_SOURCE = "connector"  # the `source` of a record read from the Connector; the tooling's have none


@dataclass(frozen=True)
class StoredRecord:
    """A File or RelationshipTemplate as stored, with when it was read from the Connector (epoch seconds); None:
    written by the tooling (records add-*, import, seed), never replaced by the Connector's copy."""

    record: FileRecord | TemplateRecord
    read_at: int | None = None


class ConnectorCopies(Protocol):
    """The records table as the Connector's cache (SPEC §15)."""

    def get_stored(self, record_id: str) -> StoredRecord | None: ...

    def put_connector_copy(self, record: FileRecord | TemplateRecord, read_at: float) -> str | None:
        """ "added", "refreshed", or None when a record of the tooling has the id (it stays)."""
        ...

    def delete_connector_copy(self, record_id: str) -> bool: ...


@dataclass(frozen=True)
class ConnectorCopy:
    """A record as the Connector answered it; `owner`: the identity an own record belongs to (None: a peer's)."""

    record: FileRecord | TemplateRecord
    owner: str | None = None


class ConnectorRecords(Protocol):
    """The Connector, where Files and RelationshipTemplates come from."""

    def record(self, record_id: str) -> ConnectorCopy | None:
        """The record, None when the Connector does not know it; a DomainError (503) when it cannot say."""
        ...

    def address(self) -> str | None:
        """The Connector identity's address; None when its API key may not read it (scope core:account)."""
        ...


class KeptTokenRecords(Protocol):
    def get_token(self, token_id: str) -> Token | None:
        """A kept (non-ephemeral) token, until its retention after expiry ends."""
        ...

    def tokens(self, created_from: str | None = None, created_to: str | None = None) -> Iterator[Token]:
        """Kept own tokens, oldest first; the createdAt bounds (inclusive, as text) narrow where a store looks."""
        ...

    def peer_tokens(self, created_from: str | None = None, created_to: str | None = None) -> Iterator[Token]:
        """Kept peer tokens (loaded by reference), as `tokens`."""
        ...

    def delete_token(self, token_id: str) -> None:
        """Forget a kept token's record (nothing else)."""
        ...


class PeerTokenRecords(Protocol):
    def get_token(self, token_id: str) -> Token | None:
        """A kept token, own or peer."""
        ...

    def put_peer_token(self, token: Token) -> None:
        """Keep a loaded peer token."""
        ...


@dataclass(frozen=True)
class CommandRecord:
    """What is kept per command (an SQS message or idempotency key) so that a redelivery repeats nothing.

    `token` and `qr_form` are kept only until the outputs are written (`done`): the token holds its secrets.
    """

    key: str
    message_id: str
    prefix: str
    expires_at: datetime
    token: Token | None = field(default=None, repr=False)  # it holds the token's secrets
    qr_form: QrForm | None = None
    error_code: str | None = None
    done: bool = False


class CommandAlreadyRecorded(Exception):
    """The command's record already exists: another delivery of the same command got there first."""


@dataclass(frozen=True)
class TokenWrite:
    """Everything that is written when a token is published, all of it or none of it where storage allows:

    the token on the backbone, its record unless it is ephemeral, and the record of the command that asked for it
    (bulk creation; the record then names the published token). A backbone that cannot share a transaction with
    the records (a remote Backbone) publishes first and writes the rest after.
    """

    draft: TokenDraft
    command: CommandRecord | None = None

    @property
    def keeps_record(self) -> bool:
        return not self.draft.details.ephemeral


class TokenPublisher(Protocol):
    def publish(self, write: TokenWrite) -> Token:
        """Publish the token and write what goes with it; CommandAlreadyRecorded when the command's record exists."""
        ...


class PeerTokenReader(Protocol):
    def fetch_for_peer(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        """The Backbone's view of a token for an anonymous peer, or a DomainError (404 / locked)."""
        ...

    def exists(self, token_id: str) -> bool:
        """Whether a live (unexpired) token has this id."""
        ...


class ServiceTokenReader(Protocol):
    def fetch_for_service(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        """The Backbone's view of a token for this service's identity, signed in where the backbone has logins
        (remote), as the transport library's authenticated read; a DomainError for its 404 or lock."""
        ...


class TokenRevoker(Protocol):
    def revoke(self, token: Token) -> None:
        """Remove the token from the backbone, then its record; a refusal of the backbone keeps the record."""
        ...


class BackboneHealth(Protocol):
    def check_version(self) -> bool:
        """The backbone answers, as a version this service speaks (one cheap, time-bounded call)."""
        ...

    def check_login(self) -> bool:
        """The service can sign in to the backbone (True where nothing signs in)."""
        ...


class Backbone(TokenPublisher, PeerTokenReader, ServiceTokenReader, TokenRevoker, BackboneHealth, Protocol):
    """Where tokens are published, read and revoked: the embedded DynamoDB backbone or a remote Backbone."""


class HealthProbe(Protocol):
    def __call__(self) -> bool:
        """One cheap, time-bounded call: does the dependency answer?"""
        ...


class CommandLog(Protocol):
    def get(self, key: str) -> CommandRecord | None: ...

    def add(self, record: CommandRecord) -> bool:
        """Write the record unless one exists for its key; False when one did."""
        ...

    def mark_done(self, key: str) -> None:
        """The outputs are written: forget the token's secrets, keep the fact."""
        ...


class OutputStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]) -> None:
        """Write (or overwrite with the same content) one object."""
        ...
