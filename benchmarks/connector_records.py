"""A token request (POST /api/core/v1/Files/{id}/Token, JSON) by where its File record comes from (SPEC §15):

(a) the records table, no Connector configured (as without one today);
(b) the warm instance's memory, a Connector configured: the record was read within RECORDS_CACHE_SECONDS;
(c) read through from a loopback stand-in Connector (local/standin_connector.py): a File this instance has not
    seen, so one table read, one Connector GET (2 s timeout) and one conditional write before the token.
Each in-process, DynamoDB served by moto (whose GetItem alone costs more than our whole request), reported
against (a) in the same run, in total and excluding the time inside DynamoDB calls; the three are interleaved.
The Connector here answers over loopback HTTP in the same process (its serving shares the interpreter, so it is
counted in (c)'s own time); a real one across a network adds its round trip to (c) only.

    .venv/bin/python benchmarks/connector_records.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEY = "bench-connector-key-0123456789"
REQUESTS = 200


def run(requests: int = REQUESTS) -> dict[str, Any]:
    from moto import mock_aws
    from nmshd_tokens.domain.crypto import generate_key
    from nmshd_tokens.domain.files_and_templates import FileRecord
    from nmshd_tokens.domain.ids import new_id
    from nmshd_tokens.storage.aws_clients import aws_client
    from nmshd_tokens_local.standin_connector import StandinConnector
    from nmshd_tokens_local.tables import create_tables

    from benchmarks.warm_requests import BACKBONE_TABLE, RECORDS_TABLE, DynamoTimer, bench_environment, bench_functions
    from tests import support

    with bench_environment(), mock_aws():
        client = aws_client("dynamodb", "eu-central-1")
        create_tables(client, {"RecordsTable": RECORDS_TABLE, "BackboneTable": BACKBONE_TABLE})
        plain = bench_functions(client)
        with StandinConnector(plain.settings.service_address, api_key=KEY) as connector:
            reading = plain.configured(connector_base_url=connector.base_url, connector_api_key=KEY)
            in_table = FileRecord(new_id("FIL"), generate_key())
            plain.container.records.put_file(in_table)
            remembered = FileRecord(new_id("FIL"), generate_key())
            connector.add(remembered)
            fresh = [FileRecord(new_id("FIL"), generate_key()) for _ in range(requests + 1)]
            for record in fresh:
                connector.add(record)
            timer = DynamoTimer(client)

            def one(functions: Any, record_id: str) -> tuple[int, int, int, int]:
                """(total ns, ns inside DynamoDB calls, DynamoDB calls, Connector calls) of one request."""
                event = support.api_event("/api/core/v1/Files/{id}/Token", record_id, body={})
                timer.reset()
                before = len(connector.calls)
                started = time.perf_counter_ns()
                response = functions.handler("file_token")(event, support.FakeContext())
                total = time.perf_counter_ns() - started
                if response["statusCode"] != 201:
                    raise RuntimeError(f"{record_id}: {response['statusCode']} {response['body'][:200]}")
                return total, timer.ns, timer.calls, len(connector.calls) - before

            # Warm each instance first (imports, the Connector's version and identity, the first connection).
            one(plain, in_table.id)
            one(reading, remembered.id)
            one(reading, fresh[0].id)
            # Interleaved, so that a busy moment of a shared machine falls on all three alike.
            samples: list[list[tuple[int, int, int, int]]] = [[], [], []]
            for record in fresh[1:]:
                samples[0].append(one(plain, in_table.id))
                samples[1].append(one(reading, remembered.id))
                samples[2].append(one(reading, record.id))
            sources = (
                "(a) records table, no Connector",
                "(b) warm instance's memory",
                "(c) read through from a loopback Connector",
            )
            rows = [
                {
                    "source": source,
                    "median_us": statistics.median(s[0] for s in measured) / 1e3,
                    "dynamodb_us": statistics.median(s[1] for s in measured) / 1e3,
                    "excluding_dynamodb_us": statistics.median(s[0] - s[1] for s in measured) / 1e3,
                    "dynamodb_calls": statistics.median(s[2] for s in measured),
                    "connector_calls": statistics.median(s[3] for s in measured),
                }
                for source, measured in zip(sources, samples, strict=True)
            ]
    baseline = rows[0]["median_us"]
    for row in rows:
        row["over_table"] = row["median_us"] / baseline
    return {"requests": requests, "rows": rows}


def table(result: dict[str, Any]) -> str:
    header = (
        f"{'File record from':<44} {'n':>4} | {'total µs':>9} {'× (a)':>6} | {'DynamoDB µs':>11} {'calls':>5} | "
        f"{'excl. DynamoDB µs':>17} {'× (a)':>6} | {'Connector calls':>15}"
    )
    lines = [header, "-" * len(header)]
    base_own = result["rows"][0]["excluding_dynamodb_us"]
    for row in result["rows"]:
        lines.append(
            f"{row['source']:<44} {result['requests']:>4} | {row['median_us']:>9.0f} {row['over_table']:>5.2f}× | "
            f"{row['dynamodb_us']:>11.0f} {row['dynamodb_calls']:>5g} | {row['excluding_dynamodb_us']:>17.0f} "
            f"{row['excluding_dynamodb_us'] / base_own:>5.2f}× | {row['connector_calls']:>15g}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="30 requests each (a smoke run)")
    args = parser.parse_args()
    print(table(run(requests=30 if args.quick else REQUESTS)))


if __name__ == "__main__":
    main()
