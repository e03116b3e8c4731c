"""GET /Tokens/Own over 1,000 kept tokens, in-process with DynamoDB served by moto, against one GetItem.

The token read function (functions/token_read) answers the whole list and one filtered query, as a warm Lambda;
the baseline is a single GetItem of one kept token through the same client, measured in the same run, so the
ratio says what a list costs in reads of one token. moto is not DynamoDB: its Query serialises every item slowly
in Python, so most of the time is moto's; botocore hooks time the DynamoDB calls, and "ours" is the rest (the
function's own work: parse the query, map items to tokens, filter, render the DTOs). What matters beside it: a
list is one index query (plus its pages of 1 MB), never a scan nor a read per token.

    .venv/bin/python benchmarks/kept_tokens.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKENS = 1000


def _kept_tokens(records: Any, count: int) -> list[Any]:
    """`count` kept tokens, one per second of creation, every third password-protected: written as records."""
    from nmshd_tokens.domain.crypto import generate_key, generate_salt
    from nmshd_tokens.domain.ids import new_token_id
    from nmshd_tokens.domain.tokens import Token, TokenDetails, TokenPassword

    start = datetime(2026, 1, 1, tzinfo=UTC)
    tokens = []
    for n in range(count):
        details = TokenDetails(
            content={"@type": "TokenContentFile", "fileId": "FILbenchFile00000001"},
            secret_key=generate_key(),
            created_by="did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb",
            created_by_device="DVCnmshdTokens000001",
            expires_at=start + timedelta(days=365 + n),
            backbone_base_url="https://backbone.example.com",
            ephemeral=False,
            password=TokenPassword("bench-password", generate_salt()) if n % 3 == 0 else None,
        )
        tokens.append(Token(new_token_id(), start + timedelta(seconds=n), details))
    for offset in range(0, count, 25):
        items = [{"PutRequest": {"Item": records.token_item(token)}} for token in tokens[offset : offset + 25]]
        records.client.batch_write_item(RequestItems={records.table_name: items})
    return tokens


def _timed(call: Any, repeat: int, timer: Any) -> dict[str, float]:
    """Median total ms, median ms inside DynamoDB calls (moto), and the DynamoDB calls of one request."""
    totals, inside, calls = [], [], []
    for _ in range(repeat):
        timer.reset()
        started = time.perf_counter_ns()
        call()
        totals.append(time.perf_counter_ns() - started)
        inside.append(timer.ns)
        calls.append(timer.calls)
    return {
        "median_ms": statistics.median(totals) / 1e6,
        "dynamodb_ms": statistics.median(inside) / 1e6,
        "excluding_dynamodb_ms": statistics.median(t - i for t, i in zip(totals, inside, strict=True)) / 1e6,
        "dynamodb_calls": statistics.median(calls),
    }


def run(repeat: int = 15, count: int = TOKENS) -> dict[str, Any]:
    from moto import mock_aws
    from nmshd_tokens.storage.aws_clients import aws_client
    from nmshd_tokens_local.tables import create_tables

    from benchmarks.warm_requests import BACKBONE_TABLE, RECORDS_TABLE, DynamoTimer, bench_environment, bench_functions
    from tests import support

    with bench_environment(), mock_aws():
        client = aws_client("dynamodb", "eu-central-1")
        create_tables(client, {"RecordsTable": RECORDS_TABLE, "BackboneTable": BACKBONE_TABLE})
        functions = bench_functions(client)
        tokens = _kept_tokens(functions.container.records, count)
        handler = functions.handler("token_read")
        middle = tokens[count // 2].created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")

        def listed(query: dict[str, list[str]] | None) -> Any:
            event = support.api_event("/api/core/v1/Tokens/Own", None, method="GET", multi_query=query)
            response = handler(event, support.FakeContext())
            if response["statusCode"] != 200:
                raise RuntimeError(f"GET /Tokens/Own: {response['statusCode']} {response['body'][:200]}")
            return response

        everything = len(support.json_body(listed(None))["result"])
        query = {"passwordProtection": ["!"], "createdAt": [f">={middle}"]}
        filtered = len(support.json_body(listed(query))["result"])
        one = tokens[count // 3].id
        timer = DynamoTimer(client)
        get_item = _timed(lambda: client.get_item(TableName=RECORDS_TABLE, Key={"id": {"S": one}}), repeat * 4, timer)
        everything_timed = _timed(lambda: listed(None), repeat, timer)
        filtered_timed = _timed(lambda: listed(query), repeat, timer)
    return {
        "kept_tokens": count,
        "get_item_ms": get_item["median_ms"],
        "rows": [
            {"request": "GET /Tokens/Own (all)", "tokens": everything, **everything_timed},
            {
                "request": "GET /Tokens/Own?passwordProtection=!&createdAt=>=<middle>",
                "tokens": filtered,
                **filtered_timed,
            },
        ],
    }


def table(result: dict[str, Any]) -> str:
    header = (
        f"{'request':<58} {'tokens':>6} {'ms':>8} {'× GetItem':>9} | {'DynamoDB ms':>11} {'calls':>5} | "
        f"{'ours ms':>7} {'µs/token':>8}"
    )
    lines = [header, "-" * len(header)]
    lines.append(f"{'GetItem of one kept token (baseline)':<58} {1:>6} {result['get_item_ms']:>8.2f} {1:>8.1f}× |")
    for row in result["rows"]:
        ratio = row["median_ms"] / result["get_item_ms"]
        per_token = row["excluding_dynamodb_ms"] * 1000 / max(row["tokens"], 1)
        lines.append(
            f"{row['request']:<58} {row['tokens']:>6} {row['median_ms']:>8.1f} {ratio:>8.1f}× | "
            f"{row['dynamodb_ms']:>11.1f} {row['dynamodb_calls']:>5g} | {row['excluding_dynamodb_ms']:>7.1f} "
            f"{per_token:>8.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100 tokens, fewer repetitions (a smoke run)")
    args = parser.parse_args()
    print(table(run(repeat=3, count=100) if args.quick else run()))


if __name__ == "__main__":
    main()
