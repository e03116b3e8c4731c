"""Warm requests: each handler invoked in-process (as one warm Lambda instance) with DynamoDB served by moto.

Every request is timed on its own (perf_counter_ns around `lambda_handler`). botocore event hooks on the handlers'
DynamoDB client time every DynamoDB call inside that request, from `provide-client-params` (the first event of a
call) to `after-call` (its parsed response): that is moto's share, serialisation and parsing included. "Handler
time excluding DynamoDB" is total − that share, per request; the figures are medians over all timed requests.
The scenarios take turns in blocks, so load changes on a shared machine hit all of them alike.

    .venv/bin/python benchmarks/warm_requests.py [--quick]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RECORDS_TABLE = "bench-records"
BACKBONE_TABLE = "bench-backbone"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark's request body, not a secret

# What the tests use (tests/conftest.py): never reach real AWS.
BENCH_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "POWERTOOLS_SERVICE_NAME": "nmshd-tokens-bench",
    "RECORDS_TABLE": RECORDS_TABLE,
    "BACKBONE_TABLE": BACKBONE_TABLE,
}
UNSET = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "BACKBONE_BASE_URL", "QR_FORMAT", "BACKBONE_MODE")


@dataclass(frozen=True)
class Scenario:
    handler: str  # functions/<handler>/app.py
    name: str
    password: bool
    event: Callable[[], dict[str, Any]]
    expected_status: int


class DynamoTimer:
    """Sums the time spent inside DynamoDB calls made through one boto3 client, and counts them."""

    def __init__(self, client: Any) -> None:
        self.calls = 0
        self.ns = 0
        self.operations: list[str] = []
        self._started: list[int] = []
        client.meta.events.register("provide-client-params.dynamodb", self._start)
        client.meta.events.register("after-call.dynamodb", self._stop)

    def _start(self, **kwargs: Any) -> None:
        self._started.append(time.perf_counter_ns())

    def _stop(self, model: Any = None, **kwargs: Any) -> None:
        self.ns += time.perf_counter_ns() - self._started.pop()
        self.calls += 1
        self.operations.append(getattr(model, "name", "?"))

    def reset(self) -> None:
        self.calls, self.ns, self.operations = 0, 0, []


@contextmanager
def bench_environment() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (*BENCH_ENVIRONMENT, *UNSET)}
    os.environ.update(BENCH_ENVIRONMENT)
    for key in UNSET:
        os.environ.pop(key, None)
    # The handlers flush their metrics (CloudWatch EMF) to stdout, as on Lambda: that work is timed, its lines
    # are not printed among the tables.
    try:
        with open(os.devnull, "w") as sink, redirect_stdout(sink):
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def bench_functions(client: Any) -> Any:
    """The functions of a deployment on the bench tables and on `client` (so its hooks time their calls)."""
    from nmshd_tokens.config import Settings

    from tests.support import Functions

    settings = Settings(records_table=RECORDS_TABLE, backbone_table=BACKBONE_TABLE, region="eu-central-1")
    return Functions(settings, client)


def _scenarios(functions: Any, records: Any) -> list[Scenario]:
    from nmshd_tokens.domain.crypto import derive_password_hash, generate_key, generate_salt
    from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
    from nmshd_tokens.domain.ids import new_id
    from nmshd_tokens.domain.references import parse_reference

    from tests.support import ROUTES, api_event, future, iso, json_body

    file = FileRecord(new_id("FIL"), generate_key(), future(30))
    template = TemplateRecord(new_id("RLT"), generate_key(), future(30))
    protected = TemplateRecord(
        new_id("RLT"),
        generate_key(),
        future(30),
        password_protection=StoredPasswordProtection(PASSWORD, "pw", generate_salt()),
    )
    records.put_file(file)
    records.put_template(template)
    records.put_template(protected)

    expires = iso(future(5))
    password_body = {"passwordProtection": {"password": PASSWORD}}
    token_routes = {
        "file_token": (ROUTES["file_token"][1], file.id),
        "template_token": (ROUTES["template_token"][1], ""),
    }
    scenarios: list[Scenario] = []
    for handler, (resource, file_id) in token_routes.items():
        for password in (False, True):
            target = file_id or (protected.id if password else template.id)
            base = {"expiresAt": expires, **(password_body if password else {})}
            variants = [
                ("JSON ephemeral", {**base}, None),
                ("JSON non-ephemeral", {**base, "ephemeral": False}, None),
                ("PNG", {**base}, "image/png"),  # a QR code's token is always ephemeral
            ]
            for variant, body, accept in variants:
                name = f"{variant}{' + password' if password else ''}"

                def event(
                    resource: str = resource, target: str = target, body: Any = body, accept: Any = accept
                ) -> Any:
                    return api_event(resource, target, body=body, accept=accept)  # a fresh event per request

                scenarios.append(Scenario(handler, name, password, event, 201))

    # Tokens for the peer side, created through the handler itself.
    def create_token(body: dict[str, Any]) -> dict[str, Any]:
        response = functions.invoke("file_token", api_event(ROUTES["file_token"][1], file.id, body=body))
        assert response["statusCode"] == 201, response
        result: dict[str, Any] = json_body(response)["result"]
        return result

    plain = create_token({"expiresAt": expires})
    locked = create_token({"expiresAt": expires, **password_body})
    protection = parse_reference(locked["reference"]["url"]).password_protection
    assert protection is not None
    password_hash = base64.b64encode(derive_password_hash(PASSWORD, protection.salt)).decode()
    token_resource, page_resource = ROUTES["backbone_token"][1], ROUTES["backbone_page"][1]

    def peer_event(resource: str, token_id: str, query: dict[str, str] | None = None) -> Callable[[], Any]:
        return lambda: api_event(resource, token_id, method="GET", query=query)

    scenarios += [
        Scenario("backbone_token", "GET token", False, peer_event(token_resource, plain["id"]), 200),
        Scenario(
            "backbone_token",
            "GET token + password hash",
            True,
            peer_event(token_resource, locked["id"], {"password": password_hash}),
            200,
        ),
        Scenario("backbone_token", "GET /r/ page", False, peer_event(page_resource, plain["id"]), 200),
    ]
    return scenarios


def _timed_calls(functions: Any, scenario: Scenario, timer: DynamoTimer, calls: int) -> list[tuple[int, int, int]]:
    from tests.support import FakeContext

    handler = functions.handler(scenario.handler)
    samples = []
    for _ in range(calls):
        event = scenario.event()
        timer.reset()
        start = time.perf_counter_ns()
        response = handler(event, FakeContext())
        total = time.perf_counter_ns() - start
        if response["statusCode"] != scenario.expected_status:
            raise RuntimeError(f"{scenario.handler} {scenario.name}: {response['statusCode']} {response['body']}")
        samples.append((total, timer.ns, timer.calls))
    return samples


def run(iterations: int = 300, password_iterations: int = 24, blocks: int = 6) -> list[dict[str, Any]]:
    """Per scenario: median total, DynamoDB share and total − share (µs), and DynamoDB calls per request."""
    from moto import mock_aws
    from nmshd_tokens.storage.aws_clients import aws_client
    from nmshd_tokens.storage.records_table import DynamoRecordsRepository
    from nmshd_tokens_local.tables import create_tables

    with bench_environment(), mock_aws():
        client = aws_client("dynamodb", "eu-central-1")
        functions = bench_functions(client)
        create_tables(client, {"RecordsTable": RECORDS_TABLE, "BackboneTable": BACKBONE_TABLE})
        scenarios = _scenarios(functions, DynamoRecordsRepository(RECORDS_TABLE, client))
        timer = DynamoTimer(client)
        samples: dict[str, list[tuple[int, int, int]]] = {}
        operations: dict[str, list[str]] = {}
        for scenario in scenarios:  # warm-up, and the operations one request makes
            _timed_calls(functions, scenario, timer, 3 if scenario.password else 30)
            operations[f"{scenario.handler} {scenario.name}"] = list(timer.operations)
        for _ in range(blocks):
            for scenario in scenarios:
                count = -(-(password_iterations if scenario.password else iterations) // blocks)
                samples.setdefault(f"{scenario.handler} {scenario.name}", []).extend(
                    _timed_calls(functions, scenario, timer, count)
                )

    results = []
    for scenario in scenarios:
        key = f"{scenario.handler} {scenario.name}"
        rows = samples[key]
        results.append(
            {
                "handler": scenario.handler,
                "scenario": scenario.name,
                "requests": len(rows),
                "total_median_us": statistics.median(total for total, _, _ in rows) / 1000,
                "dynamodb_median_us": statistics.median(dynamo for _, dynamo, _ in rows) / 1000,
                "excluding_dynamodb_median_us": statistics.median(total - dynamo for total, dynamo, _ in rows) / 1000,
                "dynamodb_calls": statistics.median(calls for _, _, calls in rows),
                "dynamodb_operations": operations[key],
            }
        )
    return results


def table(results: list[dict[str, Any]]) -> str:
    header = (
        f"{'handler':<15} {'request':<28} {'n':>4} | {'total µs':>9} {'DynamoDB µs':>11} {'calls':>5} | "
        f"{'handler excl. DynamoDB µs':>25}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['handler']:<15} {r['scenario']:<28} {r['requests']:>4} | {r['total_median_us']:>9,.0f} "
            f"{r['dynamodb_median_us']:>11,.0f} {r['dynamodb_calls']:>5g} | {r['excluding_dynamodb_median_us']:>25,.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run, not for figures)")
    args = parser.parse_args()
    counts = {"iterations": 30, "password_iterations": 4, "blocks": 2} if args.quick else {}
    print(table(run(**counts)))


if __name__ == "__main__":
    main()
