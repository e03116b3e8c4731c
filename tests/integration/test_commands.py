"""Direct invocation of the token functions with a command event (no API Gateway; SPEC §10)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from nmshd_tokens.config import ConfigError
from nmshd_tokens.domain.crypto import generate_key
from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.entry_points.api import CommandFailed, error_class
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens.usecases.create_token import TokenCreation

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import BACKBONE_BASE_URL, ROOT, Functions, decode_qr, future, iso

Factory = Callable[..., Any]
INVALID = "error.runtime.validation.invalidPropertyValue"


def call(functions: Functions, function: str, event: Any) -> dict[str, Any]:
    result: dict[str, Any] = functions.invoke(function, event)
    return result


def failure(functions: Functions, function: str, event: Any) -> CommandFailed:
    with pytest.raises(CommandFailed) as caught:
        call(functions, function, event)
    return caught.value


@contextmanager
def throttle(client: Any, operation: str, marker: str) -> Iterator[list[str]]:
    """DynamoDB answers `operation` requests whose body contains `marker` with ThrottlingException.

    A botocore before-call handler returns the response itself, so no retry or moto is involved: the application
    sees what it sees after the SDK's retries ran out.
    """
    hits: list[str] = []

    def refuse(params: dict[str, Any], **_: Any) -> Any:
        body = params.get("body") or b""
        if marker not in (body.decode() if isinstance(body, bytes) else str(body)):
            return None
        hits.append(marker)
        error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."}
        parsed = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return SimpleNamespace(status_code=400, headers={}), parsed

    event = f"before-call.dynamodb.{operation}"
    client.meta.events.register(event, refuse)
    try:
        yield hits
    finally:
        client.meta.events.unregister(event, refuse)


def item(client: Any, table: str, item_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.get_item(TableName=table, Key={"id": {"S": item_id}}).get("Item")
    return found


# --- success ---------------------------------------------------------------------------------------------


def test_file_command_returns_the_token_dto(with_base_url: Functions, make_file: Factory) -> None:
    file = make_file(future(10))
    result = call(with_base_url, "file_token", {"fileId": file.id, "ephemeral": False, "expiresAt": iso(future(5))})
    assert set(result) == {"result"}
    dto = result["result"]
    assert dto["id"].startswith("TOK") and dto["isEphemeral"] is False
    assert dto["content"]["fileId"] == file.id
    assert dto["reference"]["url"].startswith(f"{BACKBONE_BASE_URL}/r/{dto['id']}#")
    kept = DynamoRecordsRepository(RECORDS_TABLE, with_base_url.dynamodb).get_token(dto["id"])
    assert kept is not None and kept.to_dto() == dto
    assert item(with_base_url.dynamodb, BACKBONE_TABLE, dto["id"]) is not None


def test_qr_code_command_returns_an_ephemeral_token_and_its_png(with_base_url: Functions, make_file: Factory) -> None:
    file = make_file(future(10))
    result = call(with_base_url, "file_token", {"fileId": file.id, "qrCode": True, "ephemeral": False})
    dto = result["result"]
    assert dto["isEphemeral"] is True  # a QR token is ephemeral, as over HTTP
    assert item(with_base_url.dynamodb, RECORDS_TABLE, dto["id"]) is None
    png = base64.b64decode(result["qrCodePng"], validate=True)
    assert png.startswith(b"\x89PNG")
    assert decode_qr(png) == dto["reference"]["url"]


def test_template_command_with_the_legacy_qr_format(with_base_url: Functions, make_template: Factory) -> None:
    template = make_template(expires_at=future(10))
    result = call(
        with_base_url, "template_token", {"templateId": template.id, "qrCode": True, "newQRCodeFormat": False}
    )
    reference = decode_qr(base64.b64decode(result["qrCodePng"]))
    assert reference == "nmshd://tr#" + result["result"]["reference"]["truncated"]
    assert parse_reference(reference).id == result["result"]["id"]
    assert result["result"]["content"]["templateId"] == template.id


def test_new_qr_code_format_is_ignored_without_qr_code(with_base_url: Functions, make_file: Factory) -> None:
    file = make_file(future(10))
    assert set(call(with_base_url, "file_token", {"fileId": file.id, "newQRCodeFormat": "x"})) == {"result"}


def test_api_gateway_events_still_reach_the_routes(with_base_url: Functions, make_file: Factory) -> None:
    from tests.support import ROUTES, api_event, json_body

    file = make_file(future(10))
    response = call(with_base_url, "file_token", api_event(ROUTES["file_token"][1], file.id, body={}))
    assert response["statusCode"] == 201 and json_body(response)["result"]["content"]["fileId"] == file.id


@pytest.mark.parametrize(
    ("function", "name"),
    [
        ("file_token", "file_token_command"),
        ("file_token", "file_token_command_qr"),
        ("template_token", "template_token_command"),
        ("template_token", "template_token_command_qr"),
    ],
)
def test_sample_command_events(
    with_base_url: Functions, records: DynamoRecordsRepository, function: str, name: str
) -> None:
    records.put_file(FileRecord("FILdemo0000000000001", generate_key()))
    records.put_template(TemplateRecord("RLTdemo0000000000001", generate_key()))
    event = json.loads((ROOT / "events" / f"{name}.json").read_text(encoding="utf-8"))
    result = call(with_base_url, function, event)
    assert ("qrCodePng" in result) == event.get("qrCode", False)
    assert result["result"]["isEphemeral"] is (event.get("qrCode", False) or event.get("ephemeral", True))


# --- failures: the exception's class name is the error code ---------------------------------------------


@pytest.mark.parametrize(
    ("function", "event", "code", "message"),
    [
        ("file_token", {}, INVALID, "must have required property 'fileId'"),
        ("template_token", {"fileId": "FIL00000000000000001"}, INVALID, "must have required property 'templateId'"),
        ("file_token", {"fileId": "RLT00000000000000001"}, INVALID, "fileId must match pattern FIL[A-Za-z0-9]{17}"),
        ("file_token", {"fileId": "FIL00000000000000001", "qrCode": "yes"}, INVALID, "qrCode must be boolean"),
        (
            "file_token",
            {"fileId": "FIL00000000000000001", "qrCode": True, "newQRCodeFormat": 1},
            INVALID,
            "newQRCodeFormat must be boolean",
        ),
        ("file_token", {"fileId": "FIL00000000000000001", "ephemeral": "no"}, INVALID, "ephemeral must be boolean"),
        (
            "file_token",
            {"fileId": "FIL00000000000000001", "expiresAt": "2000-01-01T00:00Z"},
            INVALID,
            "'expiresAt' must be in the future",
        ),
        (
            "file_token",
            {"fileId": "FIL00000000000000001"},
            "error.runtime.recordNotFound",
            "File not found. Make sure the ID exists and the record is not expired.",
        ),
        (
            "template_token",
            {"templateId": "RLT00000000000000001"},
            "error.runtime.recordNotFound",
            "RelationshipTemplate not found. Make sure the ID exists and the record is not expired.",
        ),
        (
            "file_token",
            ["not", "an", "object"],
            "error.connector.validation.invalidJsonInPayload",
            "The given payload is not a valid json object.",
        ),
    ],
)
def test_failures_raise_a_class_named_by_the_code(
    with_base_url: Functions, function: str, event: Any, code: str, message: str
) -> None:
    error = failure(with_base_url, function, event)
    assert type(error).__name__ == code  # what Lambda reports as errorType, what a Step Functions Catch matches
    assert str(error) == message  # Lambda's errorMessage
    assert error.code == code and error.status in (400, 404)
    assert type(error) is error_class(code)  # one class per code


def test_rule_errors_of_templates(with_base_url: Functions, make_template: Factory) -> None:
    peer = make_template(is_own=False)
    personalised = make_template(for_identity="did:e:localhost:dids:0123456789abcdef012357")
    assert type(failure(with_base_url, "template_token", {"templateId": peer.id})).__name__ == (
        "error.runtime.relationshipTemplates.cannotCreateTokenForPeerTemplate"
    )
    assert type(failure(with_base_url, "template_token", {"templateId": personalised.id})).__name__ == (
        "error.runtime.relationshipTemplates.personalizationMustBeInherited"
    )


def test_throttling_is_service_unavailable(with_base_url: Functions, make_file: Factory) -> None:
    file = make_file(future(10))
    with throttle(with_base_url.dynamodb, "GetItem", file.id) as hits:
        error = failure(with_base_url, "file_token", {"fileId": file.id})
    assert hits
    assert type(error).__name__ == "error.connector.serviceUnavailable" and error.status == 503


def test_unexpected_errors_say_nothing_and_log_only_the_type(
    with_base_url: Functions,
    make_file: Factory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(self: TokenCreation, request: Any, *_: Any) -> Any:
        raise RuntimeError(f"boom {request.password_protection.password}")

    monkeypatch.setattr(TokenCreation, "for_file", explode)
    file = make_file(future(10))
    error = failure(
        with_base_url, "file_token", {"fileId": file.id, "passwordProtection": {"password": "hunter2-secret"}}
    )
    assert type(error).__name__ == "error.connector.unexpected"
    assert str(error) == "An unexpected error occurred."
    assert error.__cause__ is None and error.__suppress_context__
    logged = [record.__dict__ for record in caplog.records]
    assert any(fields.get("error_type") == "RuntimeError" for fields in logged)
    assert "hunter2-secret" not in repr(logged)


def test_a_command_needs_backbone_base_url(functions: Functions, make_file: Factory) -> None:
    file = make_file(future(10))
    with pytest.raises(ConfigError, match="BACKBONE_BASE_URL"):
        call(functions, "file_token", {"fileId": file.id})
