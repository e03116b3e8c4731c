"""Create Token / Token QR code for an own RelationshipTemplate (SPEC §3.2: every check, in its order)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import decrypt_content
from nmshd_tokens.domain.encoding import b64url_encode
from nmshd_tokens.domain.references import parse_reference

from tests.conftest import BACKBONE_TABLE, RECORDS_TABLE
from tests.support import ROUTES, Functions, api_event, decode_qr, error_of, future, json_body, png_bytes

RESOURCE = ROUTES["template_token"][1]
PEER = "did:e:pilot.enmeshed.eu:dids:0123456789abcdef0123a8"
OTHER = "did:e:pilot.enmeshed.eu:dids:fedcba9876543210fedce0"
Factory = Callable[..., Any]

PEER_TEMPLATE = "error.runtime.relationshipTemplates.cannotCreateTokenForPeerTemplate"
PERSONALIZATION = "error.runtime.relationshipTemplates.personalizationMustBeInherited"
PASSWORD = "error.runtime.relationshipTemplates.passwordProtectionMustBeInherited"


def create(functions: Functions, template_id: str, body: Any = None, accept: str | None = None) -> dict[str, Any]:
    return functions.invoke("template_token", api_event(RESOURCE, template_id, body=body, accept=accept))


@pytest.mark.parametrize("case", ["missing", "expired"])
def test_not_found(functions: Functions, make_template: Factory, case: str) -> None:
    template_id = "RLTdoesnotexist00000" if case == "missing" else make_template(expires_at=datetime.now(UTC)).id
    assert error_of(create(functions, template_id)) == (
        404,
        "error.runtime.recordNotFound",
        "RelationshipTemplate not found. Make sure the ID exists and the record is not expired.",
    )


def test_peer_template_is_refused_before_inheritance_checks(functions: Functions, make_template: Factory) -> None:
    template = make_template(expires_at=future(), is_own=False, for_identity=PEER, password="pw")
    assert error_of(create(functions, template.id)) == (
        400,
        PEER_TEMPLATE,
        "You cannot create a Token for a peer RelationshipTemplate.",
    )
    assert error_of(create(functions, template.id, accept="image/png"))[1] == PEER_TEMPLATE


@pytest.mark.parametrize("for_identity", [None, OTHER])
def test_personalization_must_be_inherited(
    functions: Functions, make_template: Factory, for_identity: str | None
) -> None:
    template = make_template(expires_at=future(), for_identity=PEER, password="pw")
    body = {"passwordProtection": {"password": "different"}}
    if for_identity:
        body["forIdentity"] = for_identity  # type: ignore[assignment]
    # The personalisation check comes before the password check, so the wrong password is not reported.
    assert error_of(create(functions, template.id, body)) == (
        400,
        PERSONALIZATION,
        "If a RelationshipTemplate is personalized, Tokens created from it must have the same personalization.",
    )


@pytest.mark.parametrize(
    "protection",
    [
        None,
        {"password": "wrong"},
        {"password": "1234"},  # same password, but pw instead of pin4
        {"password": "1234", "passwordIsPin": True},  # indicator missing
        {"password": "1234", "passwordIsPin": True, "passwordLocationIndicator": 51},
        {"password": "12345", "passwordIsPin": True, "passwordLocationIndicator": 50},
    ],
)
def test_password_protection_must_be_inherited(functions: Functions, make_template: Factory, protection: Any) -> None:
    template = make_template(expires_at=future(), password="1234", pin=True, indicator=50)
    body = {} if protection is None else {"passwordProtection": protection}
    assert error_of(create(functions, template.id, body)) == (
        400,
        PASSWORD,
        "If a RelationshipTemplate has password protection, Tokens created from it must have the same password "
        "protection.",
    )


def test_inherited_token_carries_the_templates_salt_never_its_password(
    functions: Functions, aws: Any, make_template: Factory
) -> None:
    template = make_template(expires_at=future(3), for_identity=PEER, password="1234", pin=True, indicator=50)
    body = {
        "forIdentity": PEER,
        "ephemeral": False,
        "passwordProtection": {"password": "1234", "passwordIsPin": True, "passwordLocationIndicator": 50},
    }
    response = create(functions, template.id, body)
    assert response["statusCode"] == 201, response["body"]
    dto = json_body(response)["result"]
    assert dto["content"] == {
        "@type": "TokenContentRelationshipTemplate",
        "forIdentity": PEER,
        "passwordProtection": {
            "passwordType": "pin4",
            "salt": b64url_encode(template.password_protection.salt),
            "passwordLocationIndicator": 50,
        },
        "secretKey": {"key": b64url_encode(template.secret_key), "alg": 3},
        "templateId": template.id,
    }
    assert dto["forIdentity"] == PEER
    assert dto["passwordProtection"] == {"password": "1234", "passwordIsPin": True, "passwordLocationIndicator": 50}
    reference = parse_reference(dto["reference"]["truncated"])
    # The token has its own fresh salt; the template's travels inside the encrypted content.
    assert reference.password_protection is not None
    assert reference.password_protection.salt != template.password_protection.salt
    stored = aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": dto["id"]}})["Item"]
    plaintext = decrypt_content(stored["content"]["S"], reference.key)
    assert json.loads(plaintext) == dto["content"]
    assert aws.get_item(TableName=RECORDS_TABLE, Key={"id": {"S": dto["id"]}}).get("Item") is not None
    expected_expiry = template.expires_at.astimezone(UTC)
    assert dto["expiresAt"].startswith(expected_expiry.strftime("%Y-%m-%dT%H:%M:%S"))


def test_unrestricted_template_leaves_the_token_free(functions: Functions, make_template: Factory) -> None:
    template = make_template(expires_at=future())
    body = {"forIdentity": OTHER, "passwordProtection": {"password": "own", "passwordLocationIndicator": "Email"}}
    dto = json_body(create(functions, template.id, body))["result"]
    assert "forIdentity" not in dto["content"] and "passwordProtection" not in dto["content"]
    assert dto["forIdentity"] == OTHER
    assert dto["passwordProtection"] == {"password": "own", "passwordLocationIndicator": "Email"}


def test_qr_code_for_template(functions: Functions, make_template: Factory) -> None:
    template = make_template(expires_at=future(), password="secret")
    response = create(functions, template.id, {"passwordProtection": {"password": "secret"}}, accept="image/png")
    assert response["statusCode"] == 201
    reference = parse_reference(decode_qr(png_bytes(response)))
    assert reference.password_protection is not None and reference.password_protection.password_type == "pw"


def test_request_expiry_overrides_template_expiry(functions: Functions, make_template: Factory) -> None:
    template = make_template(expires_at=future(30))
    moment = datetime.now(UTC) + timedelta(days=1)
    dto = json_body(create(functions, template.id, {"expiresAt": moment.isoformat()}))["result"]
    assert dto["expiresAt"].startswith(moment.strftime("%Y-%m-%dT%H:%M:%S"))
