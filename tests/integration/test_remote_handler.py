"""Remote mode through the real handlers: the Backbone is the local stand-in, the records table is moto's."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.ids import make_address as backbone_address
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.storage.publication import PublicationRecords
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens_local.standin_backbone import StandinBackbone

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import ROUTES, Functions, api_event, decode_qr, future, json_body, png_bytes

Factory = Callable[..., Any]


@pytest.fixture
def standin(aws: Any) -> Iterator[StandinBackbone]:
    """A fresh stand-in; the embedded backbone's table is gone to prove it is not used."""
    with StandinBackbone() as backbone:
        aws.delete_table(TableName=BACKBONE_TABLE)
        yield backbone


@pytest.fixture
def remote(functions: Functions, standin: StandinBackbone) -> Functions:
    """The functions in remote mode against the stand-in, as its device."""
    return functions.against(standin)


def create(
    functions: Functions, name: str, path_id: str, body: Any = None, accept: str | None = None
) -> dict[str, Any]:
    return functions.invoke(name, api_event(ROUTES[name][1], path_id, body=body, accept=accept))


def token_records(aws: Any) -> list[str]:
    items = aws.scan(TableName=RECORDS_TABLE).get("Items", [])
    return [item["id"]["S"] for item in items if item["type"]["S"] == "Token"]


def peer_get(base_url: str, token_id: str, password_hash: bytes) -> dict[str, Any]:
    """What a peer (and `nmshd-tokens load`) does: a plain anonymous GET with the standard-base64 hash."""
    url = f"{base_url}/api/v2/Tokens/{token_id}?password={quote(b64_encode(password_hash), safe='')}"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback http URL
        result: dict[str, Any] = json.load(response)["result"]
    return result


def test_create_qr_load_round_trip(remote: Functions, standin: StandinBackbone, make_file: Factory) -> None:
    file = make_file(future())
    body = {"passwordProtection": {"password": "s3cret"}}
    png = png_bytes(create(remote, "file_token", file.id, body, "image/png"))
    reference = parse_reference(decode_qr(png))
    assert reference.backbone_base_url == standin.base_url
    assert reference.password_protection is not None
    password_hash = derive_password_hash("s3cret", reference.password_protection.salt)
    result = peer_get(standin.base_url, reference.id, password_hash)
    assert json.loads(decrypt_content(result["content"], reference.key)) == {
        "@type": "TokenContentFile",
        "fileId": file.id,
        "secretKey": {"key": b64url_encode(file.secret_key), "alg": 3},
    }
    assert result["createdBy"] == standin.device.address
    assert result["createdByDevice"] == standin.device.device_id
    assert result["isPasswordProtected"] is True
    assert standin.tokens[reference.id].password == password_hash


def test_personalised_template_token(remote: Functions, standin: StandinBackbone, make_template: Factory) -> None:
    address = backbone_address("example.org")
    template = make_template(expires_at=future(), for_identity=address)
    response = create(remote, "template_token", template.id, {"forIdentity": address})
    assert response["statusCode"] == 201
    dto = json_body(response)["result"]
    assert dto["reference"]["url"].startswith(f"{standin.base_url}/r/{dto['id']}#")
    assert dto["createdBy"] == standin.device.address
    assert standin.tokens[dto["id"]].for_identity == address


def test_non_ephemeral_token_recorded_after_the_backbone_accepted_it(
    remote: Functions, aws: Any, standin: StandinBackbone, make_file: Factory
) -> None:
    dto = json_body(create(remote, "file_token", make_file(future()).id, {"ephemeral": False}))["result"]
    assert dto["id"] in standin.tokens
    assert token_records(aws) == [dto["id"]]
    kept = DynamoRecordsRepository(RECORDS_TABLE, aws).get_token(dto["id"])
    assert kept is not None and kept.to_dto() == dto


def test_ephemeral_token_has_no_record(
    remote: Functions, aws: Any, standin: StandinBackbone, make_file: Factory
) -> None:
    dto = json_body(create(remote, "file_token", make_file(future()).id))["result"]
    assert dto["id"] in standin.tokens and token_records(aws) == []


def test_backbone_failure_is_503_and_writes_no_record(
    remote: Functions, aws: Any, standin: StandinBackbone, make_file: Factory
) -> None:
    standin.fail_next(3, 503, route="tokens")
    response = create(remote, "file_token", make_file(future()).id, {"ephemeral": False})
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "error.connector.serviceUnavailable"
    assert token_records(aws) == [] and standin.tokens == {}


def test_record_write_failure_is_503_with_the_token_on_the_backbone_only(
    remote: Functions, aws: Any, standin: StandinBackbone, make_file: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def refuse(*_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutItem")

    monkeypatch.setattr(PublicationRecords, "write_publication", refuse)
    response = create(remote, "file_token", make_file(future()).id, {"ephemeral": False})
    assert response["statusCode"] == 503
    assert len(standin.tokens) == 1 and token_records(aws) == []


def test_quota_exhausted_is_429(remote: Functions, standin: StandinBackbone, make_file: Factory) -> None:
    standin.quota_exhausted = True
    response = create(remote, "file_token", make_file(future()).id)
    assert response["statusCode"] == 429
    error = json_body(response)["error"]
    assert error["code"] == "error.platform.quotaExhausted"
    assert error["docs"].endswith("#error.platform.quotaExhausted") and error["id"].startswith("ERR")


def test_backbone_validation_error_passes_through(
    remote: Functions, standin: StandinBackbone, make_file: Factory
) -> None:
    # Our address pattern accepts it; the Backbone also checks the checksum.
    address = "did:e:localhost:dids:0123456789abcdef012345"
    response = create(remote, "file_token", make_file(future()).id, {"forIdentity": address})
    assert response["statusCode"] == 400
    error = json_body(response)["error"]
    assert error["code"] == "error.platform.validation.invalidPropertyValue"
    assert error["message"] == (
        "'forIdentity': The ID or Address is not valid. Check length, prefix and the used characters."
    )


def test_one_login_for_warm_invocations(remote: Functions, standin: StandinBackbone, make_file: Factory) -> None:
    file = make_file(future())
    for _ in range(3):
        assert create(remote, "file_token", file.id)["statusCode"] == 201
    assert standin.logins == 1


# --- revoke and health in remote mode ---------------------------------------------------------------------


def revoke(functions: Functions, token_id: str) -> dict[str, Any]:
    return functions.invoke("token_revoke", api_event("/api/core/v1/Tokens/{id}", token_id, method="DELETE"))


def test_revoke_deletes_on_the_backbone_then_the_record(
    remote: Functions, aws: Any, standin: StandinBackbone, make_file: Factory
) -> None:
    dto = json_body(create(remote, "file_token", make_file(future()).id, {"ephemeral": False}))["result"]
    response = revoke(remote, dto["id"])
    assert response["statusCode"] == 204
    assert dto["id"] not in standin.tokens and token_records(aws) == []
    deletes = [call for call in standin.calls if call.method == "DELETE"]
    assert [(call.path, call.bearer) for call in deletes] == [(f"/api/v2/Tokens/{dto['id']}", "valid")]


def test_revoke_of_a_token_the_backbone_forgot_deletes_the_record_too(
    remote: Functions, aws: Any, standin: StandinBackbone, make_file: Factory
) -> None:
    """Upstream keeps a record that can then never be deleted; SPEC §13 deletes it and answers 204."""
    dto = json_body(create(remote, "file_token", make_file(future()).id, {"ephemeral": False}))["result"]
    del standin.tokens[dto["id"]]  # the Backbone's housekeeping removed it
    assert revoke(remote, dto["id"])["statusCode"] == 204
    assert token_records(aws) == []


def test_a_backbone_refusal_passes_through_and_keeps_the_record(
    functions: Functions, remote: Functions, aws: Any, standin: StandinBackbone, make_file: Factory
) -> None:
    dto = json_body(create(remote, "file_token", make_file(future()).id, {"ephemeral": False}))["result"]
    other = standin.add_device()  # another identity's device: not the token's creator
    response = revoke(functions.against(standin, login=other), dto["id"])
    assert response["statusCode"] == 403
    error = json_body(response)["error"]
    assert error["code"] == "error.platform.forbidden"
    assert error["message"] == "You are not allowed to perform this action due to insufficient privileges."
    assert error["id"].startswith("ERR") and error["docs"].endswith("#error.platform.forbidden")
    assert dto["id"] in standin.tokens and token_records(aws) == [dto["id"]]


def test_health_in_remote_mode_asks_the_backbone(remote: Functions, standin: StandinBackbone) -> None:
    response = remote.invoke("service_status", api_event("/health", None, method="GET", headers={"x-api-key": ""}))
    assert response["statusCode"] == 200
    assert json_body(response) == {
        "isHealthy": True,
        "services": {"database": "healthy", "backboneConnection": "healthy", "backboneAuthentication": "healthy"},
    }
    assert {call.path for call in standin.calls} >= {"/api/v2/Version", "/connect/token"}


def test_health_reports_a_refused_login(functions: Functions, standin: StandinBackbone) -> None:
    wrong_password = replace(standin.device, password="not-the-password")  # noqa: S106 - a test value
    response = functions.against(standin, login=wrong_password).invoke(
        "service_status", api_event("/health", None, method="GET")
    )
    assert response["statusCode"] == 500
    assert json_body(response)["services"] == {
        "database": "healthy",
        "backboneConnection": "healthy",
        "backboneAuthentication": "unhealthy",
    }


def page(functions: Functions, token_id: str) -> dict[str, Any]:
    return functions.invoke("backbone_token", api_event(ROUTES["backbone_page"][1], token_id, method="GET"))


def test_the_keyless_page_answers_from_our_records_without_asking_the_backbone(
    remote: Functions, standin: StandinBackbone, make_file: Factory
) -> None:
    kept = json_body(create(remote, "file_token", make_file(future()).id, {"ephemeral": False}))["result"]["id"]
    ephemeral = json_body(create(remote, "file_token", make_file(future()).id))["result"]["id"]
    other = standin.add_device()  # another identity, with a password-protected token
    foreign = "TOK" + "f" * 17
    standin.tokens[foreign] = replace(
        standin.tokens[ephemeral], id=foreign, created_by=other.address, password=b"h" * 32
    )
    standin.tokens[kept].failed_attempts = 100  # locked: the owner would still read it
    calls = len(standin.calls)

    assert page(remote, kept)["statusCode"] == 200
    for absent in (ephemeral, foreign, "TOKunknown0000000000"):
        assert page(remote, absent)["statusCode"] == 404
    assert len(standin.calls) == calls  # no login, no read: nothing counted against or allocated from a token
    assert standin.tokens[foreign].failed_attempts == 0 and standin.tokens[foreign].allocations == set()


def test_a_broken_backbone_answer_is_503_not_500(
    remote: Functions, standin: StandinBackbone, make_file: Factory
) -> None:
    standin.fail_next(1, 201, route="tokens", body=b"[" * 100_000)  # nested deeper than any parser goes
    response = create(remote, "file_token", make_file(future()).id)
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "error.connector.serviceUnavailable"
