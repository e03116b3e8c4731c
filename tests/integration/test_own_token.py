"""POST /Tokens/Own through the real handler on moto (SPEC §14): the token, its DTO in both families, the
runtime's validation order and messages, and that the kept token is read, listed and revoked like every other.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode
from nmshd_tokens.domain.references import parse_reference

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import ROUTES, V7, Functions, api_event, error_of, future, header, iso, json_body

V6 = "/api/v2"
INVALID = "error.runtime.validation.invalidPropertyValue"
INVALID_CONTENT = "error.runtime.invalidTokenContent"
ADDRESS = "did:e:pilot.enmeshed.eu:dids:0123456789abcdef0123a8"


def create_own(
    functions: Functions, body: Any, prefix: str = V6, accept: str | None = None, raw_body: str | None = None
) -> dict[str, Any]:
    event = api_event(f"{prefix}/Tokens/Own", None, body=body, accept=accept, raw_body=raw_body)
    return functions.invoke("own_token", event)


def created(functions: Functions, body: dict[str, Any], prefix: str = V6) -> dict[str, Any]:
    response = create_own(functions, body, prefix)
    assert response["statusCode"] == 201, response["body"]
    dto: dict[str, Any] = json_body(response)["result"]
    return dto


def peer_content(functions: Functions, dto: dict[str, Any], password: str | None = None) -> Any:
    """What a peer reads from the embedded backbone with the reference: the decrypted plaintext."""
    reference = parse_reference(dto["reference"]["url"])
    query = None
    if password is not None:
        assert reference.password_protection is not None
        query = {"password": b64_encode(derive_password_hash(password, reference.password_protection.salt))}
    event = api_event(ROUTES["backbone_token"][1], reference.id, method="GET", query=query, headers={"x-api-key": ""})
    response = functions.invoke("backbone_token", event)
    assert response["statusCode"] == 200, response["body"]
    return decrypt_content(json_body(response)["result"]["content"], reference.key)


# --- created ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [V6, V7])
def test_an_own_token_with_any_content_is_created_and_kept(functions: Functions, prefix: str) -> None:
    content = {"b": {"text": "Grüße", "list": [1, 2.5, None]}, "a": True}
    expires_at = iso(future(10))
    response = create_own(functions, {"content": content, "expiresAt": expires_at}, prefix)
    assert response["statusCode"] == 201, response["body"]
    assert header(response, "Location") == "_" and header(response, "Cache-Control") == "no-store"
    dto = json_body(response)["result"]
    assert dto["isOwn"] is True and dto["isEphemeral"] is False  # ephemeral defaults to false here
    assert dto["content"] == content and list(dto["content"]) == ["b", "a"]
    assert dto["expiresAt"] == expires_at
    assert dto["createdBy"] == functions.settings.service_address
    assert dto["createdByDevice"] == functions.settings.device_id
    assert ("truncatedReference" in dto) == (prefix == V6)
    assert peer_content(functions, dto) == json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    kept = functions.invoke("token_read", api_event(f"{prefix}/Tokens/{{id}}", dto["id"], method="GET"))
    assert json_body(kept)["result"] == dto


def test_password_pin_indicator_and_personalisation(functions: Functions) -> None:
    protection = {"password": "0815", "passwordIsPin": True, "passwordLocationIndicator": "Letter"}
    body = {"content": {"x": 1}, "expiresAt": iso(future()), "forIdentity": ADDRESS, "passwordProtection": protection}
    dto = created(functions, body, V7)
    assert dto["forIdentity"] == ADDRESS and dto["passwordProtection"] == protection
    reference = parse_reference(dto["reference"]["truncated"])
    assert reference.password_protection is not None and reference.password_protection.password_type == "pin4"
    assert reference.for_identity_truncated == ADDRESS[-4:]
    assert peer_content(functions, dto, "0815") == b'{"x":1}'


def test_content_is_kept_as_upstream_wraps_it(functions: Functions) -> None:
    """An array, a string or a number is wrapped as upstream's JSONWrapper does it; @type JSONWrapper is dropped."""
    for content, kept in (
        ([1, 2], {"0": 1, "1": 2}),
        ("ab", {"0": "a", "1": "b"}),
        (5, {}),
        ({"@type": "JSONWrapper", "@version": 1, "b": 1.0, "1": 2}, {"1": 2, "b": 1}),
    ):
        dto = created(functions, {"content": content, "expiresAt": iso(future())})
        assert dto["content"] == kept
        assert json.loads(peer_content(functions, dto)) == kept


def test_an_ephemeral_own_token_is_published_but_not_kept(functions: Functions, aws: Any) -> None:
    dto = created(functions, {"content": {}, "expiresAt": iso(future()), "ephemeral": True})
    assert dto["isEphemeral"] is True
    assert "Item" in aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": dto["id"]}})
    assert "Item" not in aws.get_item(TableName=RECORDS_TABLE, Key={"id": {"S": dto["id"]}})
    assert (
        functions.invoke("token_read", api_event(f"{V6}/Tokens/{{id}}", dto["id"], method="GET"))["statusCode"] == 404
    )


def test_null_ephemeral_is_false_as_the_connector_sets_it(functions: Functions) -> None:
    assert created(functions, {"content": {}, "expiresAt": iso(future()), "ephemeral": None})["isEphemeral"] is False


def test_the_kept_own_token_is_listed_and_revoked(functions: Functions, aws: Any) -> None:
    dto = created(functions, {"content": {"a": 1}, "expiresAt": iso(future())}, V7)
    listed = functions.invoke("token_read", api_event(f"{V7}/Tokens/Own", None, method="GET"))
    assert [token["id"] for token in json_body(listed)["result"]] == [dto["id"]]
    assert json_body(listed)["result"][0]["content"] == {"a": 1}
    peers = functions.invoke("token_read", api_event(f"{V7}/Tokens/Peer", None, method="GET"))
    assert json_body(peers)["result"] == []
    revoked = functions.invoke("token_revoke", api_event(f"{V7}/Tokens/{{id}}", dto["id"], method="DELETE"))
    assert revoked["statusCode"] == 204
    assert "Item" not in aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": dto["id"]}})
    assert (
        functions.invoke("token_read", api_event(f"{V7}/Tokens/{{id}}", dto["id"], method="GET"))["statusCode"] == 404
    )


# --- refused ---------------------------------------------------------------------------------------------

PIN_MESSAGE = (
    "'passwordProtection.passwordIsPin' is true, hence 'passwordProtection.password' must consist of 4 to 16 digits "
    "from 0 to 9."
)
INDICATOR_MESSAGE = (
    "must be a number from 50 to 99 or one of the following strings: Self, Letter, RegistrationLetter, Email, SMS, "
    "Website"
)
FUTURE = iso(future())
PAST = "2020-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"expiresAt": FUTURE}, INVALID, "must have required property 'content'"),
        ({"content": {}}, INVALID, "must have required property 'expiresAt'"),
        ({}, INVALID, "must have required property 'content'"),
        ({"content": {}, "expiresAt": FUTURE, "extra": 1}, INVALID, "must NOT have additional properties"),
        ({"content": {}, "expiresAt": "tomorrow"}, INVALID, "expiresAt must match ISO8601 datetime format"),
        ({"content": {}, "expiresAt": 5}, INVALID, "expiresAt must match ISO8601 datetime format"),
        ({"content": {}, "expiresAt": PAST}, INVALID, "'expiresAt' must be in the future"),
        ({"content": {}, "expiresAt": FUTURE, "ephemeral": "no"}, INVALID, "ephemeral must be boolean"),
        ({"content": {}, "expiresAt": FUTURE, "forIdentity": "did:e:x"}, INVALID, "forIdentity must match pattern "),
        (
            {"content": {}, "expiresAt": FUTURE, "passwordProtection": {"password": ""}},
            INVALID,
            "passwordProtection/password must NOT have fewer than 1 characters",
        ),
        (
            {"content": {}, "expiresAt": FUTURE, "passwordProtection": {"password": "12ab", "passwordIsPin": True}},
            INVALID,
            PIN_MESSAGE,
        ),
        (
            {
                "content": {},
                "expiresAt": FUTURE,
                "passwordProtection": {"password": "x", "passwordLocationIndicator": 7},
            },
            INVALID,
            INDICATOR_MESSAGE,
        ),
        # The content is read after every other rule, as the runtime reads it in the use case.
        ({"content": None, "expiresAt": PAST}, INVALID, "'expiresAt' must be in the future"),
        (
            {"content": None, "expiresAt": FUTURE},
            INVALID_CONTENT,
            "The given Token has an invalid content for this route.",
        ),
        ({"content": {"@type": "Unknown"}, "expiresAt": FUTURE}, INVALID_CONTENT, ""),
        ({"content": {"hasOwnProperty": 1}, "expiresAt": FUTURE}, INVALID_CONTENT, ""),
        ({"content": {"@type": "JSONWrapper", "@version": 2}, "expiresAt": FUTURE}, INVALID_CONTENT, ""),
    ],
)
@pytest.mark.parametrize("prefix", [V6, V7])
def test_the_runtimes_checks_in_its_order(
    functions: Functions, aws: Any, prefix: str, body: dict[str, Any], code: str, message: str
) -> None:
    status, found_code, found_message = error_of(create_own(functions, body, prefix))
    assert (status, found_code) == (400, code)
    assert found_message.startswith(message)
    assert aws.scan(TableName=BACKBONE_TABLE)["Count"] == 0  # nothing published


def test_json_only_406_before_the_body(functions: Functions) -> None:
    for accept in ("image/png", "text/html"):
        response = create_own(functions, None, accept=accept, raw_body="{not json")
        assert error_of(response)[:2] == (406, "error.connector.http.notAcceptable")
    assert error_of(create_own(functions, None, raw_body="{not json"))[:2] == (
        400,
        "error.connector.validation.invalidJsonInPayload",
    )
    assert error_of(create_own(functions, None, raw_body="[1]"))[1] == "error.connector.validation.invalidJsonInPayload"
