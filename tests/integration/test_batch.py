"""Bulk creation through the SQS-fed function: outputs in S3, exactly once per message.

moto stands in for DynamoDB and S3; the SQS events are shaped like events/token_batch_sqs.json.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nmshd_tokens.config import ConfigError
from nmshd_tokens.domain.crypto import generate_key
from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
from nmshd_tokens.storage.aws_clients import aws_client
from nmshd_tokens.storage.command_log import DynamoCommandLog, record_id
from nmshd_tokens.storage.outputs_s3 import S3OutputStore
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens.storage.remote_backbone import RemoteBackbone
from nmshd_tokens.usecases.batch import Message, Outcome
from nmshd_tokens_local.standin_backbone import StandinBackbone

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.integration.test_commands import throttle
from tests.support import BACKBONE_BASE_URL, ROOT, FakeContext, Functions, decode_qr, future

Factory = Callable[..., Any]
BUCKET = "test-token-outputs"
SAMPLE = json.loads((ROOT / "events" / "token_batch_sqs.json").read_text(encoding="utf-8"))


@pytest.fixture
def s3(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The aws fixture (moto DynamoDB) plus the output bucket."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    client = aws_client("s3", "eu-central-1")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    return client


@pytest.fixture
def batch(functions: Functions, s3: Any) -> Functions:
    """The functions with the batch function's configuration: the output bucket and BACKBONE_BASE_URL."""
    return functions.configured(backbone_base_url=BACKBONE_BASE_URL, output_bucket=BUCKET)


def sqs_event(*messages: tuple[str, Any]) -> dict[str, Any]:
    """An SQS event with the sample's record shape; a body that is not a string is sent as its JSON."""
    records = []
    for message_id, body in messages:
        record = copy.deepcopy(SAMPLE["Records"][0])
        text = body if isinstance(body, str) else json.dumps(body)
        record |= {"messageId": message_id, "body": text, "md5OfBody": hashlib.md5(text.encode()).hexdigest()}
        records.append(record)
    return {"Records": records}


def run(batch: Functions, event: dict[str, Any], context: Any = None) -> list[str]:
    """The ids the function reports as failed."""
    response = batch.handler("token_batch")(event, context or FakeContext())
    assert set(response) == {"batchItemFailures"}
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def objects(s3: Any) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {entry["Key"]: s3.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read() for entry in listed}


def count(aws: Any, table: str, item_type: str | None = None) -> int:
    items = aws.scan(TableName=table).get("Items", [])
    return len([item for item in items if item_type is None or item.get("type", {}).get("S") == item_type])


def token_outputs(stored: dict[str, bytes], prefix: str = "tokens") -> dict[str, dict[str, Any]]:
    """TokenDTOs written under `prefix`, by token id."""
    return {
        key.rsplit("/", 1)[1][:-5]: json.loads(body)
        for key, body in stored.items()
        if key.startswith(f"{prefix}/TOK") and key.endswith(".json")
    }


def error_of(stored: dict[str, bytes], key: str) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(stored[key])["error"]
    assert set(error) == {"code", "message", "id", "time", "docs"}
    return error


def _blind_once(log: DynamoCommandLog) -> DynamoCommandLog:
    """The log, except that the first look finds nothing: a delivery that read before another one wrote."""
    real_get = log.get
    looks: list[str] = []

    def get(key: str) -> Any:
        looks.append(key)
        return None if len(looks) == 1 else real_get(key)

    log.get = get  # type: ignore[method-assign]
    return log


# --- a mixed batch, then the same batch again ------------------------------------------------------------


def test_mixed_batch_then_redelivery_creates_nothing_new(
    batch: Functions, s3: Any, aws: Any, make_file: Factory
) -> None:
    file = make_file(future(10))
    event = sqs_event(
        ("m-qr", {"fileId": file.id, "qrCode": True, "idempotencyKey": "order-1"}),
        ("m-kept", {"fileId": file.id, "ephemeral": False, "outputKey": "/campaign/7/"}),
        ("m-json", "{not json"),
        ("m-invalid", {"qrCode": True}),
        ("m-missing", {"fileId": "FIL00000000000000001"}),
        ("m-duplicate", {"fileId": file.id, "qrCode": True, "idempotencyKey": "order-1"}),
        ("m-bad-prefix", {"fileId": file.id, "outputKey": "../elsewhere"}),
    )
    assert run(batch, event) == []  # permanent failures count as processed: no retry

    stored = objects(s3)
    (qr_id,) = token_outputs(stored)
    (kept_id,) = token_outputs(stored, "campaign/7")
    assert set(stored) == {
        f"tokens/{qr_id}.png",
        f"tokens/{qr_id}.json",
        f"campaign/7/{kept_id}.json",
        "tokens/errors/m-json.json",
        "tokens/errors/m-invalid.json",
        "tokens/errors/m-missing.json",
        "tokens/errors/m-bad-prefix.json",
    }
    assert error_of(stored, "tokens/errors/m-json.json")["code"] == "error.connector.validation.invalidJsonInPayload"
    assert error_of(stored, "tokens/errors/m-invalid.json")["message"] == "must have required property 'fileId'"
    assert error_of(stored, "tokens/errors/m-missing.json")["code"] == "error.runtime.recordNotFound"
    assert error_of(stored, "tokens/errors/m-bad-prefix.json")["message"].startswith("outputKey must match pattern")
    # Two tokens (the duplicate made none); only the non-ephemeral one is kept in the records table.
    assert count(aws, BACKBONE_TABLE) == 2
    assert count(aws, RECORDS_TABLE, "Token") == 1
    assert count(aws, RECORDS_TABLE, "Command") == 6  # m-duplicate shares order-1's record
    kept = token_outputs(stored, "campaign/7")[kept_id]
    assert kept["isEphemeral"] is False and token_outputs(stored)[qr_id]["isEphemeral"] is True

    assert run(batch, event) == []  # SQS delivers the whole batch again
    assert objects(s3) == stored  # every object byte for byte, error envelopes included (not rewritten)
    assert count(aws, BACKBONE_TABLE) == 2
    assert count(aws, RECORDS_TABLE, "Command") == 6


def test_written_pngs_decode_to_the_reference_in_the_written_json(
    batch: Functions, s3: Any, make_file: Factory
) -> None:
    file = make_file(future(10))
    run(
        batch,
        sqs_event(
            ("m-url", {"fileId": file.id, "qrCode": True}),
            ("m-legacy", {"fileId": file.id, "qrCode": True, "newQRCodeFormat": False, "outputKey": "legacy"}),
        ),
    )
    stored = objects(s3)
    ((url_id, url_dto),) = token_outputs(stored).items()
    assert decode_qr(stored[f"tokens/{url_id}.png"]) == url_dto["reference"]["url"]
    ((legacy_id, legacy_dto),) = token_outputs(stored, "legacy").items()
    assert decode_qr(stored[f"legacy/{legacy_id}.png"]) == "nmshd://tr#" + legacy_dto["reference"]["truncated"]


def test_the_sample_event(batch: Functions, s3: Any, records: DynamoRecordsRepository) -> None:
    records.put_file(FileRecord("FILdemo0000000000001", generate_key()))
    records.put_template(TemplateRecord("RLTdemo0000000000001", generate_key()))
    assert run(batch, SAMPLE) == []
    stored = objects(s3)
    assert len(token_outputs(stored, "campaigns/demo")) == 2 and len(token_outputs(stored)) == 1
    assert len([key for key in stored if key.endswith(".png")]) == 2


def test_a_lone_surrogate_idempotency_key_is_a_permanent_failure(
    batch: Functions, s3: Any, aws: Any, make_file: Factory
) -> None:
    body = {"fileId": make_file().id, "idempotencyKey": "k\ud800"}
    assert run(batch, sqs_event(("m-1", body))) == []  # not retried
    error = json.loads(objects(s3)["tokens/errors/m-1.json"])["error"]
    assert error["message"] == "idempotencyKey must be valid Unicode text (no unpaired surrogates)"
    assert count(aws, BACKBONE_TABLE) == 0


def test_template_rules_are_permanent_failures(batch: Functions, s3: Any, make_template: Factory) -> None:
    peer = make_template(is_own=False)
    assert run(batch, sqs_event(("m-peer", {"templateId": peer.id}))) == []
    error = error_of(objects(s3), "tokens/errors/m-peer.json")
    assert error["code"] == "error.runtime.relationshipTemplates.cannotCreateTokenForPeerTemplate"


# --- transient failures and crashes ----------------------------------------------------------------------


def test_a_throttled_message_alone_is_retried(batch: Functions, s3: Any, aws: Any, make_file: Factory) -> None:
    file = make_file(future(10))
    event = sqs_event(*[(f"m-{n}", {"fileId": file.id, "qrCode": True}) for n in range(4)])
    # Throttle the token's transaction of m-2 only (it carries m-2's command record).
    with throttle(aws, "TransactWriteItems", record_id("sqs:m-2")) as hits:
        assert run(batch, event) == ["m-2"]
    assert hits
    assert count(aws, BACKBONE_TABLE) == 3 and len(token_outputs(objects(s3))) == 3
    assert run(batch, sqs_event(("m-2", {"fileId": file.id, "qrCode": True}))) == []  # SQS's retry succeeds
    assert count(aws, BACKBONE_TABLE) == 4 and len(token_outputs(objects(s3))) == 4


def test_crash_between_token_and_outputs_then_redelivery_gives_the_same_token(
    batch: Functions, s3: Any, aws: Any, make_file: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = make_file(future(10))
    event = sqs_event(("m-crash", {"fileId": file.id, "qrCode": True, "passwordProtection": {"password": "1234"}}))
    real_put = S3OutputStore.put

    def crash(self: S3OutputStore, key: str, body: bytes, content_type: str, metadata: Any) -> None:
        raise ConnectionResetError("the execution environment died")

    monkeypatch.setattr(S3OutputStore, "put", crash)
    assert run(batch, event) == ["m-crash"]
    assert objects(s3) == {}
    (published,) = aws.scan(TableName=BACKBONE_TABLE)["Items"]
    pending = DynamoCommandLog(RECORDS_TABLE, aws).get("sqs:m-crash")
    assert pending is not None and not pending.done and pending.token is not None
    assert pending.token.id == published["id"]["S"]

    monkeypatch.setattr(S3OutputStore, "put", real_put)
    assert run(batch, event) == []
    ((token_id, dto),) = token_outputs(objects(s3)).items()
    assert token_id == published["id"]["S"] == dto["id"]
    assert count(aws, BACKBONE_TABLE) == 1
    done = DynamoCommandLog(RECORDS_TABLE, aws).get("sqs:m-crash")
    assert done is not None and done.done and done.token is None  # the secrets are gone from the record
    assert decode_qr(objects(s3)[f"tokens/{token_id}.png"]) == dto["reference"]["url"]


def test_a_concurrent_duplicate_joins_the_first_result(batch: Functions, s3: Any, aws: Any, make_file: Factory) -> None:
    """Two deliveries race: the second one's transaction fails on the command record, not on a new token."""
    file = make_file(future(10))
    body = {"fileId": file.id, "qrCode": True, "idempotencyKey": "race"}
    creator = batch.container.batch_token_creator()
    assert creator.process(Message("m-first", json.dumps(body))) is Outcome.CREATED
    first = objects(s3)

    creator.log = _blind_once(DynamoCommandLog(RECORDS_TABLE, aws))
    assert creator.process(Message("m-second", json.dumps(body))) is Outcome.DUPLICATE
    assert count(aws, BACKBONE_TABLE) == 1 and objects(s3) == first


def test_unexpected_errors_are_retried_and_log_no_body(
    batch: Functions, s3: Any, make_file: Factory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from nmshd_tokens.usecases.create_token import TokenCreation

    def explode(self: TokenCreation, request: Any, *_: Any) -> Any:
        raise KeyError(request.password_protection.password)

    monkeypatch.setattr(TokenCreation, "for_file", explode)
    file = make_file(future(10))
    body = {"fileId": file.id, "passwordProtection": {"password": "hunter2-secret"}}
    assert run(batch, sqs_event(("m-1", body), ("m-2", "{bad json with hunter2-secret"))) == ["m-1"]
    logged = [record.__dict__ for record in caplog.records]
    assert any(fields.get("error_type") == "KeyError" for fields in logged)
    assert "hunter2-secret" not in repr(logged)


def test_messages_near_the_timeout_are_left_for_a_retry(
    batch: Functions, s3: Any, make_file: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    class AlmostOut(FakeContext):
        def get_remaining_time_in_millis(self) -> int:
            return 1_000

    file = make_file(future(10))
    event = sqs_event(("m-1", {"fileId": file.id}), ("m-2", {"fileId": file.id}))
    assert run(batch, event, AlmostOut()) == ["m-1", "m-2"]
    assert objects(s3) == {}
    # Said once, with the figures an operator needs to see that the timeout is too short.
    (warning,) = [record for record in caplog.records if "given back" in record.getMessage()]
    assert warning.levelname == "WARNING"
    assert (warning.given_back, warning.remaining_ms) == (2, 1_000)  # type: ignore[attr-defined]


def test_the_batch_function_needs_its_bucket(functions: Functions) -> None:
    with pytest.raises(ConfigError, match="TOKEN_OUTPUT_BUCKET"):
        run(functions.configured(backbone_base_url=BACKBONE_BASE_URL), sqs_event(("m-1", {})))


# --- remote Backbone: no shared transaction ---------------------------------------------------------------


@pytest.fixture
def standin(s3: Any, aws: Any) -> Iterator[StandinBackbone]:
    with StandinBackbone() as backbone:
        aws.delete_table(TableName=BACKBONE_TABLE)  # proves the embedded backbone is not used
        yield backbone


def test_remote_mode_batch_and_redelivery(
    batch: Functions, standin: StandinBackbone, s3: Any, aws: Any, make_file: Factory
) -> None:
    remote = batch.against(standin)
    file = make_file(future(10))
    event = sqs_event(
        ("m-qr", {"fileId": file.id, "qrCode": True, "idempotencyKey": "remote-1"}),
        ("m-kept", {"fileId": file.id, "ephemeral": False}),
        ("m-duplicate", {"fileId": file.id, "qrCode": True, "idempotencyKey": "remote-1"}),
    )
    assert run(remote, event) == [] and run(remote, event) == []
    stored = objects(s3)
    dtos = token_outputs(stored)
    assert len(dtos) == 2 and set(standin.tokens) == set(dtos)
    assert count(aws, RECORDS_TABLE, "Token") == 1
    (qr_id,) = [token_id for token_id, dto in dtos.items() if dto["isEphemeral"]]
    assert decode_qr(stored[f"tokens/{qr_id}.png"]).startswith(f"{standin.base_url}/r/{qr_id}#")


def test_remote_mode_race_costs_an_orphan_token_never_a_second_result(
    batch: Functions, standin: StandinBackbone, s3: Any, aws: Any, make_file: Factory
) -> None:
    """The record follows the token, so the losing delivery's token is left unused (the documented window)."""
    remote = batch.against(standin)
    file = make_file(future(10))
    body = json.dumps({"fileId": file.id, "qrCode": True, "idempotencyKey": "race"})
    creator = remote.container.batch_token_creator()
    assert isinstance(creator.creation.publisher, RemoteBackbone)  # no transaction shared with the records
    assert creator.process(Message("m-first", body)) is Outcome.CREATED
    first = objects(s3)
    creator.log = _blind_once(DynamoCommandLog(RECORDS_TABLE, aws))
    assert creator.process(Message("m-second", body)) is Outcome.DUPLICATE
    assert objects(s3) == first
    assert len(standin.tokens) == 2  # the orphan: published, its reference never written anywhere


# --- timing (printed, never asserted: moto is neither DynamoDB nor S3) --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("messages", [10, 100])
def test_batch_timing(batch: Functions, s3: Any, make_file: Factory, messages: int) -> None:
    """`.venv/bin/pytest tests/integration/test_batch.py -k timing -s -p no:xdist` prints the numbers."""
    file = make_file(future(10))
    bodies = [(f"m-{n:04d}", {"fileId": file.id, "qrCode": True}) for n in range(messages + 1)]
    run(batch, sqs_event(bodies[0]))  # warm-up: imports, clients, QR tables (what a warm Lambda already has)
    started = time.perf_counter()
    for offset in range(1, messages + 1, 10):  # batches of 10, as the event source mapping delivers them
        assert run(batch, sqs_event(*bodies[offset : offset + 10])) == []
    elapsed = time.perf_counter() - started
    assert len(objects(s3)) == 2 * (messages + 1)
    # print, not capsys: the Powertools logger keeps the stream it first saw, which capsys would close.
    print(f"\n{messages} messages (QR PNG + JSON each): {elapsed:.2f} s, {1000 * elapsed / messages:.1f} ms each")


def test_batch_metrics_count_each_outcome(
    batch: Functions, s3: Any, make_file: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.test_metrics import emf, named

    file = make_file(future(10))
    capsys.readouterr()
    event = sqs_event(
        ("m-qr", {"fileId": file.id, "qrCode": True, "idempotencyKey": "metrics-1"}),
        ("m-duplicate", {"fileId": file.id, "qrCode": True, "idempotencyKey": "metrics-1"}),
        ("m-refused", {"fileId": "FIL00000000000000001"}),
    )
    assert run(batch, event) == []
    metrics = emf(capsys.readouterr().out)
    outcomes = sorted(m["dimensions"]["Outcome"] for m in named(metrics, "BatchMessages"))
    assert outcomes == ["created", "duplicate", "refused"]
    (created,) = named(metrics, "TokensCreated")
    assert created["dimensions"]["Generation"] == "batch" and created["dimensions"]["Format"] == "png"
    with throttle(batch.container.records.client, "GetItem", ""):  # every read throttled: a transient failure
        assert run(batch, sqs_event(("m-later", {"fileId": file.id}))) == ["m-later"]
    retried = named(emf(capsys.readouterr().out), "BatchMessages")
    assert [(m["dimensions"]["Outcome"], m["value"]) for m in retried] == [("retried", 1.0)]
