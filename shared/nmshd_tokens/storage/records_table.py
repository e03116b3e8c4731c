"""The records table: the service identity's Files and RelationshipTemplates, and the tokens it keeps (SPEC §8).

Key `id`; `type` says what an item is. A kept token's item holds what its DTO and reference are rebuilt from; TTL
(`ttl`) removes it a retention period after it expires, and reads treat it as gone from then on (TTL lags).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_RETENTION_DAYS
from ..domain.clock import epoch_seconds, utc_now
from ..domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from ..domain.ids import is_file_id
from ..domain.tokens import Token
from ..usecases.ports import CONNECTOR_SOURCE, StoredRecord
from .attributes import Item, bytes_value, epoch, read_bytes, read_int, read_str, read_time, str_value, timestamp
from .dynamodb import NEW_ITEM, is_condition_failure, storage_errors, table_answers
from .token_item import token_attributes, token_from_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TOKENS_BY_CREATION = "TokensByCreation"  # the index of kept tokens: partition `type`, sort `createdAt`
OWN_TOKEN, PEER_TOKEN = "Token", "PeerToken"  # the `type` of an own token's record and of a loaded peer token's


class DynamoRecordsRepository:
    """Files, RelationshipTemplates and kept Tokens of the service identity."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.table_name = table_name
        self.client = client
        self.retention_days = retention_days
        self._clock = clock

    def _get(self, record_id: str, record_type: str) -> Item | None:
        with storage_errors():
            item = self.client.get_item(TableName=self.table_name, Key={"id": str_value(record_id)}).get("Item")
        if not item or read_str(item, "type") != record_type:
            return None
        return item

    def get_file(self, file_id: str) -> FileRecord | None:
        item = self._get(file_id, "File")
        return None if item is None else _file_from_item(file_id, item)

    def get_template(self, template_id: str) -> TemplateRecord | None:
        item = self._get(template_id, "RelationshipTemplate")
        return None if item is None else _template_from_item(template_id, item)

    # --- the Connector's copies (SPEC §15) ---------------------------------------------------------------

    def get_stored(self, record_id: str) -> StoredRecord | None:
        """A File or RelationshipTemplate (by its id's prefix) with where it came from: one read."""
        record_type = "File" if is_file_id(record_id) else "RelationshipTemplate"
        item = self._get(record_id, record_type)
        if item is None:
            return None
        record = _file_from_item(record_id, item) if record_type == "File" else _template_from_item(record_id, item)
        read_at = read_int(item, "readAt") if read_str(item, "source") == CONNECTOR_SOURCE else None
        return StoredRecord(record, read_at)

    def put_connector_copy(self, record: FileRecord | TemplateRecord, read_at: float) -> str | None:
        """Store a record read from the Connector: "added", "refreshed", or None when the tooling's record with that
        id is there (it is never overwritten)."""
        item = _file_item(record) if isinstance(record, FileRecord) else _template_item(record)
        item |= {"source": str_value(CONNECTOR_SOURCE), "readAt": {"N": str(int(read_at))}}
        try:
            with storage_errors():
                previous = self.client.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression="attribute_not_exists(id) OR #source = :connector",
                    ExpressionAttributeNames={"#source": "source"},
                    ExpressionAttributeValues={":connector": str_value(CONNECTOR_SOURCE)},
                    ReturnValues="ALL_OLD",
                )
        except Exception as exc:
            if is_condition_failure(exc):
                return None
            raise
        return "refreshed" if previous.get("Attributes") else "added"

    def delete_connector_copy(self, record_id: str) -> bool:
        """Remove a Connector's copy (the Connector no longer has it); a record of the tooling stays."""
        try:
            with storage_errors():
                self.client.delete_item(
                    TableName=self.table_name,
                    Key={"id": str_value(record_id)},
                    ConditionExpression="#source = :connector",
                    ExpressionAttributeNames={"#source": "source"},
                    ExpressionAttributeValues={":connector": str_value(CONNECTOR_SOURCE)},
                )
        except Exception as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def connector_copy_ids(self) -> list[str]:
        """The ids of every Connector copy (records sync: what the Connector no longer has is removed)."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#source = :connector",
            "ProjectionExpression": "id",
            "ExpressionAttributeNames": {"#source": "source"},
            "ExpressionAttributeValues": {":connector": str_value(CONNECTOR_SOURCE)},
        }
        while True:
            with storage_errors():
                page = self.client.scan(**kwargs)
            ids.extend(read_str(item, "id") or "" for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_token(self, token_id: str) -> Token | None:
        """A kept token, own or peer, also after it expired, until its retention ends."""
        with storage_errors():
            item = self.client.get_item(TableName=self.table_name, Key={"id": str_value(token_id)}).get("Item")
        if not item or read_str(item, "type") not in (OWN_TOKEN, PEER_TOKEN) or self._retention_ended(item):
            return None
        return token_from_attributes(token_id, item)

    def _retention_ended(self, item: Item) -> bool:
        return (read_int(item, "ttl") or 0) <= epoch_seconds(self._clock())

    def tokens(self, created_from: str | None = None, created_to: str | None = None) -> Iterator[Token]:
        """Kept own tokens, oldest first, from the index (never a table scan); createdAt bounds are inclusive text."""
        return self._tokens(OWN_TOKEN, created_from, created_to)

    def peer_tokens(self, created_from: str | None = None, created_to: str | None = None) -> Iterator[Token]:
        """Kept peer tokens, as `tokens` reads own ones: their records have a `type` of their own in the index."""
        return self._tokens(PEER_TOKEN, created_from, created_to)

    def _tokens(self, record_type: str, created_from: str | None, created_to: str | None) -> Iterator[Token]:
        condition, values = "#type = :token", {":token": str_value(record_type)}
        if created_from is not None and created_to is not None:
            condition += " AND createdAt BETWEEN :from AND :to"
            values |= {":from": str_value(created_from), ":to": str_value(created_to)}
        elif created_from is not None:
            condition += " AND createdAt >= :from"
            values[":from"] = str_value(created_from)
        elif created_to is not None:
            condition += " AND createdAt <= :to"
            values[":to"] = str_value(created_to)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": TOKENS_BY_CREATION,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#type": "type"},
            "ExpressionAttributeValues": values,
        }
        while True:
            with storage_errors():
                page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                if not self._retention_ended(item):
                    yield token_from_attributes(read_str(item, "id") or "", item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_token(self, token_id: str) -> None:
        """A kept token's record (a revoke, after the remote Backbone deleted the token)."""
        with storage_errors():
            self.client.delete_item(TableName=self.table_name, Key={"id": str_value(token_id)})

    def delete_token_item(self, token_id: str) -> TransactWriteItemTypeDef:
        """The record's part of a revoke's transaction: it fails if the record went meanwhile."""
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": {"id": str_value(token_id)},
                "ConditionExpression": "attribute_exists(id)",
            }
        }

    def answers(self) -> bool:
        """Whether the table answers (the health check)."""
        return table_answers(self.client, self.table_name)

    def token_item(self, token: Token) -> Item:
        """A kept token's item (what a publication puts, unless the token is ephemeral)."""
        record_type = OWN_TOKEN if token.details.is_own else PEER_TOKEN
        item = {"id": str_value(token.id), "type": str_value(record_type), **token_attributes(token)}
        item["ttl"] = epoch(token.details.expires_at, self.retention_days)
        return item

    def put_peer_token(self, token: Token) -> None:
        """Keep a loaded peer token (same retention as an own one), never in place of an own token's record.

        A concurrent load of the same token writes the same record: the last write wins, and either is right.
        """
        try:
            with storage_errors():
                self.client.put_item(
                    TableName=self.table_name,
                    Item=self.token_item(token),
                    ConditionExpression="attribute_not_exists(id) OR #type = :peer",
                    ExpressionAttributeNames={"#type": "type"},
                    ExpressionAttributeValues={":peer": str_value(PEER_TOKEN)},
                )
        except Exception as exc:
            if not is_condition_failure(exc):
                raise
            # Our own token's record: it stays (the token is ours, and kept already).

    # --- local tooling: Files and RelationshipTemplates ------------------------------------------------------

    def put_file(self, record: FileRecord) -> None:
        self._put_new(_file_item(record))

    def put_template(self, record: TemplateRecord) -> None:
        self._put_new(_template_item(record))

    def _put_new(self, item: Item) -> None:
        with storage_errors():
            self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression=NEW_ITEM)

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
            record_id, record_type = read_str(item, "id") or "", read_str(item, "type")
            if record_type == "File":
                found.append(self.get_file(record_id))
            elif record_type == "RelationshipTemplate":
                found.append(self.get_template(record_id))
        return sorted((record for record in found if record is not None), key=lambda record: record.id)


# --- items of Files and RelationshipTemplates -------------------------------------------------------------


def _file_from_item(file_id: str, item: Item) -> FileRecord:
    return FileRecord(file_id, read_bytes(item, "secretKey") or b"", read_time(item, "expiresAt"))


def _template_from_item(template_id: str, item: Item) -> TemplateRecord:
    protection = None
    if "passwordType" in item:
        protection = StoredPasswordProtection(
            password=read_str(item, "password") or "",
            password_type=read_str(item, "passwordType") or "pw",
            salt=read_bytes(item, "salt") or b"",
            location_indicator=read_int(item, "passwordLocationIndicator"),
        )
    return TemplateRecord(
        id=template_id,
        secret_key=read_bytes(item, "secretKey") or b"",
        expires_at=read_time(item, "expiresAt"),
        is_own=bool(item.get("isOwn", {}).get("BOOL", True)),
        for_identity=read_str(item, "forIdentity"),
        password_protection=protection,
    )


def _file_item(record: FileRecord) -> Item:
    item: Item = {"id": str_value(record.id), "type": str_value("File"), "secretKey": bytes_value(record.secret_key)}
    if record.expires_at:
        item |= {"expiresAt": timestamp(record.expires_at), "ttl": epoch(record.expires_at)}
    return item


def _template_item(record: TemplateRecord) -> Item:
    item: Item = {
        "id": str_value(record.id),
        "type": str_value("RelationshipTemplate"),
        "secretKey": bytes_value(record.secret_key),
        "isOwn": {"BOOL": record.is_own},
    }
    if record.expires_at:
        item |= {"expiresAt": timestamp(record.expires_at), "ttl": epoch(record.expires_at)}
    if record.for_identity:
        item["forIdentity"] = str_value(record.for_identity)
    if record.password_protection:
        protection = record.password_protection
        item |= {
            "password": str_value(protection.password),
            "passwordType": str_value(protection.password_type),
            "salt": bytes_value(protection.salt),
        }
        if protection.location_indicator is not None:
            item["passwordLocationIndicator"] = {"N": str(protection.location_indicator)}
    return item
