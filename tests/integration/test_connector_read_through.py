"""Files and RelationshipTemplates read through from the team's Connector (SPEC §15), through the Lambda handlers
on moto against the stand-in Connector (local/standin_connector.py), in both of its generations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.encoding import b64url_encode
from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.ids import new_id
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens.usecases.read_through import ReadThroughRecords
from nmshd_tokens_local.standin_connector import StandinConnector

from tests.conftest import RECORDS_TABLE
from tests.support import BACKBONE_BASE_URL, ROUTES, FakeClock, Functions, api_event, future, iso, json_body

ADDRESS = "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb"  # TEST_SETTINGS' SERVICE_ADDRESS
OTHER_ADDRESS = "did:e:localhost:dids:0123456789abcdef012357"
KEY = "connector-test-key-0123456789"
CACHE_SECONDS = 300
UNAVAILABLE = "error.connector.serviceUnavailable"


@pytest.fixture(params=["7.4.6", "6.36.11"], ids=["connector7", "connector6"])
def connector(request: pytest.FixtureRequest) -> Iterator[StandinConnector]:
    with StandinConnector(ADDRESS, api_key=KEY, version=request.param) as standin:
        yield standin


@pytest.fixture
def reading(functions: Functions, connector: StandinConnector, clock: FakeClock) -> Functions:
    """The functions with the stand-in as their Connector; the read-through on the test's clock."""
    configured = functions.configured(
        connector_base_url=connector.base_url,
        connector_api_key=KEY,
        records_cache_seconds=CACHE_SECONDS,
        backbone_base_url=BACKBONE_BASE_URL,
    )
    on_clock(configured, clock)
    return configured


def on_clock(functions: Functions, clock: FakeClock) -> None:
    records = functions.container.token_records
    assert isinstance(records, ReadThroughRecords)
    records.clock = lambda: clock.now().timestamp()


def later(days: int = 20) -> datetime:
    """A time the table keeps exactly (it stores milliseconds)."""
    return future(days).replace(microsecond=0)


def new_file() -> FileRecord:
    return FileRecord(new_id("FIL"), generate_key(), later())


def new_template(*, pin: str | None = None, for_identity: str | None = None) -> TemplateRecord:
    protection = StoredPasswordProtection(pin, f"pin{len(pin)}", generate_salt(), 50) if pin else None
    return TemplateRecord(new_id("RLT"), generate_key(), later(), True, for_identity, protection)


def create_file_token(functions: Functions, file_id: str, body: Any = None) -> dict[str, Any]:
    return functions.invoke("file_token", api_event(ROUTES["file_token"][1], file_id, body=body))


def token_content(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] == 201, response["body"]
    dto = json_body(response)["result"]
    return dict(dto["content"])


def stored_item(aws: Any, record_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = aws.get_item(TableName=RECORDS_TABLE, Key={"id": {"S": record_id}}).get("Item")
    return item


def count_reads(aws: Any) -> list[str]:
    """The ids of every GetItem on the client from now on."""
    reads: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        reads.append(params["Key"]["id"]["S"])

    aws.meta.events.register("provide-client-params.dynamodb.GetItem", seen)
    return reads


# --- read-through ------------------------------------------------------------------------------------------


def test_a_file_only_the_connector_knows_gets_a_token_with_its_key(
    reading: Functions, connector: StandinConnector, aws: Any
) -> None:
    file = new_file()
    connector.add(file)
    content = token_content(create_file_token(reading, file.id))
    assert content["fileId"] == file.id
    assert content["secretKey"]["key"] == b64url_encode(
        parse_reference(connector.dtos[file.id]["reference"]["truncated"]).key
    )
    assert content["secretKey"]["key"] == b64url_encode(file.secret_key)
    item = stored_item(aws, file.id)
    assert item is not None and item["source"] == {"S": "connector"} and item["type"] == {"S": "File"}


def test_a_template_only_the_connector_knows_keeps_its_password_and_personalisation(
    reading: Functions, connector: StandinConnector
) -> None:
    template = new_template(pin="4711", for_identity=OTHER_ADDRESS)
    connector.add(template)
    body = {"expiresAt": iso(future(5)), "forIdentity": OTHER_ADDRESS}
    body["passwordProtection"] = {"password": "4711", "passwordIsPin": True, "passwordLocationIndicator": 50}
    event = api_event(ROUTES["template_token"][1], template.id, body=body)
    content = token_content(reading.invoke("template_token", event))
    assert content["templateId"] == template.id and content["forIdentity"] == OTHER_ADDRESS
    protection = template.password_protection
    assert protection is not None
    assert content["passwordProtection"]["passwordType"] == "pin4"
    assert content["passwordProtection"]["passwordLocationIndicator"] == 50
    stored = DynamoRecordsRepository(RECORDS_TABLE, reading.dynamodb).get_template(template.id)
    assert stored == template  # the mapping of records import: key, salt, type, password, expiry


def test_the_generation_is_asked_once_and_the_right_prefix_is_used(
    reading: Functions, connector: StandinConnector
) -> None:
    file = new_file()
    connector.add(file)
    create_file_token(reading, file.id)
    create_file_token(reading, file.id)
    prefix = "/api/core/v1" if connector.version.startswith("7") else "/api/v2"
    assert [call.path for call in connector.calls] == [
        "/Monitoring/Version",
        f"{prefix}/Account/IdentityInfo",
        f"{prefix}/Files/{file.id}",
    ]


def test_a_configured_generation_is_not_asked(functions: Functions, connector: StandinConnector) -> None:
    api = "core/v1" if connector.version.startswith("7") else "v2"
    configured = functions.configured(connector_base_url=connector.base_url, connector_api_key=KEY, connector_api=api)
    file = new_file()
    connector.add(file)
    assert create_file_token(configured, file.id)["statusCode"] == 201
    assert connector.calls_to("/Monitoring/Version") == 0


# --- the cache period --------------------------------------------------------------------------------------


def test_within_the_cache_period_no_connector_call_and_one_table_read(
    reading: Functions, connector: StandinConnector, aws: Any, clock: FakeClock
) -> None:
    file = new_file()
    connector.add(file)
    assert create_file_token(reading, file.id)["statusCode"] == 201
    reads = count_reads(aws)
    for _ in range(3):
        clock.advance(CACHE_SECONDS / 4)
        assert create_file_token(reading, file.id)["statusCode"] == 201
    assert connector.calls_to(file.id) == 1
    assert reads.count(file.id) == 0  # the instance's memory answered


def test_another_instance_uses_the_table_copy_within_the_period(
    reading: Functions, connector: StandinConnector, aws: Any, clock: FakeClock
) -> None:
    file = new_file()
    connector.add(file)
    assert create_file_token(reading, file.id)["statusCode"] == 201
    other = reading.configured()  # a second warm instance of the same deployment
    on_clock(other, clock)
    clock.advance(CACHE_SECONDS - 1)
    reads = count_reads(aws)
    assert create_file_token(other, file.id)["statusCode"] == 201
    assert create_file_token(other, file.id)["statusCode"] == 201
    assert connector.calls_to(file.id) == 1
    assert reads.count(file.id) == 1


def test_after_the_cache_period_one_more_read_refreshes_the_copy(
    reading: Functions, connector: StandinConnector, aws: Any, clock: FakeClock
) -> None:
    file = new_file()
    connector.add(file)
    assert create_file_token(reading, file.id)["statusCode"] == 201
    renewed = FileRecord(file.id, file.secret_key, later(40))
    connector.add(renewed)
    clock.advance(CACHE_SECONDS + 1)
    dto = json_body(create_file_token(reading, file.id))["result"]
    assert connector.calls_to(file.id) == 2
    assert dto["expiresAt"] == format_timestamp(renewed.expires_at)  # type: ignore[arg-type]
    item = stored_item(aws, file.id)
    assert item is not None and int(item["readAt"]["N"]) == int(clock.now().timestamp())


def test_records_of_the_tooling_are_never_replaced(
    reading: Functions, connector: StandinConnector, records: DynamoRecordsRepository, clock: FakeClock
) -> None:
    mine = new_file()
    records.put_file(mine)
    connector.add(FileRecord(mine.id, generate_key(), future(3)))  # the Connector's differs
    clock.advance(CACHE_SECONDS * 10)
    content = token_content(create_file_token(reading, mine.id))
    assert content["secretKey"]["key"] == b64url_encode(mine.secret_key)
    assert connector.calls_to(mine.id) == 0
    assert records.get_file(mine.id) == mine


# --- the Connector's answers -------------------------------------------------------------------------------


def test_the_connectors_404_is_ours_and_removes_the_copy(
    reading: Functions, connector: StandinConnector, aws: Any, clock: FakeClock
) -> None:
    file = new_file()
    connector.add(file)
    assert create_file_token(reading, file.id)["statusCode"] == 201
    connector.remove(file.id)
    clock.advance(CACHE_SECONDS + 1)
    response = create_file_token(reading, file.id)
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "error.runtime.recordNotFound"
    assert stored_item(aws, file.id) is None


def test_an_unknown_template_is_404(reading: Functions) -> None:
    response = reading.invoke("template_token", api_event(ROUTES["template_token"][1], new_id("RLT"), body={}))
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["message"].startswith("RelationshipTemplate not found.")


@pytest.mark.parametrize(
    ("fail", "says"),
    [
        ("401", "refused this service's API key (HTTP 401)"),
        ("403", "refused this service's API key (HTTP 403)"),
        ("500", "answered badly: HTTP 500"),
        ("malformed", "answered badly"),
        ("down", "could not be reached or did not answer within 2 s"),
    ],
)
def test_a_connector_that_refuses_or_answers_badly_is_503(
    reading: Functions, connector: StandinConnector, fail: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    file = new_file()
    connector.add(file)
    connector.fail = fail
    response = create_file_token(reading, file.id)
    assert response["statusCode"] == 503
    error = json_body(response)["error"]
    assert error["code"] == UNAVAILABLE and says in error["message"]
    assert KEY not in response["body"] and KEY not in caplog.text


def test_a_malformed_dto_is_503_and_stores_nothing(reading: Functions, connector: StandinConnector, aws: Any) -> None:
    file = new_file()
    connector.add(file)
    create_file_token(reading, file.id)  # the identity and version are known now
    other = new_file()
    connector.add(other)
    connector.fail, connector.fail_ids = "malformed", {other.id}
    response = create_file_token(reading, other.id)
    assert response["statusCode"] == 503
    assert "answered badly: a malformed FileDTO" in json_body(response)["error"]["message"]
    assert stored_item(aws, other.id) is None


def test_a_wrong_key_is_refused(functions: Functions, connector: StandinConnector) -> None:
    configured = functions.configured(connector_base_url=connector.base_url, connector_api_key="not-the-key")
    response = create_file_token(configured, new_id("FIL"))
    assert response["statusCode"] == 503
    assert "refused this service's API key (HTTP 401)" in json_body(response)["error"]["message"]


def test_a_connector_slower_than_2_s_is_503(reading: Functions, connector: StandinConnector) -> None:
    file = new_file()
    connector.add(file)
    connector.fail = "slow"
    started = datetime.now(UTC)
    response = create_file_token(reading, file.id)
    connector.release.set()
    assert response["statusCode"] == 503
    assert "did not answer within 2 s" in json_body(response)["error"]["message"]
    assert (datetime.now(UTC) - started).total_seconds() < connector.slow_seconds  # it gave up, not the stand-in


# --- the identity --------------------------------------------------------------------------------------------


def test_a_service_address_that_is_not_the_connectors_is_503_naming_both(
    functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    with StandinConnector(OTHER_ADDRESS, api_key=KEY) as other:
        file = new_file()
        other.add(file)
        configured = functions.configured(connector_base_url=other.base_url, connector_api_key=KEY)
        response = create_file_token(configured, file.id)
    assert response["statusCode"] == 503
    message = json_body(response)["error"]["message"]
    assert ADDRESS in message and OTHER_ADDRESS in message
    assert other.calls_to(file.id) == 0  # no record is read for an identity that is not ours
    assert message in caplog.text


# --- the bulk path -------------------------------------------------------------------------------------------


def test_a_command_reads_through(reading: Functions, connector: StandinConnector) -> None:
    file = new_file()
    connector.add(file)
    result = reading.invoke("file_token", {"fileId": file.id})
    content = result["result"]["content"]
    assert content == {
        "@type": "TokenContentFile",
        "fileId": file.id,
        "secretKey": {"key": b64url_encode(file.secret_key), "alg": 3},
    }


def test_without_a_connector_nothing_is_read_through(functions: Functions) -> None:
    assert isinstance(functions.container.token_records, DynamoRecordsRepository)
    response = create_file_token(functions, new_id("FIL"))
    assert response["statusCode"] == 404


def test_an_sqs_batch_reads_through_and_reports_what_the_connector_lacks(
    reading: Functions, connector: StandinConnector, aws: Any
) -> None:
    from nmshd_tokens.storage.aws_clients import aws_client

    from tests.integration.test_batch import BUCKET, error_of, objects, run, sqs_event, token_outputs

    client = aws_client("s3", "eu-central-1")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    batch = reading.configured(output_bucket=BUCKET)
    file, template = new_file(), new_template()
    connector.add(file)
    connector.add(template)
    missing = new_id("FIL")
    event = sqs_event(
        ("m-file", {"fileId": file.id, "outputKey": "f"}),
        ("m-template", {"templateId": template.id, "outputKey": "t"}),
        ("m-missing", {"fileId": missing, "outputKey": "x"}),
    )
    assert run(batch, event) == []  # a record the Connector lacks is a permanent failure: no retry
    stored = objects(client)
    ((_, file_dto),) = token_outputs(stored, "f").items()
    ((_, template_dto),) = token_outputs(stored, "t").items()
    assert file_dto["content"]["secretKey"]["key"] == b64url_encode(file.secret_key)
    assert template_dto["content"]["secretKey"]["key"] == b64url_encode(template.secret_key)
    errors = [key for key in stored if key.startswith("x/")]
    assert len(errors) == 1 and error_of(stored, errors[0])["code"] == "error.runtime.recordNotFound"


def test_the_key_comes_from_secrets_manager_in_aws(functions: Functions, connector: StandinConnector) -> None:
    from nmshd_tokens.storage.aws_clients import aws_client

    secrets = aws_client("secretsmanager", "eu-central-1")
    arn = secrets.create_secret(Name="connector-api-key", SecretString=KEY)["ARN"]
    configured = functions.configured(connector_base_url=connector.base_url, connector_api_key_secret_arn=arn)
    file = new_file()
    connector.add(file)
    assert create_file_token(configured, file.id)["statusCode"] == 201

    missing = functions.configured(connector_base_url=connector.base_url, connector_api_key_secret_arn=arn + "x")
    response = create_file_token(missing, new_id("FIL"))
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["message"] == "The Connector's API key could not be read from its secret."


def test_a_wrong_connector_url_is_503_not_404(functions: Functions, connector: StandinConnector, aws: Any) -> None:
    configured = functions.configured(
        connector_base_url=connector.base_url + "/not-the-connector", connector_api_key=KEY
    )
    response = create_file_token(configured, new_id("FIL"))
    assert response["statusCode"] == 503
    assert "check CONNECTOR_BASE_URL" in json_body(response)["error"]["message"]


# --- Connector 7's scoped API keys -----------------------------------------------------------------------------

READ_THROUGH_SCOPES = {"core:files", "core:relationshipTemplates"}


def test_a_key_with_only_the_files_and_templates_scopes_suffices(
    functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    with StandinConnector(ADDRESS, api_key=KEY) as scoped:
        scoped.scopes = READ_THROUGH_SCOPES
        file, template = new_file(), new_template()
        scoped.add(file)
        scoped.add(template)
        configured = functions.configured(connector_base_url=scoped.base_url, connector_api_key=KEY)
        assert create_file_token(configured, file.id)["statusCode"] == 201
        event = api_event(ROUTES["template_token"][1], template.id, body={})
        assert configured.invoke("template_token", event)["statusCode"] == 201
        assert scoped.calls_to(f"/api/core/v1/Files/{file.id}") == 1
    assert "may not read its identity" in caplog.text


def test_with_such_a_key_each_records_owner_is_compared(functions: Functions) -> None:
    with StandinConnector(OTHER_ADDRESS, api_key=KEY) as other:
        other.scopes = READ_THROUGH_SCOPES
        file = new_file()
        other.add(file)
        configured = functions.configured(connector_base_url=other.base_url, connector_api_key=KEY)
        response = create_file_token(configured, file.id)
    assert response["statusCode"] == 503
    message = json_body(response)["error"]["message"]
    assert ADDRESS in message and OTHER_ADDRESS in message
    assert stored_item(configured.dynamodb, file.id) is None
