"""The embedded DynamoDB of `serve` under concurrency: it must behave like DynamoDB, item by item.

moto alone is not thread-safe (a TransactWriteItems deep-copied a table while a PutItem changed it: 500s under
load) and its conditional writes and `ADD` are read-modify-write; local/embedded_dynamodb.py serves one request
at a time and snapshots only the items a transaction names. These tests hold it to DynamoDB's semantics.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from nmshd_tokens.config import DEFAULT_BACKBONE_TABLE, DEFAULT_RECORDS_TABLE

from tests.reliability.conftest import Served
from tests.reliability.test_load import dynamodb

THREADS = 40
ROUNDS = 10
SAFETY_NET_S = 600  # for a hang only: each test takes seconds, even on a loaded machine


@pytest.fixture(scope="module")
def client(served: Served) -> Any:
    return dynamodb(served)


def _item(item_id: str, **extra: str) -> dict[str, Any]:
    return {"id": {"S": item_id}, **{name: {"S": value} for name, value in extra.items()}}


def _get(client: Any, table: str, item_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(TableName=table, Key={"id": {"S": item_id}}, ConsistentRead=True).get(
        "Item"
    )
    return item


def _in_parallel(count: int, action: Any) -> Counter[str]:
    barrier = threading.Barrier(count, timeout=SAFETY_NET_S)

    def run(index: int) -> str:
        barrier.wait()
        try:
            action(index)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "ok"

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(run, range(count), timeout=SAFETY_NET_S))


def test_a_conditional_put_wins_once(client: Any) -> None:
    def put(index: int) -> None:
        client.put_item(
            TableName=DEFAULT_BACKBONE_TABLE,
            Item=_item("TOKraceraceracerace1", writer=str(index)),
            ConditionExpression="attribute_not_exists(id)",
        )

    outcomes = _in_parallel(THREADS, put)
    assert outcomes == {"ok": 1, "ConditionalCheckFailedException": THREADS - 1}


def test_add_counts_every_increment(client: Any) -> None:
    client.put_item(TableName=DEFAULT_BACKBONE_TABLE, Item={"id": {"S": "TOKcountercounter001"}, "n": {"N": "0"}})

    def add(_: int) -> None:
        client.update_item(
            TableName=DEFAULT_BACKBONE_TABLE,
            Key={"id": {"S": "TOKcountercounter001"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    assert _in_parallel(THREADS, add) == {"ok": THREADS}
    item = _get(client, DEFAULT_BACKBONE_TABLE, "TOKcountercounter001")
    assert item is not None and item["n"]["N"] == str(THREADS)


def test_concurrent_transactions_and_puts_neither_fail_nor_mix(client: Any) -> None:
    # A table of some size: moto deep-copied whole tables per transaction, long enough for a put to interfere.
    for start in range(0, 1500, 25):
        client.batch_write_item(
            RequestItems={
                DEFAULT_BACKBONE_TABLE: [
                    {"PutRequest": {"Item": _item(f"TOKfill{n:013d}")}} for n in range(start, start + 25)
                ]
            }
        )

    def write(index: int) -> None:
        for round_ in range(ROUNDS):
            name = f"{index:03d}{round_:03d}"
            if index % 2:
                client.put_item(TableName=DEFAULT_BACKBONE_TABLE, Item=_item(f"TOKplain000000{name}"))
                continue
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": _item(f"TOKtx000000000{name}"),
                            "ConditionExpression": "attribute_not_exists(id)",
                        }
                    }
                    for table in (DEFAULT_BACKBONE_TABLE, DEFAULT_RECORDS_TABLE)
                ]
            )

    assert _in_parallel(THREADS, write) == {"ok": THREADS}
    for index in range(0, THREADS, 2):
        for table in (DEFAULT_BACKBONE_TABLE, DEFAULT_RECORDS_TABLE):
            assert _get(client, table, f"TOKtx000000000{index:03d}{ROUNDS - 1:03d}") is not None


def test_a_cancelled_transaction_leaves_every_item_as_it_was(client: Any) -> None:
    client.put_item(TableName=DEFAULT_RECORDS_TABLE, Item=_item("TOKrollbackexisting1", state="before"))
    client.put_item(TableName=DEFAULT_BACKBONE_TABLE, Item=_item("TOKrollbackblocker01"))
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": DEFAULT_RECORDS_TABLE, "Item": _item("TOKrollbackexisting1", state="after")}},
                {"Put": {"TableName": DEFAULT_RECORDS_TABLE, "Item": _item("TOKrollbacknew00001")}},
                {
                    "Put": {
                        "TableName": DEFAULT_BACKBONE_TABLE,
                        "Item": _item("TOKrollbackblocker01", state="overwritten"),
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]] == [
        "None",
        "None",
        "ConditionalCheckFailed",
    ]
    assert _get(client, DEFAULT_RECORDS_TABLE, "TOKrollbackexisting1") == _item("TOKrollbackexisting1", state="before")
    assert _get(client, DEFAULT_RECORDS_TABLE, "TOKrollbacknew00001") is None
    assert _get(client, DEFAULT_BACKBONE_TABLE, "TOKrollbackblocker01") == _item("TOKrollbackblocker01")
