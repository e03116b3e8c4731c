"""Idempotency records of event-driven commands, kept in the records table (issue #6).

A record lives at `command#<sha256 of the key>`: the key is the sender's idempotencyKey or the SQS message id,
hashed so that any string fits DynamoDB's key limits and no sender-chosen text lands in the key. The record that
names a token is written in the token's own transaction (see DynamoBackbone.publish `also`), so a token never
exists without it; it holds the TokenDTO until the outputs are written, then only the token id.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..domain.errors import format_timestamp
from .dynamodb import UsesDynamoDB, storage_errors
from .ports import CommandRecord, TransactItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

RECORD_PREFIX = "command#"  # the batch role may update only items whose key starts with this (template.yaml)
_NEW = "attribute_not_exists(id)"


def record_id(key: str) -> str:
    return RECORD_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _item(record: CommandRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": record_id(record.key)},
        "type": {"S": "Command"},
        "messageId": {"S": record.message_id},
        "prefix": {"S": record.prefix},
        "state": {"S": "done" if record.done else "published"},
        "expiresAt": {"S": format_timestamp(record.expires_at)},
        "ttl": {"N": str(int(record.expires_at.timestamp()))},
    }
    if record.token_id is not None:
        item["tokenId"] = {"S": record.token_id}
    if record.dto is not None:
        item["dto"] = {"S": json.dumps(record.dto, separators=(",", ":"), ensure_ascii=False)}
    if record.qr_payload is not None:
        item["qrPayload"] = {"S": record.qr_payload}
    if record.error_code is not None:
        item["errorCode"] = {"S": record.error_code}
    return item


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value else None


def _record(key: str, item: dict[str, Any]) -> CommandRecord:
    dto = _text(item, "dto")
    return CommandRecord(
        key=key,
        message_id=_text(item, "messageId") or "",
        prefix=_text(item, "prefix") or "",
        expires_at=datetime.fromtimestamp(int(item["ttl"]["N"]), UTC),
        token_id=_text(item, "tokenId"),
        dto=json.loads(dto) if dto else None,
        qr_payload=_text(item, "qrPayload"),
        error_code=_text(item, "errorCode"),
        done=_text(item, "state") == "done",
    )


class DynamoCommandLog(UsesDynamoDB):
    """CommandLog on the records table (key `id`, TTL `ttl`): no extra table, and it can join a token's transaction."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    def get(self, key: str) -> CommandRecord | None:
        with storage_errors():
            item = self.client.get_item(
                TableName=self.table_name, Key={"id": {"S": record_id(key)}}, ConsistentRead=True
            ).get("Item")
        return _record(key, item) if item else None

    def put_request(self, record: CommandRecord) -> TransactItem:
        return {"Put": {"TableName": self.table_name, "Item": _item(record), "ConditionExpression": _NEW}}

    def add(self, record: CommandRecord) -> bool:
        from botocore.exceptions import ClientError

        try:
            with storage_errors():
                self.client.put_item(TableName=self.table_name, Item=_item(record), ConditionExpression=_NEW)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_done(self, key: str) -> None:
        with storage_errors():
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": {"S": record_id(key)}},
                UpdateExpression="SET #state = :done REMOVE dto, qrPayload",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":done": {"S": "done"}},
            )
