"""Records of event-driven commands, kept in the records table.

A record lives at `command#<sha256 of the key>`: the key is the sender's idempotencyKey or the SQS message id,
hashed so that any string fits DynamoDB's key limits and no sender-chosen text lands in the key. The record that
names a token is written with the token (TokenWrite), so a token never exists without it; it holds the token
until the outputs are written, then only the token's id.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..domain.connector import QrForm
from ..domain.tokens import Token
from ..usecases.ports import CommandRecord
from .attributes import Item, epoch, read_str, str_value, timestamp
from .dynamodb import NEW_ITEM, is_condition_failure, storage_errors
from .token_item import token_attributes, token_from_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

RECORD_PREFIX = "command#"  # the batch role may update only items whose key starts with this (template.yaml)


def record_id(key: str) -> str:
    return RECORD_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


def command_item(record: CommandRecord, token: Token | None = None) -> Item:
    """The record's item; `token` (the one just published for it) overrides the record's own."""
    token = token or record.token
    item: Item = {
        "id": str_value(record_id(record.key)),
        "type": str_value("Command"),
        "messageId": str_value(record.message_id),
        "prefix": str_value(record.prefix),
        "state": str_value("done" if record.done else "published"),
        "expiresAt": timestamp(record.expires_at),
        "ttl": epoch(record.expires_at),
    }
    if token is not None:
        item["tokenId"] = str_value(token.id)
        if not record.done:
            item["token"] = {"M": token_attributes(token)}
    if record.qr_form is not None and not record.done:
        item["qrForm"] = str_value(record.qr_form.value)
    if record.error_code is not None:
        item["errorCode"] = str_value(record.error_code)
    return item


def _record(key: str, item: Item) -> CommandRecord:
    token_id, token = read_str(item, "tokenId"), item.get("token")
    qr_form = read_str(item, "qrForm")
    return CommandRecord(
        key=key,
        message_id=read_str(item, "messageId") or "",
        prefix=read_str(item, "prefix") or "",
        expires_at=datetime.fromtimestamp(int(item["ttl"]["N"]), UTC),
        token=token_from_attributes(token_id, token["M"]) if token_id and token else None,
        qr_form=QrForm(qr_form) if qr_form else None,
        error_code=read_str(item, "errorCode"),
        done=read_str(item, "state") == "done",
    )


class DynamoCommandLog:
    """CommandLog on the records table (key `id`, TTL `ttl`): no extra table, and it can join a token's transaction."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self.client = client

    def get(self, key: str) -> CommandRecord | None:
        with storage_errors():
            item = self.client.get_item(
                TableName=self.table_name, Key={"id": str_value(record_id(key))}, ConsistentRead=True
            ).get("Item")
        return _record(key, item) if item else None

    def add(self, record: CommandRecord) -> bool:
        try:
            with storage_errors():
                self.client.put_item(TableName=self.table_name, Item=command_item(record), ConditionExpression=NEW_ITEM)
        except Exception as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def mark_done(self, key: str) -> None:
        with storage_errors():
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": str_value(record_id(key))},
                UpdateExpression="SET #state = :done REMOVE #token, qrForm",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames={"#state": "state", "#token": "token"},
                ExpressionAttributeValues={":done": str_value("done")},
            )
