"""Fault injection on DynamoDB at every call of every use case.

The storage is moto throughout. Faults are injected on the real, moto-backed boto3 client through botocore's
`before-send` event (registered first, so it runs before moto answers): the N-th attempts of one operation get
a throttling/unavailable error response or a timeout exception instead of reaching moto. Because the fault is
an HTTP-level answer, botocore's own standard retry mode (3 attempts, as configured in storage/aws_clients.py)
really runs; only its backoff sleep is set to 0. Collisions are real: the hook plants an item with the id the
service is about to write, and moto's condition check refuses the write.

After each run both tables are scanned: a token is in both tables (persistent), in the backbone only
(ephemeral), or in neither; never half-written.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber
from nmshd_tokens.domain.crypto import derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode
from nmshd_tokens.domain.references import parse_reference

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import ROUTES, Functions, api_event, future, json_body

MAX_ATTEMPTS = 4  # storage/aws_clients.py: retries={"max_attempts": 3} are 3 RETRIES in botocore, so 4 attempts
ALL = frozenset(range(1, 100))
PASSWORD = "fault-password"  # noqa: S105 - a test value


# --- faults ---------------------------------------------------------------------------------------------


def _error_response(status: int, code: str, message: str, **extra: Any) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra})
    return AWSResponse(
        "https://dynamodb.local/", status, {"Content-Type": "application/x-amz-json-1.0"}, MockRawResponse(body)
    )  # type: ignore[arg-type]


def throttled(request: Any) -> AWSResponse:
    return _error_response(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")


def throughput_exceeded(request: Any) -> AWSResponse:
    return _error_response(
        400,
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    )


def service_unavailable(request: Any) -> AWSResponse:
    return _error_response(503, "ServiceUnavailable", "Service unavailable")


def internal_error(request: Any) -> AWSResponse:
    return _error_response(500, "InternalServerError", "Internal server error")


def read_timeout(request: Any) -> AWSResponse:
    raise ReadTimeoutError(endpoint_url=request.url)


def connect_timeout(request: Any) -> AWSResponse:
    raise ConnectTimeoutError(endpoint_url=request.url)


def cancelled_by_throttling(request: Any) -> AWSResponse:
    return _error_response(
        400,
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]",
        CancellationReasons=[
            {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity."},
            {"Code": "None"},
        ],
    )


TRANSIENT_FAULTS: dict[str, Callable[[Any], AWSResponse]] = {
    "throttling": throttled,
    "throughput-exceeded": throughput_exceeded,
    "service-unavailable-503": service_unavailable,
    "internal-error-500": internal_error,
    "read-timeout": read_timeout,
    "connect-timeout": connect_timeout,
}


def _blobs_to_bytes(value: Any) -> Any:
    """DynamoDB wire JSON carries binary attributes as base64 text; boto3's parameters want bytes."""
    if isinstance(value, dict):
        if set(value) == {"B"} and isinstance(value["B"], str):
            return {"B": base64.b64decode(value["B"])}
        return {key: _blobs_to_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blobs_to_bytes(item) for item in value]
    return value


@dataclass
class Faults:
    """before-send hooks on the service's client. `attempts` counts what reached the wire (or would have)."""

    client: Any
    plain: Any  # a second moto client without hooks: plants collisions and replays lost writes
    attempts: Counter[str] = field(default_factory=Counter)
    planted: list[str] = field(default_factory=list)
    _rules: list[tuple[str, frozenset[int], Callable[[Any], AWSResponse | None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # botocore calls every before-send handler and takes the first answer, so moto would still execute a
        # request a fault answers: the hook takes moto's place on this client and hands it the healthy requests.
        self.client.meta.events.unregister("before-send", botocore_stubber)
        self.client.meta.events.register_first("before-send.dynamodb", self._before_send)

    def on(self, operation: str, fault: Callable[[Any], AWSResponse | None], calls: frozenset[int] = ALL) -> None:
        """From now on, the attempts numbered `calls` of `operation` get `fault` (counting restarts here)."""
        self.attempts.clear()
        self._rules.append((operation, calls, fault))

    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        self.attempts[operation] += 1
        for rule_operation, calls, fault in self._rules:
            if rule_operation == operation and self.attempts[operation] in calls:
                response = fault(request)
                if response is not None:
                    return response
        answer: AWSResponse | None = botocore_stubber(event_name=event_name, request=request)
        return answer

    # Collisions: the id the service is about to write already exists (really, in moto).
    def collide(self, table: str) -> Callable[[Any], None]:
        def plant(request: Any) -> None:
            body = json.loads(request.body)
            items = [body["Item"]] if "Item" in body else [put["Put"]["Item"] for put in body["TransactItems"]]
            token_id = items[0]["id"]["S"]
            self.plain.put_item(TableName=table, Item={"id": {"S": token_id}, "decoy": {"BOOL": True}})
            self.planted.append(token_id)

        return plant

    def lose_response(self, request: Any) -> AWSResponse:
        """The write happens, then the answer is lost: what a read timeout after a successful write looks like."""
        self.plain.transact_write_items(**_blobs_to_bytes(json.loads(request.body)))
        raise ReadTimeoutError(endpoint_url=request.url)


@pytest.fixture
def faults(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    plain = boto3.client("dynamodb", region_name="eu-central-1")
    yield Faults(aws, plain)


# --- the use cases and their calls ------------------------------------------------------------------------


@dataclass(frozen=True)
class UseCase:
    name: str
    run: Callable[[Any], dict[str, Any]]  # the setup fixtures → the handler's response
    persistent: bool = False
    peer: bool = False


def _create(
    functions: Functions, handler: str, path_id: str, body: Any = None, accept: str | None = None
) -> dict[str, Any]:
    return functions.invoke(handler, api_event(ROUTES[handler][1], path_id, body=body, accept=accept))


def _fetch(functions: Functions, token_id: str, password_hash: str | None = None) -> dict[str, Any]:
    query = {"password": password_hash} if password_hash is not None else None
    return functions.invoke(
        "backbone_token", api_event(ROUTES["backbone_token"][1], token_id, method="GET", query=query)
    )


@dataclass
class Setup:
    functions: Functions
    file_id: str
    template_id: str
    plain_token: str = ""
    protected_token: str = ""
    wrong_hash: str = ""
    right_hash: str = ""


USE_CASES = {
    "file-json-ephemeral": UseCase("file-json-ephemeral", lambda s: _create(s.functions, "file_token", s.file_id)),
    "file-png": UseCase("file-png", lambda s: _create(s.functions, "file_token", s.file_id, accept="image/png")),
    "file-json-persistent": UseCase(
        "file-json-persistent",
        lambda s: _create(s.functions, "file_token", s.file_id, {"ephemeral": False}),
        persistent=True,
    ),
    "template-json-ephemeral": UseCase(
        "template-json-ephemeral", lambda s: _create(s.functions, "template_token", s.template_id)
    ),
    "template-json-persistent": UseCase(
        "template-json-persistent",
        lambda s: _create(s.functions, "template_token", s.template_id, {"ephemeral": False}),
        persistent=True,
    ),
    "peer-read": UseCase("peer-read", lambda s: _fetch(s.functions, s.plain_token), peer=True),
    "peer-wrong-password": UseCase(
        "peer-wrong-password", lambda s: _fetch(s.functions, s.protected_token, s.wrong_hash), peer=True
    ),
    "peer-right-password": UseCase(
        "peer-right-password", lambda s: _fetch(s.functions, s.protected_token, s.right_hash), peer=True
    ),
}
# Every DynamoDB call of every use case, in order.
CALLS = [
    ("file-json-ephemeral", "GetItem"),
    ("file-json-ephemeral", "PutItem"),
    ("file-png", "GetItem"),
    ("file-png", "PutItem"),
    ("file-json-persistent", "GetItem"),
    ("file-json-persistent", "TransactWriteItems"),
    ("template-json-ephemeral", "GetItem"),
    ("template-json-ephemeral", "PutItem"),
    ("template-json-persistent", "GetItem"),
    ("template-json-persistent", "TransactWriteItems"),
    ("peer-read", "GetItem"),
    ("peer-wrong-password", "GetItem"),
    ("peer-wrong-password", "UpdateItem"),
    ("peer-right-password", "GetItem"),
]


@pytest.fixture
def setup(functions: Functions, make_file: Callable[..., Any], make_template: Callable[..., Any]) -> Setup:
    result = Setup(functions, make_file(future()).id, make_template(expires_at=future()).id)
    result.plain_token = json_body(_create(functions, "file_token", result.file_id))["result"]["id"]
    protected = json_body(
        _create(functions, "file_token", result.file_id, {"passwordProtection": {"password": PASSWORD}})
    )
    reference = parse_reference(protected["result"]["reference"]["truncated"])
    assert reference.password_protection is not None
    result.protected_token = reference.id
    result.wrong_hash = b64_encode(derive_password_hash("wrong", reference.password_protection.salt))
    result.right_hash = b64_encode(derive_password_hash(PASSWORD, reference.password_protection.salt))
    return result


# --- what the tables hold --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tables:
    records_tokens: frozenset[str]
    backbone: dict[str, dict[str, Any]]

    @property
    def backbone_tokens(self) -> frozenset[str]:
        return frozenset(token for token, item in self.backbone.items() if "decoy" not in item)


def scan(client: Any) -> Tables:
    records = client.scan(TableName=RECORDS_TABLE)["Items"]
    backbone = client.scan(TableName=BACKBONE_TABLE)["Items"]
    return Tables(
        frozenset(item["id"]["S"] for item in records if item.get("type", {}).get("S") == "Token"),
        {item["id"]["S"]: item for item in backbone},
    )


def assert_nothing_half_written(before: Tables, after: Tables) -> None:
    # Every kept token record has its published token, with the same id (the transaction wrote both or neither).
    assert after.records_tokens <= after.backbone_tokens
    # Decoys stay decoys: a refused write never overwrote an item.
    for item in after.backbone.values():
        if "decoy" in item:
            assert set(item) == {"id", "decoy"}, item
    assert before.records_tokens <= after.records_tokens and before.backbone_tokens <= after.backbone_tokens


def new_tokens(before: Tables, after: Tables) -> tuple[frozenset[str], frozenset[str]]:
    return after.records_tokens - before.records_tokens, after.backbone_tokens - before.backbone_tokens


# --- tests ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault_name", sorted(TRANSIENT_FAULTS))
@pytest.mark.parametrize(("use_case", "operation"), CALLS)
def test_persistent_transient_fault_is_503_after_retries_and_writes_nothing(
    faults: Faults, setup: Setup, use_case: str, operation: str, fault_name: str
) -> None:
    case = USE_CASES[use_case]
    before = scan(faults.plain)
    faults.on(operation, TRANSIENT_FAULTS[fault_name])
    response = case.run(setup)

    assert response["statusCode"] == 503, response
    error = json_body(response)["error"]
    assert error["code"] == "error.connector.serviceUnavailable"
    assert faults.attempts[operation] == MAX_ATTEMPTS, f"{operation} was not retried: {faults.attempts}"
    after = scan(faults.plain)
    assert_nothing_half_written(before, after)
    assert new_tokens(before, after) == (frozenset(), frozenset())
    if use_case in ("peer-wrong-password", "peer-right-password"):  # an uncounted attempt is not answered
        failed = int(after.backbone[setup.protected_token]["failedAttempts"]["N"])
        assert failed == int(before.backbone[setup.protected_token]["failedAttempts"]["N"])


@pytest.mark.parametrize(("use_case", "operation"), CALLS)
def test_a_fault_on_the_first_attempt_is_retried_transparently(
    faults: Faults, setup: Setup, use_case: str, operation: str
) -> None:
    case = USE_CASES[use_case]
    before = scan(faults.plain)
    faults.on(operation, throttled, frozenset({1}))
    response = case.run(setup)

    expected = 404 if use_case == "peer-wrong-password" else 200 if case.peer else 201
    assert response["statusCode"] == expected, response
    assert faults.attempts[operation] == 2  # the failed first attempt and its retry
    if use_case == "peer-right-password":
        assert "UpdateItem" not in faults.attempts  # a right password is never counted, not even for a moment
    after = scan(faults.plain)
    assert_nothing_half_written(before, after)
    if not case.peer:
        kept, published = new_tokens(before, after)
        assert len(published) == 1
        assert kept == (published if case.persistent else frozenset())


@pytest.mark.parametrize("use_case", ["file-json-persistent", "template-json-persistent"])
def test_transaction_cancelled_by_throttling_is_503_and_writes_nothing(
    faults: Faults, setup: Setup, use_case: str
) -> None:
    before = scan(faults.plain)
    faults.on("TransactWriteItems", cancelled_by_throttling)
    response = USE_CASES[use_case].run(setup)

    assert response["statusCode"] == 503, response
    assert json_body(response)["error"]["code"] == "error.connector.serviceUnavailable"
    # botocore does not retry a TransactionCanceledException, and neither does the service (see the report).
    print(f"\n{use_case}: TransactWriteItems attempts with a ThrottlingError cancellation: {faults.attempts}")
    after = scan(faults.plain)
    assert_nothing_half_written(before, after)
    assert new_tokens(before, after) == (frozenset(), frozenset())


@pytest.mark.parametrize(
    ("use_case", "operation", "table"),
    [
        ("file-json-ephemeral", "PutItem", BACKBONE_TABLE),
        ("file-png", "PutItem", BACKBONE_TABLE),
        ("template-json-ephemeral", "PutItem", BACKBONE_TABLE),
        ("file-json-persistent", "TransactWriteItems", BACKBONE_TABLE),
        ("file-json-persistent", "TransactWriteItems", RECORDS_TABLE),
        ("template-json-persistent", "TransactWriteItems", BACKBONE_TABLE),
        ("template-json-persistent", "TransactWriteItems", RECORDS_TABLE),
    ],
)
def test_an_id_collision_gets_a_fresh_id(
    faults: Faults, setup: Setup, use_case: str, operation: str, table: str
) -> None:
    case = USE_CASES[use_case]
    before = scan(faults.plain)
    faults.on(operation, faults.collide(table), frozenset({1}))
    response = case.run(setup)

    assert response["statusCode"] == 201, response
    assert faults.attempts[operation] == 2
    (planted,) = faults.planted
    after = scan(faults.plain)
    assert_nothing_half_written(before, after)
    kept, published = new_tokens(before, after)
    (fresh,) = published
    assert fresh != planted
    assert kept == ({fresh} if case.persistent else frozenset())
    if response.get("isBase64Encoded") is not True:
        assert json_body(response)["result"]["id"] == fresh
    assert planted in after.backbone or table == RECORDS_TABLE  # the decoy is untouched, never the token


@pytest.mark.parametrize(
    ("use_case", "operation"), [("file-json-ephemeral", "PutItem"), ("file-json-persistent", "TransactWriteItems")]
)
def test_collisions_on_every_attempt_end_in_503(faults: Faults, setup: Setup, use_case: str, operation: str) -> None:
    before = scan(faults.plain)
    faults.on(operation, faults.collide(BACKBONE_TABLE))
    response = USE_CASES[use_case].run(setup)

    assert response["statusCode"] == 503, response
    assert faults.attempts[operation] == 5  # storage/embedded_backbone.py _ID_ATTEMPTS
    after = scan(faults.plain)
    assert_nothing_half_written(before, after)
    assert new_tokens(before, after) == (frozenset(), frozenset())


def test_a_lost_transaction_answer_leaves_complete_tokens_only(faults: Faults, setup: Setup) -> None:
    """The transaction commits, its answer is lost (read timeout), botocore retries it: the retry collides with
    the token just written, and the service publishes a fresh one. Nothing is half-written; the first token is
    an orphan (complete, in both tables, never returned). See the report: a ClientRequestToken would make the
    retry idempotent."""
    before = scan(faults.plain)
    faults.on("TransactWriteItems", faults.lose_response, frozenset({1}))
    response = USE_CASES["file-json-persistent"].run(setup)

    assert response["statusCode"] == 201, response
    after = scan(faults.plain)
    assert_nothing_half_written(before, after)
    kept, published = new_tokens(before, after)
    assert kept == published
    assert json_body(response)["result"]["id"] in kept
    print(
        f"\nlost transaction answer: {len(kept)} complete tokens written, 1 returned, attempts {dict(faults.attempts)}"
    )


def test_a_transaction_cancelled_by_throttling_once_is_retried(faults: Faults, setup: Setup) -> None:
    before = scan(faults.plain)
    faults.on("TransactWriteItems", cancelled_by_throttling, frozenset({1}))
    response = USE_CASES["file-json-persistent"].run(setup)

    assert response["statusCode"] == 201, response
    assert faults.attempts["TransactWriteItems"] == 2
    kept, published = new_tokens(before, scan(faults.plain))
    assert kept == published == {json_body(response)["result"]["id"]}


def test_a_lost_put_answer_is_recognised_as_our_own_write(faults: Faults, setup: Setup) -> None:
    """The ephemeral put commits, its answer is lost, botocore retries: the retry's failed condition returns
    the stored item, which is ours (same cipher), so no second token is published."""

    def lose_put_response(request: Any) -> AWSResponse:
        faults.plain.put_item(**_blobs_to_bytes(json.loads(request.body)))
        raise ReadTimeoutError(endpoint_url=request.url)

    before = scan(faults.plain)
    faults.on("PutItem", lose_put_response, frozenset({1}))
    response = USE_CASES["file-json-ephemeral"].run(setup)

    assert response["statusCode"] == 201, response
    _, published = new_tokens(before, scan(faults.plain))
    assert published == {json_body(response)["result"]["id"]}


def test_an_uncountable_wrong_password_is_503_and_a_right_one_is_never_counted(faults: Faults, setup: Setup) -> None:
    """A wrong password that cannot be counted is not answered 404 (it would be an uncounted guess); a right one
    needs no count at all, so it succeeds whatever the counter's state (SPEC §9), as on the Backbone."""
    faults.on("UpdateItem", throttled)
    wrong = USE_CASES["peer-wrong-password"].run(setup)
    right = USE_CASES["peer-right-password"].run(setup)
    assert wrong["statusCode"] == 503 and right["statusCode"] == 200
    token = faults.plain.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": setup.protected_token}})["Item"]
    assert token["failedAttempts"]["N"] == "0"
