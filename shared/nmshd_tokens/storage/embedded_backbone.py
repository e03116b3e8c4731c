"""The embedded backbone: publishes tokens to its own DynamoDB table and serves them to peers (SPEC §9).

A publication is one TransactWriteItems: the token here, and in the records table its record (unless ephemeral)
and the command's record (bulk creation); all of them or none. A token alone is one conditional PutItem.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..domain.algorithms import secrets_equal
from ..domain.clock import utc_now
from ..domain.errors import DomainError, ErrorKind
from ..domain.ids import is_backbone_address, new_token_id
from ..domain.tokens import Token, TokenDraft
from ..usecases.ports import CommandAlreadyRecorded, TokenWrite
from .attributes import Item, bytes_value, epoch, read_bytes, read_str, read_time, str_value, timestamp
from .dynamodb import (
    NEW_ITEM,
    error_code,
    is_condition_failure,
    is_transient_cancellation,
    storage_errors,
    table_answers,
)
from .publication import PublicationRecords, command_already_recorded, put_new
from .records_table import DynamoRecordsRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

logger = logging.getLogger("nmshd-tokens.dynamodb")  # a child of the Powertools logger: its JSON lines

LOCK_AFTER_FAILED_ATTEMPTS = 100
INVALID_FOR_IDENTITY = "'forIdentity': The ID or Address is not valid. Check length, prefix and the used characters."
_ID_ATTEMPTS = 5  # a 17-character random suffix collides practically never; bounded anyway
# botocore does not retry a transaction cancelled for throttling or a conflict; we do, a few times, jittered.
_CANCELLATION_ATTEMPTS = 3
_CANCELLATION_BACKOFF_S = 0.05


def backbone_item(draft: TokenDraft, token_id: str, created_at: datetime) -> Item:
    details = draft.details
    item: Item = {
        "id": str_value(token_id),
        "content": str_value(draft.content_cipher),
        "createdBy": str_value(details.created_by),
        "createdByDevice": str_value(details.created_by_device),
        "createdAt": timestamp(created_at),
        "expiresAt": timestamp(details.expires_at),
        "ttl": epoch(details.expires_at),
        "failedAttempts": {"N": "0"},
    }
    if details.for_identity:
        item["forIdentity"] = str_value(details.for_identity)
    if draft.password_hash:
        item["passwordHash"] = bytes_value(draft.password_hash)
    return item


class DynamoBackbone:
    """TokenPublisher and PeerTokenReader on the backbone table; kept tokens' records go to `records`."""

    def __init__(
        self,
        table_name: str,
        records: DynamoRecordsRepository,
        client: DynamoDBClient,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.table_name = table_name
        self.records = records
        self.publication = PublicationRecords(records)
        self.client = client
        self._clock = clock

    # --- TokenPublisher --------------------------------------------------------------------------------

    def publish(self, write: TokenWrite) -> Token:
        for_identity = write.draft.details.for_identity
        if for_identity is not None and not is_backbone_address(for_identity):
            # What the real Backbone answers (and a Connector passes through): its check is stricter than the
            # runtime's pattern (lower case, at most 80 characters, the checksum).
            raise DomainError(ErrorKind.BACKBONE_VALIDATION, INVALID_FOR_IDENTITY)
        for _ in range(_ID_ATTEMPTS):
            token = Token(new_token_id(), self._clock(), write.draft.details)
            # Built once per id: every attempt under one request token must send the same items.
            token_item = backbone_item(write.draft, token.id, token.created_at)
            items = [put_new(self.table_name, token_item), *self.publication.items(write, token)]
            try:
                self._write_retrying_cancellations(token_item, items)
                return token
            except Exception as exc:
                if command_already_recorded(exc, write, len(items)):
                    raise CommandAlreadyRecorded from None
                if not is_condition_failure(exc):  # else the id was taken: try another
                    raise
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)

    def _write_retrying_cancellations(self, token_item: Item, items: list[TransactWriteItemTypeDef]) -> None:
        # One request token per token id: botocore's own retries of a transaction whose answer was lost are
        # then idempotent on DynamoDB instead of colliding with the token they just wrote.
        request_token = secrets.token_urlsafe(24)
        for attempt in range(1, _CANCELLATION_ATTEMPTS + 1):
            try:
                with storage_errors():
                    if len(items) == 1:
                        self._put_token(token_item)
                    else:
                        self.client.transact_write_items(TransactItems=items, ClientRequestToken=request_token)
                return
            except DomainError as error:
                transient = error.kind is ErrorKind.SERVICE_UNAVAILABLE and is_transient_cancellation(
                    error.__cause__ or error
                )
                if not transient or attempt == _CANCELLATION_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, _CANCELLATION_BACKOFF_S * 2**attempt))  # noqa: S311 - jitter only

    def _put_token(self, token_item: Item) -> None:
        """A conditional put that recognises its own earlier write when botocore retried a lost answer."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=token_item,
                ConditionExpression=NEW_ITEM,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            existing: Item | None = exc.response.get("Item")  # type: ignore[assignment]
            if existing is not None and existing.get("content") == token_item["content"]:
                return  # our own write (the cipher has a fresh random nonce): it did succeed
            raise

    # --- TokenRevoker ----------------------------------------------------------------------------------

    def revoke(self, token: Token) -> None:
        """The token and its record in one transaction; a record that went meanwhile is a 404 (revoked already)."""
        items: list[Any] = [
            {"Delete": {"TableName": self.table_name, "Key": {"id": str_value(token.id)}}},
            self.records.delete_token_item(token.id),
        ]
        try:
            with storage_errors():
                self.client.transact_write_items(TransactItems=items)
        except Exception as exc:
            if is_condition_failure(exc):
                raise DomainError(ErrorKind.TOKEN_RECORD_NOT_FOUND) from None
            raise

    # --- BackboneHealth ---------------------------------------------------------------------------------

    def check_version(self) -> bool:
        """This deployment's own backbone speaks our version: whether its table answers is all there is to check."""
        return table_answers(self.client, self.table_name)

    def check_login(self) -> bool:
        """Nothing signs in to the embedded backbone: nothing can fail."""
        return True

    # --- PeerTokenReader -------------------------------------------------------------------------------

    def _live_item(self, token_id: str) -> Item | None:
        with storage_errors():
            item = self.client.get_item(
                TableName=self.table_name, Key={"id": str_value(token_id)}, ConsistentRead=True
            ).get("Item")
        # TTL deletion lags by up to days: an expired item counts as absent.
        expires_at = read_time(item, "expiresAt") if item else None
        return None if not item or (expires_at is not None and expires_at <= self._clock()) else item

    def exists(self, token_id: str) -> bool:
        return self._live_item(token_id) is not None

    def fetch_for_peer(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        item = self._live_item(token_id)
        if item is None:
            raise DomainError(ErrorKind.TOKEN_NOT_FOUND)
        if int(item["failedAttempts"]["N"]) >= LOCK_AFTER_FAILED_ATTEMPTS:
            raise DomainError(ErrorKind.TOKEN_LOCKED)
        expected_hash = read_bytes(item, "passwordHash")
        if expected_hash is not None:
            self._check_password(token_id, expected_hash, password_hash)
        result = {
            "id": token_id,
            "createdBy": read_str(item, "createdBy"),
            "createdByDevice": read_str(item, "createdByDevice"),
            "content": read_str(item, "content"),
            "createdAt": read_str(item, "createdAt"),
            "expiresAt": read_str(item, "expiresAt"),
        }
        if "forIdentity" in item:
            result["forIdentity"] = read_str(item, "forIdentity")
        return result

    def fetch_for_service(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        """The embedded backbone has no logins: the service reads as any peer does (passwords counted alike)."""
        return self.fetch_for_peer(token_id, password_hash)

    def _check_password(self, token_id: str, expected_hash: bytes, password_hash: bytes | None) -> None:
        """Compare first (constant time), then count a wrong or missing password; a right one is never counted.

        So concurrent right passwords at 99 failures all succeed, and nothing has to be given back. The count is
        one atomic, conditional ADD: the attempt that reaches 100 and every later one are "locked", and however
        many race, the count stops at exactly 100. If a wrong attempt cannot be counted (throttling, an outage),
        it is answered 503, never 404: as with the Backbone, whose failed database write answers 500.
        """
        if password_hash is not None and secrets_equal(expected_hash, password_hash):
            return
        failures = self._count_failure(token_id)
        if failures is None:  # not counted: locked by a concurrent attempt, or gone (expired, revoked) meanwhile
            locked = self._live_item(token_id) is not None
            raise DomainError(ErrorKind.TOKEN_LOCKED if locked else ErrorKind.TOKEN_NOT_FOUND)
        metrics.count(metrics.WRONG_PASSWORDS)
        if failures == LOCK_AFTER_FAILED_ATTEMPTS:
            metrics.count(metrics.TOKENS_LOCKED)
        raise DomainError(
            ErrorKind.TOKEN_LOCKED if failures >= LOCK_AFTER_FAILED_ATTEMPTS else ErrorKind.TOKEN_NOT_FOUND
        )

    def _count_failure(self, token_id: str) -> int | None:
        """The new count, or None when nothing was counted: the token is at the limit, or gone."""
        try:
            with storage_errors():
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key={"id": str_value(token_id)},
                    UpdateExpression="ADD failedAttempts :one",
                    ConditionExpression="attribute_exists(id) AND failedAttempts < :limit",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(LOCK_AFTER_FAILED_ATTEMPTS)}},
                    ReturnValues="UPDATED_NEW",
                )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return None
        return int(response["Attributes"]["failedAttempts"]["N"])
