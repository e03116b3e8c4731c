"""DynamoDB adapters: the records table and the embedded backbone table (SPEC §8, §9).

This is the only layer that touches boto3. Every AWS failure leaves here as a DomainError.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..domain.crypto import secrets_equal
from ..domain.errors import DomainError, ErrorKind, format_timestamp
from ..domain.ids import new_token_id
from ..domain.models import (
    FileRecord,
    PublishedToken,
    StoredPasswordProtection,
    StoredToken,
    TemplateRecord,
    TokenDraft,
)
from ..domain.validation import parse_iso_datetime
from .ports import CommandAlreadyRecorded, TransactItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger("nmshd-tokens.dynamodb")  # a child of the Powertools logger: its JSON lines

LOCK_AFTER_FAILED_ATTEMPTS = 100
_ID_ATTEMPTS = 5  # a 17-character random suffix collides practically never; bounded anyway
_NEW_ID = "attribute_not_exists(id)"  # the condition of every token write: never overwrite a token
# botocore does not retry a transaction cancelled for throttling or a conflict; we do, a few times, jittered.
_CANCELLATION_ATTEMPTS = 3
_CANCELLATION_BACKOFF_S = 0.05
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
Item = dict[str, Any]


@lru_cache(maxsize=4)
def dynamodb_client(endpoint_url: str | None = None) -> DynamoDBClient:
    """One client per process (cold start pays for it once). Standard retries with jittered backoff."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        tcp_keepalive=True,
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Map throttling, outages and timeouts to 503; anything else stays unexpected (500)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _TRANSIENT_CODES or _is_transient_cancellation(exc):
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from exc
        raise
    except (ConnectionError, HTTPClientError) as exc:  # timeouts and refused connections included
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from exc


def _cancellation_codes(exc: BaseException) -> list[str]:
    response = getattr(exc, "response", {}) or {}
    reasons = response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


def _is_transient_cancellation(exc: BaseException) -> bool:
    codes = _cancellation_codes(exc)
    return any(code in _TRANSIENT_CODES or code == "ThrottlingError" for code in codes)


def _is_id_collision(exc: Exception) -> bool:
    response = getattr(exc, "response", {}) or {}
    code = response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    return code == "TransactionCanceledException" and "ConditionalCheckFailed" in _cancellation_codes(exc)


# --- attribute helpers -------------------------------------------------------------------------------


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _epoch(moment: datetime) -> dict[str, str]:
    return {"N": str(int(moment.timestamp()))}


def _get_s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value else None


def _get_b(item: Item, name: str) -> bytes | None:
    value = item.get(name)
    return bytes(value["B"]) if value else None


def _get_time(item: Item, name: str) -> datetime | None:
    text = _get_s(item, name)
    return parse_iso_datetime(text) if text else None


def _is_expired(item: Item, now: datetime) -> bool:
    expires_at = _get_time(item, "expiresAt")
    return expires_at is not None and expires_at <= now


# --- records table -----------------------------------------------------------------------------------


class UsesDynamoDB:
    """The process's DynamoDB client, built on first use unless one is passed in (tests, fault injection)."""

    _client: DynamoDBClient | None

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = dynamodb_client(os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"))
        return self._client


class DynamoRecordsRepository(UsesDynamoDB):
    """Files, RelationshipTemplates and non-ephemeral Tokens of the service identity."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    def _get(self, record_id: str, record_type: str) -> Item | None:
        with storage_errors():
            item = self.client.get_item(TableName=self.table_name, Key={"id": _s(record_id)}).get("Item")
        if not item or _get_s(item, "type") != record_type:
            return None
        return item

    def get_file(self, file_id: str) -> FileRecord | None:
        item = self._get(file_id, "File")
        if item is None:
            return None
        return FileRecord(file_id, _get_b(item, "secretKey") or b"", _get_time(item, "expiresAt"))

    def get_template(self, template_id: str) -> TemplateRecord | None:
        item = self._get(template_id, "RelationshipTemplate")
        if item is None:
            return None
        protection = None
        if "passwordType" in item:
            indicator = item.get("passwordLocationIndicator")
            protection = StoredPasswordProtection(
                password=_get_s(item, "password") or "",
                password_type=_get_s(item, "passwordType") or "pw",
                salt=_get_b(item, "salt") or b"",
                location_indicator=int(indicator["N"]) if indicator else None,
            )
        return TemplateRecord(
            id=template_id,
            secret_key=_get_b(item, "secretKey") or b"",
            expires_at=_get_time(item, "expiresAt"),
            is_own=bool(item.get("isOwn", {}).get("BOOL", True)),
            for_identity=_get_s(item, "forIdentity"),
            password_protection=protection,
        )

    def get_token(self, token_id: str) -> dict[str, Any] | None:
        item = self._get(token_id, "Token")
        if item is None or _is_expired(item, datetime.now(UTC)):
            return None
        dto: dict[str, Any] = json.loads(_get_s(item, "dto") or "{}")
        return dto

    def put_file(self, record: FileRecord) -> None:
        item: Item = {"id": _s(record.id), "type": _s("File"), "secretKey": {"B": record.secret_key}}
        if record.expires_at:
            item |= {"expiresAt": _s(format_timestamp(record.expires_at)), "ttl": _epoch(record.expires_at)}
        self._put_new(item)

    def put_template(self, record: TemplateRecord) -> None:
        item: Item = {
            "id": _s(record.id),
            "type": _s("RelationshipTemplate"),
            "secretKey": {"B": record.secret_key},
            "isOwn": {"BOOL": record.is_own},
        }
        if record.expires_at:
            item |= {"expiresAt": _s(format_timestamp(record.expires_at)), "ttl": _epoch(record.expires_at)}
        if record.for_identity:
            item["forIdentity"] = _s(record.for_identity)
        if record.password_protection:
            protection = record.password_protection
            item |= {
                "password": _s(protection.password),
                "passwordType": _s(protection.password_type),
                "salt": {"B": protection.salt},
            }
            if protection.location_indicator is not None:
                item["passwordLocationIndicator"] = {"N": str(protection.location_indicator)}
        self._put_new(item)

    def put_token(self, stored: StoredToken, token_id: str) -> None:
        """A non-ephemeral token's record on its own (remote mode: written after the Backbone accepted it)."""
        self._put_new(token_record_item(stored, token_id))

    def _put_new(self, item: Item) -> None:
        with storage_errors():
            self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(id)")

    def list_records(self, limit: int = 1000) -> list[Item]:
        """Every record (for local tooling); raw attribute maps."""
        items: list[Item] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name}
        with storage_errors():
            while len(items) < limit:
                page = self.client.scan(**kwargs)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items[:limit]

    def list_own_records(self, limit: int = 1000) -> list[FileRecord | TemplateRecord]:
        """Files and RelationshipTemplates, sorted by id (for local tooling).

        Each is read back through get_file/get_template, so there is one item-to-record mapping; local tables
        hold a handful of records, so the extra reads cost nothing that matters.
        """
        found: list[FileRecord | TemplateRecord | None] = []
        for item in self.list_records(limit):
            record_id, record_type = _get_s(item, "id") or "", _get_s(item, "type")
            if record_type == "File":
                found.append(self.get_file(record_id))
            elif record_type == "RelationshipTemplate":
                found.append(self.get_template(record_id))
        return sorted((record for record in found if record is not None), key=lambda record: record.id)


def token_record_item(stored: StoredToken, token_id: str) -> Item:
    return {
        "id": _s(token_id),
        "type": _s("Token"),
        "dto": _s(json.dumps(stored.dto, separators=(",", ":"))),
        "secretKey": {"B": stored.secret_key},
        "expiresAt": _s(format_timestamp(stored.expires_at)),
        "ttl": _epoch(stored.expires_at),
    }


# --- embedded backbone table -------------------------------------------------------------------------


def backbone_item(draft: TokenDraft, token_id: str, created_at: datetime) -> Item:
    item: Item = {
        "id": _s(token_id),
        "content": _s(draft.content_cipher),
        "createdBy": _s(draft.created_by),
        "createdByDevice": _s(draft.created_by_device),
        "createdAt": _s(format_timestamp(created_at)),
        "expiresAt": _s(format_timestamp(draft.expires_at)),
        "ttl": _epoch(draft.expires_at),
        "failedAttempts": {"N": "0"},
    }
    if draft.for_identity:
        item["forIdentity"] = _s(draft.for_identity)
    if draft.password_hash:
        item["passwordHash"] = {"B": draft.password_hash}
    return item


class DynamoBackbone(UsesDynamoDB):
    """The embedded backbone: publishes tokens and serves them to peers as the real Backbone does."""

    supports_transactions = True

    def __init__(
        self,
        backbone_table: str,
        records_table: str,
        client: DynamoDBClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.backbone_table = backbone_table
        self.records_table = records_table
        self._client = client
        self._clock = clock

    def publish(
        self,
        draft: TokenDraft,
        keep: Callable[[PublishedToken], StoredToken] | None,
        *,
        also: Callable[[PublishedToken], TransactItem] | None = None,
    ) -> PublishedToken:
        """`also`: one more conditional write (a command's idempotency record) in the token's transaction."""
        for _ in range(_ID_ATTEMPTS):
            published = PublishedToken(new_token_id(), self._clock())
            try:
                self._write_retrying_cancellations(draft, published, keep, also)
                return published
            except Exception as exc:
                # `also` is the last item; its condition failing is not an id collision (a new id cannot help).
                if also is not None and _cancellation_codes(exc)[-1:] == ["ConditionalCheckFailed"]:
                    raise CommandAlreadyRecorded from None
                if not _is_id_collision(exc):
                    raise
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)

    def _write_retrying_cancellations(
        self,
        draft: TokenDraft,
        published: PublishedToken,
        keep: Callable[[PublishedToken], StoredToken] | None,
        also: Callable[[PublishedToken], TransactItem] | None,
    ) -> None:
        token_item = backbone_item(draft, published.id, published.created_at)
        # Built once: every attempt under one request token must send the same items.
        items = None if keep is None and also is None else self._transaction_items(token_item, published, keep, also)
        # One request token per token id: botocore's own retries of a transaction whose answer was lost are
        # then idempotent on DynamoDB instead of colliding with the token they just wrote.
        request_token = secrets.token_urlsafe(24)
        for attempt in range(1, _CANCELLATION_ATTEMPTS + 1):
            try:
                self._write(token_item, items, request_token)
                return
            except DomainError as error:
                transient = error.kind is ErrorKind.SERVICE_UNAVAILABLE and _is_transient_cancellation(
                    error.__cause__ or error
                )
                if not transient or attempt == _CANCELLATION_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, _CANCELLATION_BACKOFF_S * 2**attempt))  # noqa: S311 - jitter only

    def _transaction_items(
        self,
        token_item: Item,
        published: PublishedToken,
        keep: Callable[[PublishedToken], StoredToken] | None,
        also: Callable[[PublishedToken], TransactItem] | None,
    ) -> list[Any]:
        """A token in both tables (and with its command record) or in none."""
        items: list[Any] = [
            {"Put": {"TableName": self.backbone_table, "Item": token_item, "ConditionExpression": _NEW_ID}}
        ]
        if keep is not None:
            record = token_record_item(keep(published), published.id)
            items.append({"Put": {"TableName": self.records_table, "Item": record, "ConditionExpression": _NEW_ID}})
        if also is not None:
            items.append(also(published))
        return items

    def _write(self, token_item: Item, items: list[Any] | None, request_token: str) -> None:
        with storage_errors():
            if items is None:
                self._put_token(token_item)
            else:
                self.client.transact_write_items(TransactItems=items, ClientRequestToken=request_token)

    def _put_token(self, token_item: Item) -> None:
        """A conditional put that recognises its own earlier write when botocore retried a lost answer."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_item(
                TableName=self.backbone_table,
                Item=token_item,
                ConditionExpression=_NEW_ID,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            existing: Item | None = exc.response.get("Item")  # type: ignore[assignment]
            if existing is not None and existing.get("content") == token_item["content"]:
                return  # our own write (the cipher has a fresh random nonce): it did succeed
            raise

    def _live_item(self, token_id: str) -> Item | None:
        with storage_errors():
            item = self.client.get_item(
                TableName=self.backbone_table, Key={"id": _s(token_id)}, ConsistentRead=True
            ).get("Item")
        # TTL deletion lags by up to days: an expired item counts as absent.
        return None if not item or _is_expired(item, self._clock()) else item

    def exists(self, token_id: str) -> bool:
        return self._live_item(token_id) is not None

    def fetch_for_peer(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        item = self._live_item(token_id)
        if item is None:
            raise DomainError(ErrorKind.TOKEN_NOT_FOUND)
        if int(item["failedAttempts"]["N"]) >= LOCK_AFTER_FAILED_ATTEMPTS:
            raise DomainError(ErrorKind.TOKEN_LOCKED)
        expected_hash = _get_b(item, "passwordHash")
        if expected_hash is not None:
            self._check_password(token_id, expected_hash, password_hash)
        result = {
            "id": token_id,
            "createdBy": _get_s(item, "createdBy"),
            "createdByDevice": _get_s(item, "createdByDevice"),
            "content": _get_s(item, "content"),
            "createdAt": _get_s(item, "createdAt"),
            "expiresAt": _get_s(item, "expiresAt"),
        }
        if "forIdentity" in item:
            result["forIdentity"] = _get_s(item, "forIdentity")
        return result

    def _check_password(self, token_id: str, expected_hash: bytes, password_hash: bytes | None) -> None:
        """Count the attempt first, compare second, and give the count back on success.

        Counting first means an outage of the counter answers right and wrong passwords alike (503), so it
        can never serve as an uncounted password oracle. Concurrent attempts are all counted (atomic ADD).
        """
        failures = self._add_to_failures(token_id, 1)
        if password_hash is not None and secrets_equal(expected_hash, password_hash):
            try:
                self._add_to_failures(token_id, -1)
            except DomainError:
                logger.warning("could not give back a counted attempt after a right password")
            return
        raise DomainError(
            ErrorKind.TOKEN_LOCKED if failures >= LOCK_AFTER_FAILED_ATTEMPTS else ErrorKind.TOKEN_NOT_FOUND
        )

    def _add_to_failures(self, token_id: str, delta: int) -> int:
        """Atomic; an increment only while the token is not locked (a locked token counts nothing more)."""
        from botocore.exceptions import ClientError

        condition = "attribute_exists(id)"
        values = {":delta": {"N": str(delta)}}
        if delta > 0:
            condition += " AND failedAttempts < :limit"
            values[":limit"] = {"N": str(LOCK_AFTER_FAILED_ATTEMPTS)}
        try:
            with storage_errors():
                response = self.client.update_item(
                    TableName=self.backbone_table,
                    Key={"id": _s(token_id)},
                    UpdateExpression="ADD failedAttempts :delta",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # Locked meanwhile, or deleted (expired) meanwhile.
            raise DomainError(ErrorKind.TOKEN_LOCKED if delta > 0 else ErrorKind.TOKEN_NOT_FOUND) from None
        return int(response["Attributes"]["failedAttempts"]["N"])
