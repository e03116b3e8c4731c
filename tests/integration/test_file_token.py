"""Create Token / Token QR code for a File through the Lambda handler (SPEC §3.1, §4, §6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.config import DEFAULT_RETENTION_DAYS
from nmshd_tokens.domain.connector import QrForm
from nmshd_tokens.domain.crypto import decrypt_content
from nmshd_tokens.domain.encoding import b64url_encode
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.storage.records_table import DynamoRecordsRepository

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import (
    BACKBONE_BASE_URL,
    ROUTES,
    Functions,
    api_event,
    decode_qr,
    future,
    header,
    iso,
    json_body,
    png_bytes,
)

RESOURCE = ROUTES["file_token"][1]
MessageFile = Callable[..., Any]


def create(functions: Functions, file_id: str, body: Any = None, accept: str | None = None) -> dict[str, Any]:
    return functions.invoke("file_token", api_event(RESOURCE, file_id, body=body, accept=accept))


def item(client: Any, table: str, item_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.get_item(TableName=table, Key={"id": {"S": item_id}}).get("Item")
    return found


def test_json_token_for_file(functions: Functions, aws: Any, make_file: MessageFile) -> None:
    file = make_file(future(10))
    response = create(functions, file.id, {"expiresAt": iso(future(5))})
    assert response["statusCode"] == 201
    assert header(
        response,
        "Content-Type",
    ).startswith("application/json")  # type: ignore[union-attr]
    dto = json_body(response)["result"]
    assert dto["id"].startswith("TOK") and len(dto["id"]) == 20
    assert dto["isOwn"] is True and dto["isEphemeral"] is True
    assert dto["createdBy"].startswith("did:e:") and dto["createdByDevice"].startswith("DVC")
    assert dto["content"] == {
        "@type": "TokenContentFile",
        "fileId": file.id,
        "secretKey": {"key": b64url_encode(file.secret_key), "alg": 3},
    }
    assert dto["truncatedReference"] == dto["reference"]["truncated"]
    assert dto["reference"]["url"].startswith(f"{BACKBONE_BASE_URL}/r/{dto['id']}#")
    assert "forIdentity" not in dto and "passwordProtection" not in dto
    created = datetime.strptime(dto["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)
    # Ephemeral: published on the backbone, no record kept.
    assert item(aws, BACKBONE_TABLE, dto["id"]) is not None
    assert item(aws, RECORDS_TABLE, dto["id"]) is None


def test_non_ephemeral_token_is_kept_in_both_tables(functions: Functions, aws: Any, make_file: MessageFile) -> None:
    file = make_file(future(10))
    dto = json_body(create(functions, file.id, {"ephemeral": False}))["result"]
    assert dto["isEphemeral"] is False
    record = item(aws, RECORDS_TABLE, dto["id"])
    published = item(aws, BACKBONE_TABLE, dto["id"])
    assert record is not None and published is not None
    kept = DynamoRecordsRepository(RECORDS_TABLE, aws).get_token(dto["id"])
    assert kept is not None and kept.to_dto() == dto
    # The backbone forgets the token when it expires; the record stays readable for the retention period (SPEC §8).
    expected_ttl = int(file.expires_at.timestamp())
    assert int(published["ttl"]["N"]) == expected_ttl
    assert int(record["ttl"]["N"]) == expected_ttl + DEFAULT_RETENTION_DAYS * 86_400


def test_expiry_defaults(functions: Functions, make_file: MessageFile) -> None:
    dated = make_file(datetime(2090, 5, 6, 7, 8, 9, 123000, tzinfo=UTC))
    assert json_body(create(functions, dated.id))["result"]["expiresAt"] == "2090-05-06T07:08:09.123Z"
    undated = make_file(None)
    assert json_body(create(functions, undated.id))["result"]["expiresAt"] == "9999-12-31T00:00:00.000Z"
    assert json_body(create(functions, undated.id, {"expiresAt": "2080-01-01T10:00+01:00"}))["result"]["expiresAt"] == (
        "2080-01-01T09:00:00.000Z"
    )


@pytest.mark.parametrize("case", ["missing", "expired"])
def test_file_not_found(functions: Functions, make_file: MessageFile, case: str) -> None:
    file_id = "FILdoesnotexist00000" if case == "missing" else make_file(datetime.now(UTC) - timedelta(seconds=1)).id
    response = create(functions, file_id)
    assert response["statusCode"] == 404
    error = json_body(response)["error"]
    assert error["code"] == "error.runtime.recordNotFound"
    assert error["message"] == "File not found. Make sure the ID exists and the record is not expired."


def test_a_template_id_is_not_a_file(functions: Functions, make_template: MessageFile) -> None:
    template = make_template(expires_at=future())
    response = create(functions, template.id)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["message"] == "fileId must match pattern FIL[A-Za-z0-9]{17}"


def test_password_and_personalisation(functions: Functions, aws: Any, make_file: MessageFile) -> None:
    file = make_file(future())
    address = "did:e:pilot.enmeshed.eu:dids:0123456789abcdef0123a8"
    body = {
        "forIdentity": address,
        "passwordProtection": {"password": "0815", "passwordIsPin": True, "passwordLocationIndicator": "Letter"},
    }
    dto = json_body(create(functions, file.id, body))["result"]
    assert dto["forIdentity"] == address
    assert dto["passwordProtection"] == {
        "password": "0815",
        "passwordIsPin": True,
        "passwordLocationIndicator": "Letter",
    }
    reference = parse_reference(dto["reference"]["url"])
    assert reference.for_identity_truncated == address[-4:] == "23a8"
    assert reference.password_protection is not None
    assert reference.password_protection.password_type == "pin4"
    assert reference.password_protection.location_indicator == 2
    published = item(aws, BACKBONE_TABLE, dto["id"])
    assert published is not None and len(bytes(published["passwordHash"]["B"])) == 32
    assert "0815" not in json.dumps(published, default=str)
    indicator_50 = json_body(
        create(functions, file.id, {"passwordProtection": {"password": "x", "passwordLocationIndicator": 50}})
    )
    assert indicator_50["result"]["passwordProtection"] == {"password": "x", "passwordLocationIndicator": 50}


def test_png_token_decodes_to_the_reference_and_is_ephemeral(
    functions: Functions, aws: Any, make_file: MessageFile
) -> None:
    file = make_file(future())
    response = create(
        functions, file.id, {"ephemeral": False, "passwordProtection": {"password": "pw"}}, accept="image/png"
    )
    assert response["statusCode"] == 201
    assert header(response, "Content-Type") == "image/png"
    assert header(response, "Content-Disposition") == f"attachment;filename={file.id}.png"
    png = png_bytes(response)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    text = decode_qr(png)
    reference = parse_reference(text)
    assert text == reference.url
    assert text.startswith(f"{BACKBONE_BASE_URL}/r/TOK")
    assert item(aws, BACKBONE_TABLE, reference.id) is not None
    assert item(aws, RECORDS_TABLE, reference.id) is None  # QR tokens are always ephemeral
    content = json.loads(decrypt_content(item(aws, BACKBONE_TABLE, reference.id)["content"]["S"], reference.key))  # type: ignore[index]
    assert content["fileId"] == file.id


@pytest.mark.parametrize(
    ("flag", "env", "legacy"),
    [(None, None, False), (True, None, False), (False, None, True), (None, "legacy", True), (True, "legacy", False)],
)
def test_qr_payload_form(
    functions: Functions,
    make_file: MessageFile,
    flag: bool | None,
    env: str | None,
    legacy: bool,
) -> None:
    if env:
        functions = functions.configured(qr_form=QrForm(env))
    file = make_file(future())
    body = {} if flag is None else {"newQRCodeFormat": flag}
    text = decode_qr(png_bytes(create(functions, file.id, body, accept="image/png")))
    if legacy:
        assert text.startswith("nmshd://tr#")
        assert parse_reference(text).backbone_base_url == BACKBONE_BASE_URL
    else:
        assert text.startswith(BACKBONE_BASE_URL + "/r/")


def test_configured_backbone_base_url(functions: Functions, make_file: MessageFile) -> None:
    configured = functions.from_env({"BACKBONE_BASE_URL": "https://tokens.example.org/backbone/"})
    dto = json_body(create(configured, make_file(future()).id))["result"]
    assert dto["reference"]["url"].startswith("https://tokens.example.org/backbone/r/TOK")


@pytest.mark.parametrize(
    "address",
    [
        "did:e:localhost:dids:0123456789abcdef012345",  # the runtime's pattern, a wrong checksum
        "did:e:Pilot.enmeshed.eu:dids:0123456789abcdef0123a8",  # upper case: the runtime accepts it, not the Backbone
        "did:e:" + "a" * 50 + ".example.org:dids:0123456789abcdef0123a8",  # longer than 80 characters
    ],
)
def test_the_embedded_backbone_refuses_what_the_backbone_refuses(
    functions: Functions, aws: Any, make_file: MessageFile, address: str
) -> None:
    """SPEC §9: the Backbone's 400, passed through as a Connector does; nothing is published or kept."""
    response = create(functions, make_file(future()).id, {"forIdentity": address, "ephemeral": False})
    assert response["statusCode"] == 400
    error = json_body(response)["error"]
    assert error["code"] == "error.platform.validation.invalidPropertyValue"
    assert (
        error["message"]
        == "'forIdentity': The ID or Address is not valid. Check length, prefix and the used characters."
    )
    assert aws.scan(TableName=BACKBONE_TABLE)["Items"] == []
    assert [item["type"]["S"] for item in aws.scan(TableName=RECORDS_TABLE)["Items"]] == ["File"]


def test_an_address_the_backbone_accepts(functions: Functions, make_file: MessageFile) -> None:
    from nmshd_tokens.domain.ids import is_backbone_address, make_address

    address = make_address("pilot.enmeshed.eu")
    assert is_backbone_address(address) and not is_backbone_address(address[:-2] + "00")
    response = create(functions, make_file(future()).id, {"forIdentity": address})
    assert response["statusCode"] == 201
    assert json_body(response)["result"]["forIdentity"] == address


@pytest.mark.parametrize("accept", ["application/json", "image/png"])
def test_a_created_token_is_never_cached(functions: Functions, make_file: MessageFile, accept: str) -> None:
    """A DTO carries the token's key and password, a PNG the reference: `Cache-Control: no-store` (SPEC §7)."""
    body = {"passwordProtection": {"password": "no-store-please"}}
    response = create(functions, make_file(future()).id, body, accept=accept)
    assert response["statusCode"] == 201
    assert header(response, "Cache-Control") == "no-store"
