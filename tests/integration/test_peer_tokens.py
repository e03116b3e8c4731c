"""Peer tokens through the real handlers on moto (SPEC §14): POST /{v}/Tokens/Peer loads a token by its reference
from the embedded backbone, and the kept peer token is read, listed and deleted like an own one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import encrypt_content, generate_key
from nmshd_tokens.domain.encoding import b64url_encode
from nmshd_tokens.domain.ids import make_address
from nmshd_tokens.domain.references import Reference, parse_reference
from nmshd_tokens.storage.embedded_backbone import DynamoBackbone
from nmshd_tokens.usecases.ports import TokenWrite

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import (
    BACKBONE_BASE_URL,
    V7,
    Functions,
    api_event,
    decode_qr,
    error_of,
    future,
    header,
    json_body,
    png_bytes,
    token_draft,
)

Factory = Callable[..., Any]
V6 = "/api/v2"
INVALID = ("error.runtime.validation.invalidPropertyValue", "token reference invalid")
BACKBONE_NOT_FOUND = (
    "Token not found. Make sure the ID exists and the record is not expired. "
    "If a password is required to fetch the record, make sure you passed the correct one."
)


def publish(functions: Functions, make_file: Factory, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A token for a new File, published on the embedded backbone by the File route (ephemeral: no record here)."""
    file = make_file(future())
    event = api_event(f"{V7}/Files/{{id}}/Token", file.id, body={"ephemeral": True, **(body or {})})
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 201, response["body"]
    dto: dict[str, Any] = json_body(response)["result"]
    dto["fileSecretKey"] = b64url_encode(file.secret_key)
    return dto


def load(functions: Functions, body: Any, prefix: str = V7, **options: Any) -> dict[str, Any]:
    return functions.invoke("peer_token", api_event(f"{prefix}/Tokens/Peer", None, body=body, **options))


def loaded(functions: Functions, body: Any, prefix: str = V7) -> dict[str, Any]:
    response = load(functions, body, prefix)
    assert response["statusCode"] == 201, response["body"]
    dto: dict[str, Any] = json_body(response)["result"]
    return dto


def read(functions: Functions, token_id: str, prefix: str = V7, **options: Any) -> dict[str, Any]:
    return functions.invoke("token_read", api_event(f"{prefix}/Tokens/{{id}}", token_id, method="GET", **options))


def listed(functions: Functions, route: str, prefix: str = V7, **query: str) -> list[str]:
    multi = {key: [value] for key, value in query.items()} or None
    response = functions.invoke(
        "token_read", api_event(f"{prefix}/Tokens/{route}", None, method="GET", multi_query=multi)
    )
    assert response["statusCode"] == 200, response["body"]
    return [dto["id"] for dto in json_body(response)["result"]]


def failed_attempts(aws: Any, token_id: str) -> int:
    item = aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": token_id}})["Item"]
    return int(item["failedAttempts"]["N"])


def peer_identity(functions: Functions) -> Functions:
    """The same tables under another service identity: a peer of the first."""
    return functions.configured(service_address=make_address(), device_id="DVCpeerDevice0000001")


# --- loading ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["url", "truncated"])
def test_a_file_token_loads_by_either_reference_form_with_its_content(
    functions: Functions, make_file: Factory, form: str
) -> None:
    published = publish(functions, make_file)
    peer = peer_identity(functions)
    dto = loaded(peer, {"reference": published["reference"][form]})
    assert dto["content"] == {
        "@type": "TokenContentFile",
        "fileId": published["content"]["fileId"],
        "secretKey": {"key": published["fileSecretKey"], "alg": 3},
    }
    assert dto["isOwn"] is False and dto["isEphemeral"] is False
    assert (dto["createdBy"], dto["createdByDevice"]) == (published["createdBy"], published["createdByDevice"])
    assert (dto["id"], dto["createdAt"], dto["expiresAt"]) == (
        published["id"],
        published["createdAt"],
        published["expiresAt"],
    )
    assert dto["reference"] == published["reference"]  # rebuilt on this deployment's backbone URL: the same
    assert "truncatedReference" not in dto


def test_connector_6_shape_under_api_v2(functions: Functions, make_file: Factory) -> None:
    published = publish(functions, make_file)
    dto = loaded(peer_identity(functions), {"reference": published["reference"]["url"]}, prefix=V6)
    assert dto["truncatedReference"] == dto["reference"]["truncated"] == published["reference"]["truncated"]
    assert list(dto)[-3:] == ["truncatedReference", "reference", "isEphemeral"]


def test_the_answer_is_201_with_the_connectors_location(functions: Functions, make_file: Factory) -> None:
    published = publish(functions, make_file)
    response = load(peer_identity(functions), {"reference": published["reference"]["url"]})
    assert response["statusCode"] == 201
    assert header(response, "Location") == "_"


def test_a_password_token_needs_its_password_and_counts_wrong_ones(
    functions: Functions, make_file: Factory, aws: Any
) -> None:
    published = publish(functions, make_file, {"passwordProtection": {"password": "1234", "passwordIsPin": True}})
    peer = peer_identity(functions)
    reference = published["reference"]["url"]
    for body in ({"reference": reference}, {"reference": reference, "password": ""}):
        assert error_of(load(peer, body)) == (
            400,
            "error.transport.noPasswordProvided",
            "You need to provide a password to perform this operation.",
        )
    assert failed_attempts(aws, published["id"]) == 0  # refused before the backbone is asked
    wrong = load(peer, {"reference": reference, "password": "9999"})
    assert error_of(wrong) == (404, "error.runtime.recordNotFound", BACKBONE_NOT_FOUND)
    assert failed_attempts(aws, published["id"]) == 1
    dto = loaded(peer, {"reference": reference, "password": "1234"})
    assert dto["passwordProtection"] == {"password": "1234", "passwordIsPin": True}
    assert dto["reference"] == published["reference"]
    assert failed_attempts(aws, published["id"]) == 1  # a right password is never counted


def test_the_hundredth_wrong_password_locks_the_token_for_everyone(
    functions: Functions, make_file: Factory, aws: Any
) -> None:
    published = publish(functions, make_file, {"passwordProtection": {"password": "s3cret"}})
    aws.update_item(
        TableName=BACKBONE_TABLE,
        Key={"id": {"S": published["id"]}},
        UpdateExpression="SET failedAttempts = :n",
        ExpressionAttributeValues={":n": {"N": "99"}},
    )
    peer = peer_identity(functions)
    locked = (
        400,
        "error.platform.token.tooManyFailedPasswordAttempts",
        "Too many wrong password attempts, the token is locked.",
    )
    assert error_of(load(peer, {"reference": published["reference"]["url"], "password": "wrong"})) == locked
    assert failed_attempts(aws, published["id"]) == 100
    assert error_of(load(peer, {"reference": published["reference"]["url"], "password": "s3cret"})) == locked
    assert listed(peer, "Peer") == []


def test_a_token_personalised_for_another_identity_is_not_intended_for_us(
    functions: Functions, make_file: Factory
) -> None:
    peer = peer_identity(functions)
    published = publish(functions, make_file, {"forIdentity": peer.settings.service_address})
    stranger = peer_identity(functions)
    assert error_of(load(stranger, {"reference": published["reference"]["url"]})) == (
        400,
        "error.transport.general.notIntendedForYou",
        f"You tried to access personalized content '{published['id']}'. You are either not logged in or the "
        "content is not intended for you.",
    )
    dto = loaded(peer, {"reference": published["reference"]["truncated"]})
    assert dto["forIdentity"] == peer.settings.service_address


def test_an_unknown_token_is_the_runtimes_not_found_with_the_backbones_message(functions: Functions) -> None:
    reference = Reference("TOKunknownToken00000", generate_key(), BACKBONE_BASE_URL)
    assert error_of(load(functions, {"reference": reference.url})) == (
        404,
        "error.runtime.recordNotFound",
        BACKBONE_NOT_FOUND,
    )


def test_a_content_upstream_cannot_deserialize_is_refused(functions: Functions) -> None:
    backbone = DynamoBackbone(BACKBONE_TABLE, functions.container.records, functions.dynamodb)
    peer = peer_identity(functions)
    for plaintext in (
        b'"a string"',
        b"[1, 2]",
        b"null",
        b"not json",
        b'{"@type": 5}',
        b"\xff",
        b'{"a": NaN}',
        b'{"a": "\\ud800"}',
    ):
        key = generate_key()
        draft = token_draft(encrypt_content(plaintext, key), make_address(), "DVCsomeDevice0000001", future())
        token = backbone.publish(TokenWrite(draft))
        response = load(peer, {"reference": Reference(token.id, key, BACKBONE_BASE_URL).url})
        assert error_of(response) == (
            400,
            "error.transport.tokens.invalidTokenContent",
            f"The content of Token '{token.id}' is not of type TokenContent.",
        ), plaintext
    # A wrong key in the reference cannot decrypt the content either.
    published_key = generate_key()
    draft = token_draft(encrypt_content(b"{}", published_key), make_address(), "DVCsomeDevice0000001", future())
    token = backbone.publish(TokenWrite(draft))
    response = load(peer, {"reference": Reference(token.id, generate_key(), BACKBONE_BASE_URL).url})
    assert error_of(response)[1] == "error.transport.tokens.invalidTokenContent"
    # Any JSON object is content, with or without a @type.
    draft = token_draft(
        encrypt_content(b'{"b":[1,{"c":null}],"a":"\xc3\xa4"}', published_key),
        make_address(),
        "DVCsomeDevice0000001",
        future(),
    )
    token = backbone.publish(TokenWrite(draft))
    dto = loaded(peer, {"reference": Reference(token.id, published_key, BACKBONE_BASE_URL).url})
    assert dto["content"] == {"b": [1, {"c": None}], "a": "ä"} and list(dto["content"]) == ["b", "a"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reference": 5},
        {"reference": ""},
        {"reference": "VE9Lshort"},
        {"reference": "https://example.com/r/TOKabc"},
        {"reference": "https://example.com/r/FILabcdefghij0123456#MXwy"},
        {"reference": "@valid", "extra": 1},
        {"reference": "@valid", "ephemeral": "yes"},
        {"reference": "@valid", "password": 1234},
        {"reference": "nmshd://tr#@truncated"},
        {"reference": "@file"},
    ],
)
def test_anything_but_a_token_reference_is_invalid(functions: Functions, make_file: Factory, body: Any) -> None:
    published = publish(functions, make_file)
    file_reference = Reference(published["content"]["fileId"], generate_key(), BACKBONE_BASE_URL)
    values = {
        "@valid": published["reference"]["url"],
        "nmshd://tr#@truncated": "nmshd://tr#" + published["reference"]["truncated"],
        "@file": file_reference.truncated,
    }
    body = {key: values.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    assert error_of(load(functions, body))[:3] == (400, *INVALID)


def test_406_comes_before_the_body_and_the_body_must_be_json(functions: Functions) -> None:
    not_acceptable = load(functions, None, raw_body="{", accept="image/png")
    assert error_of(not_acceptable)[:2] == (406, "error.connector.http.notAcceptable")
    invalid_json = load(functions, None, raw_body="{")
    assert error_of(invalid_json)[:2] == (400, "error.connector.validation.invalidJsonInPayload")


# --- kept peer tokens ----------------------------------------------------------------------------------------


def test_a_loaded_token_is_kept_read_listed_and_not_own(functions: Functions, make_file: Factory) -> None:
    published = publish(
        functions, make_file, {"passwordProtection": {"password": "pw", "passwordLocationIndicator": "Email"}}
    )
    peer = peer_identity(functions)
    dto = loaded(peer, {"reference": published["reference"]["truncated"], "password": "pw"})
    for prefix in (V6, V7):
        response = read(peer, dto["id"], prefix)
        assert response["statusCode"] == 200
        kept = json_body(response)["result"]
        assert {key: value for key, value in kept.items() if key != "truncatedReference"} == dto
    png = read(peer, dto["id"], V7, accept="image/png")
    assert parse_reference(decode_qr(png_bytes(png))) == parse_reference(dto["reference"]["url"])
    assert listed(peer, "Peer") == [dto["id"]] and listed(peer, "Peer", V6) == [dto["id"]]
    assert listed(peer, "Own") == []
    assert listed(peer, "Peer", createdBy=published["createdBy"]) == [dto["id"]]
    assert listed(peer, "Peer", createdBy=f"!{published['createdBy']}") == []
    assert listed(peer, "Peer", **{"passwordProtection.passwordLocationIndicator": "Email"}) == [dto["id"]]


def test_a_kept_token_is_answered_as_stored_without_the_backbone(
    functions: Functions, make_file: Factory, aws: Any
) -> None:
    published = publish(functions, make_file)
    peer = peer_identity(functions)
    first = loaded(peer, {"reference": published["reference"]["url"]})
    aws.delete_item(TableName=BACKBONE_TABLE, Key={"id": {"S": published["id"]}})  # the backbone forgot it
    assert loaded(peer, {"reference": published["reference"]["truncated"]}) == first
    again = loaded(peer, {"reference": published["reference"]["url"], "ephemeral": True})
    assert again == {**first, "isEphemeral": True}  # the runtime echoes the request's flag


def test_an_own_kept_token_loaded_as_a_peers_is_answered_as_stored(functions: Functions, make_file: Factory) -> None:
    published = publish(functions, make_file, {"ephemeral": False, "forIdentity": make_address()})
    dto = loaded(functions, {"reference": published["reference"]["url"]})  # personalised for another: stored first
    assert dto["isOwn"] is True and dto["id"] == published["id"]
    assert listed(functions, "Peer") == [] and listed(functions, "Own") == [published["id"]]


def test_an_ephemeral_load_keeps_nothing(functions: Functions, make_file: Factory) -> None:
    published = publish(functions, make_file)
    peer = peer_identity(functions)
    dto = loaded(peer, {"reference": published["reference"]["url"], "ephemeral": True})
    assert dto["isEphemeral"] is True and dto["isOwn"] is False
    assert read(peer, dto["id"])["statusCode"] == 404 and listed(peer, "Peer") == []


def test_deleting_a_peer_token_forgets_only_its_record(functions: Functions, make_file: Factory, aws: Any) -> None:
    published = publish(functions, make_file)
    peer = peer_identity(functions)
    dto = loaded(peer, {"reference": published["reference"]["url"]})
    response = peer.invoke("token_revoke", api_event(f"{V7}/Tokens/{{id}}", dto["id"], method="DELETE"))
    assert response["statusCode"] == 204 and response["body"] == ""
    assert read(peer, dto["id"])["statusCode"] == 404 and listed(peer, "Peer") == []
    assert "Item" in aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": dto["id"]}})  # still published
    assert loaded(peer, {"reference": published["reference"]["url"]})["id"] == dto["id"]  # and loadable again


def test_a_peer_token_has_the_retention_of_an_own_one(functions: Functions, make_file: Factory, aws: Any) -> None:
    published = publish(functions, make_file)
    peer = peer_identity(functions)
    loaded(peer, {"reference": published["reference"]["url"]})
    item = aws.get_item(TableName=RECORDS_TABLE, Key={"id": {"S": published["id"]}})["Item"]
    expires_at = datetime.strptime(published["expiresAt"], "%Y-%m-%dT%H:%M:%S.%f%z")
    retention = timedelta(days=peer.settings.token_retention_days)
    assert int(item["ttl"]["N"]) == int((expires_at + retention).timestamp())
    assert item["type"] == {"S": "PeerToken"} and item["isOwn"] == {"BOOL": False}
    assert "passwordHash" not in item and datetime.now(UTC) < expires_at


def test_a_peer_record_never_replaces_an_own_tokens_record(functions: Functions, make_file: Factory) -> None:
    """The conditional put: an own token's record stays, whatever a concurrent peer load of its id writes."""
    published = publish(functions, make_file, {"ephemeral": False})
    records = functions.container.records
    own = records.get_token(published["id"])
    assert own is not None and own.details.is_own
    records.put_peer_token(replace(own, details=replace(own.details, is_own=False, created_by=make_address())))
    assert records.get_token(published["id"]) == own
    assert listed(functions, "Peer") == [] and listed(functions, "Own") == [published["id"]]
