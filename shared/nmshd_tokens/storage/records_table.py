"""The records table: the service identity's Files and RelationshipTemplates, and the tokens it keeps (SPEC §8).

Key `id`; `type` says what an item is. A kept token's item holds what its DTO and reference are rebuilt from; TTL
(`ttl`) removes it a retention period after it expires, and reads treat it as gone from then on (TTL lags).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.clock import epoch_seconds, utc_now
from ..domain.json_codec import dumps_compact
from ..domain.records import FileRecord, StoredPasswordProtection, TemplateRecord
from ..domain.tokens import Token, TokenDetails, TokenPassword
from ..usecases.ports import CommandAlreadyRecorded, TokenWrite
from .dynamodb import (
    NEW_ITEM,
    Item,
    b,
    cancellation_codes,
    epoch,
    get_b,
    get_n,
    get_s,
    get_time,
    is_condition_failure,
    s,
    storage_errors,
    table_answers,
    timestamp,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

DEFAULT_RETENTION_DAYS = 30
TOKENS_BY_CREATION = "TokensByCreation"  # the index of kept tokens: partition `type` = "Token", sort `createdAt`


# --- a token as attributes (the records table's items and the command records share this) ----------------


def token_attributes(token: Token) -> Item:
    details = token.details
    item: Item = {
        "createdAt": timestamp(token.created_at),
        "expiresAt": timestamp(details.expires_at),
        "createdBy": s(details.created_by),
        "createdByDevice": s(details.created_by_device),
        "content": s(dumps_compact(details.content)),
        "secretKey": b(details.secret_key),
        "backboneBaseUrl": s(details.backbone_base_url),
        "isEphemeral": {"BOOL": details.ephemeral},
    }
    if details.for_identity:
        item["forIdentity"] = s(details.for_identity)
    if details.password:
        item |= {"password": s(details.password.password), "salt": b(details.password.salt)}
        if details.password.is_pin:
            item["passwordIsPin"] = {"BOOL": True}
        if details.password.location_indicator is not None:
            item["passwordLocationIndicator"] = {"N": str(details.password.location_indicator)}
    return item


def token_from_attributes(token_id: str, item: Item) -> Token:
    password = None
    if "password" in item:
        password = TokenPassword(
            password=get_s(item, "password") or "",
            salt=get_b(item, "salt") or b"",
            is_pin=bool(item.get("passwordIsPin", {}).get("BOOL", False)),
            location_indicator=get_n(item, "passwordLocationIndicator"),
        )
    created_at, expires_at = get_time(item, "createdAt"), get_time(item, "expiresAt")
    if created_at is None or expires_at is None:
        raise ValueError("a token item has createdAt and expiresAt")
    details = TokenDetails(
        content=json.loads(get_s(item, "content") or "{}"),
        secret_key=get_b(item, "secretKey") or b"",
        created_by=get_s(item, "createdBy") or "",
        created_by_device=get_s(item, "createdByDevice") or "",
        expires_at=expires_at,
        backbone_base_url=get_s(item, "backboneBaseUrl") or "",
        ephemeral=bool(item.get("isEphemeral", {}).get("BOOL", False)),
        for_identity=get_s(item, "forIdentity"),
        password=password,
    )
    return Token(token_id, created_at, details)


def put_new(table: str, item: Item) -> TransactWriteItemTypeDef:
    """One conditional Put of a transaction: it fails (and with it the transaction) if the id is taken."""
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": NEW_ITEM}}


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
            item = self.client.get_item(TableName=self.table_name, Key={"id": s(record_id)}).get("Item")
        if not item or get_s(item, "type") != record_type:
            return None
        return item

    def get_file(self, file_id: str) -> FileRecord | None:
        item = self._get(file_id, "File")
        if item is None:
            return None
        return FileRecord(file_id, get_b(item, "secretKey") or b"", get_time(item, "expiresAt"))

    def get_template(self, template_id: str) -> TemplateRecord | None:
        item = self._get(template_id, "RelationshipTemplate")
        if item is None:
            return None
        protection = None
        if "passwordType" in item:
            protection = StoredPasswordProtection(
                password=get_s(item, "password") or "",
                password_type=get_s(item, "passwordType") or "pw",
                salt=get_b(item, "salt") or b"",
                location_indicator=get_n(item, "passwordLocationIndicator"),
            )
        return TemplateRecord(
            id=template_id,
            secret_key=get_b(item, "secretKey") or b"",
            expires_at=get_time(item, "expiresAt"),
            is_own=bool(item.get("isOwn", {}).get("BOOL", True)),
            for_identity=get_s(item, "forIdentity"),
            password_protection=protection,
        )

    def get_token(self, token_id: str) -> Token | None:
        """A kept token, also after it expired, until its retention ends."""
        item = self._get(token_id, "Token")
        if item is None or self._retention_ended(item):
            return None
        return token_from_attributes(token_id, item)

    def _retention_ended(self, item: Item) -> bool:
        return (get_n(item, "ttl") or 0) <= epoch_seconds(self._clock())

    def tokens(self, created_from: str | None = None, created_to: str | None = None) -> Iterator[Token]:
        """Kept tokens, oldest first, from the index (never a table scan); createdAt bounds are inclusive text."""
        condition, values = "#type = :token", {":token": s("Token")}
        if created_from is not None and created_to is not None:
            condition += " AND createdAt BETWEEN :from AND :to"
            values |= {":from": s(created_from), ":to": s(created_to)}
        elif created_from is not None:
            condition += " AND createdAt >= :from"
            values[":from"] = s(created_from)
        elif created_to is not None:
            condition += " AND createdAt <= :to"
            values[":to"] = s(created_to)
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
                    yield token_from_attributes(get_s(item, "id") or "", item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_token(self, token_id: str) -> None:
        """A kept token's record (a revoke, after the remote Backbone deleted the token)."""
        with storage_errors():
            self.client.delete_item(TableName=self.table_name, Key={"id": s(token_id)})

    def delete_token_item(self, token_id: str) -> TransactWriteItemTypeDef:
        """The record's part of a revoke's transaction: it fails if the record went meanwhile."""
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": {"id": s(token_id)},
                "ConditionExpression": "attribute_exists(id)",
            }
        }

    def answers(self) -> bool:
        """Whether the table answers (the health check)."""
        return table_answers(self.client, self.table_name)

    # --- writes of a publication (both backbone adapters) --------------------------------------------------

    def token_item(self, token: Token) -> Item:
        item = {"id": s(token.id), "type": s("Token"), **token_attributes(token)}
        item["ttl"] = epoch(token.details.expires_at, self.retention_days)
        return item

    def publication_items(self, write: TokenWrite, token: Token) -> list[TransactWriteItemTypeDef]:
        """This table's part of a publication: the token's record (unless ephemeral), then the command's record."""
        from .command_log import command_item  # the command log lives in this table too

        items = [put_new(self.table_name, self.token_item(token))] if write.keeps_record else []
        if write.command is not None:
            items.append(put_new(self.table_name, command_item(write.command, token)))
        return items

    def write_publication(self, write: TokenWrite, token: Token) -> None:
        """This table's part after the token was published elsewhere (a remote Backbone): all of it or none."""
        items = self.publication_items(write, token)
        try:
            with storage_errors():
                if len(items) == 1:
                    self.client.put_item(**items[0]["Put"])
                elif items:
                    self.client.transact_write_items(TransactItems=items)
        except Exception as exc:
            if write.command is not None and _command_put_failed(exc, len(items)):
                raise CommandAlreadyRecorded from None
            raise

    # --- local tooling: Files and RelationshipTemplates ------------------------------------------------------

    def put_file(self, record: FileRecord) -> None:
        item: Item = {"id": s(record.id), "type": s("File"), "secretKey": b(record.secret_key)}
        if record.expires_at:
            item |= {"expiresAt": timestamp(record.expires_at), "ttl": epoch(record.expires_at)}
        self._put_new(item)

    def put_template(self, record: TemplateRecord) -> None:
        item: Item = {
            "id": s(record.id),
            "type": s("RelationshipTemplate"),
            "secretKey": b(record.secret_key),
            "isOwn": {"BOOL": record.is_own},
        }
        if record.expires_at:
            item |= {"expiresAt": timestamp(record.expires_at), "ttl": epoch(record.expires_at)}
        if record.for_identity:
            item["forIdentity"] = s(record.for_identity)
        if record.password_protection:
            protection = record.password_protection
            item |= {
                "password": s(protection.password),
                "passwordType": s(protection.password_type),
                "salt": b(protection.salt),
            }
            if protection.location_indicator is not None:
                item["passwordLocationIndicator"] = {"N": str(protection.location_indicator)}
        self._put_new(item)

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
            record_id, record_type = get_s(item, "id") or "", get_s(item, "type")
            if record_type == "File":
                found.append(self.get_file(record_id))
            elif record_type == "RelationshipTemplate":
                found.append(self.get_template(record_id))
        return sorted((record for record in found if record is not None), key=lambda record: record.id)


def _command_put_failed(exc: BaseException, item_count: int) -> bool:
    """The command's record is the last item; its condition failing means another delivery recorded it."""
    if item_count == 1:
        return is_condition_failure(exc)
    return cancellation_codes(exc)[-1:] == ["ConditionalCheckFailed"]
