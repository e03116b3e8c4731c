"""The floor of benchmarks/cold_start.py: a minimal Lambda function on boto3 alone.

Its init is the classic floor, `import boto3; boto3.client("dynamodb")`. Its handler makes, for each sample event
the benchmark sends, the DynamoDB calls our function makes for that request (the same operations on the same
tables, items of the same shape; tests/e2e/test_benchmarks.py compares the operations) and answers with
json.dumps: what any function serving the request has to do at the least, with no validation, no crypto, no
QR code, no logging. It runs on a copy of our layer in which botocore's endpoints.json is as released.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")
RECORDS = os.environ.get("RECORDS_TABLE", "")
BACKBONE = os.environ.get("BACKBONE_TABLE", "")
INDEX = "TokensByCreation"


def answer(status: int, body: Any = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": "" if body is None else json.dumps({"result": body}, default=str),  # binary attributes too
    }


def create_token(event: dict[str, Any]) -> dict[str, Any]:
    """GetItem of the File or template, then the backbone token and its record in one transaction."""
    body = json.loads(event.get("body") or "{}")
    target = dynamodb.get_item(TableName=RECORDS, Key={"id": {"S": event["pathParameters"]["id"]}}).get("Item")
    if target is None:
        return answer(404)
    return publish(body, {"@type": "TokenContentFile", "fileId": target["id"]["S"]})


def create_own_token(event: dict[str, Any]) -> dict[str, Any]:
    """No record to read: the backbone token and its record in one transaction."""
    body = json.loads(event.get("body") or "{}")
    return publish(body, body.get("content"))


def publish(body: dict[str, Any], content: Any) -> dict[str, Any]:
    token_id = "TOK" + secrets.token_hex(9)[:17]
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    expires = body.get("expiresAt", now)
    common = {
        "id": {"S": token_id},
        "createdBy": {"S": "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb"},
        "createdByDevice": {"S": "DVCdemo0000000000001"},
        "createdAt": {"S": now},
        "expiresAt": {"S": expires},
        "ttl": {"N": str(int(time.time()) + 86_400)},
    }
    backbone = {**common, "content": {"S": secrets.token_urlsafe(180)}, "failedAttempts": {"N": "0"}}
    record = {  # the attributes of storage/records_table.py's token_item: our Own query reads these too
        **common,
        "type": {"S": "Token"},
        "content": {"S": json.dumps(content)},
        "secretKey": {"B": secrets.token_bytes(32)},
        "backboneBaseUrl": {"S": "https://backbone.example"},
        "isEphemeral": {"BOOL": False},
    }
    new = "attribute_not_exists(id)"
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": BACKBONE, "Item": backbone, "ConditionExpression": new}},
            {"Put": {"TableName": RECORDS, "Item": record, "ConditionExpression": new}},
        ],
        ClientRequestToken=secrets.token_hex(16),
    )
    return answer(201, {name: next(iter(value.values())) for name, value in record.items()})


def get_token(event: dict[str, Any]) -> dict[str, Any]:
    item = dynamodb.get_item(TableName=RECORDS, Key={"id": {"S": event["pathParameters"]["id"]}}).get("Item")
    return answer(404) if item is None else answer(200, {name: next(iter(v.values())) for name, v in item.items()})


def own_tokens(event: dict[str, Any]) -> dict[str, Any]:
    items = dynamodb.query(
        TableName=RECORDS,
        IndexName=INDEX,
        KeyConditionExpression="#type = :token",
        ExpressionAttributeNames={"#type": "type"},
        ExpressionAttributeValues={":token": {"S": "Token"}},
    )["Items"]
    return answer(200, [{name: next(iter(value.values())) for name, value in item.items()} for item in items])


def revoke(event: dict[str, Any]) -> dict[str, Any]:
    key = {"id": {"S": event["pathParameters"]["id"]}}
    if "Item" not in dynamodb.get_item(TableName=RECORDS, Key=key):
        return answer(404)
    dynamodb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": BACKBONE, "Key": key}},
            {"Delete": {"TableName": RECORDS, "Key": key, "ConditionExpression": "attribute_exists(id)"}},
        ]
    )
    return answer(204)


def health(event: dict[str, Any]) -> dict[str, Any]:
    for table in (RECORDS, BACKBONE):
        dynamodb.get_item(TableName=table, Key={"id": {"S": "health#probe"}})
    return answer(200, {"isHealthy": True})


def peer_load(event: dict[str, Any]) -> dict[str, Any]:
    key = {"id": {"S": event["pathParameters"]["id"]}}
    item = dynamodb.get_item(TableName=BACKBONE, Key=key, ConsistentRead=True).get("Item")
    return answer(404) if item is None else answer(200, {"id": item["id"]["S"], "content": item["content"]["S"]})


ROUTES = {
    ("POST", "/api/v2/Files/{id}/Token"): create_token,
    ("POST", "/api/core/v1/Files/{id}/Token"): create_token,
    ("POST", "/api/v2/RelationshipTemplates/Own/{id}/Token"): create_token,
    ("POST", "/api/core/v1/RelationshipTemplates/Own/{id}/Token"): create_token,
    ("POST", "/api/v2/Tokens/Own"): create_own_token,
    ("POST", "/api/core/v1/Tokens/Own"): create_own_token,
    ("GET", "/api/v2/Tokens/{id}"): get_token,
    ("GET", "/api/core/v1/Tokens/{id}"): get_token,
    ("GET", "/api/v2/Tokens/Own"): own_tokens,
    ("GET", "/api/core/v1/Tokens/Own"): own_tokens,
    ("DELETE", "/api/core/v1/Tokens/{id}"): revoke,
    ("GET", "/health"): health,
    ("GET", "/backbone/api/v2/Tokens/{id}"): peer_load,
}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ROUTES[(event["httpMethod"], event["resource"])](event)
