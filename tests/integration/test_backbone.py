"""The embedded backbone's peer side (SPEC §9) and the full peer round trip (create → QR → load → decrypt)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.references import parse_reference

from tests.conftest import BACKBONE_TABLE
from tests.support import ROUTES, Functions, api_event, decode_qr, future, header, json_body, png_bytes

Factory = Callable[..., Any]
NOT_FOUND = (
    "Token not found. Make sure the ID exists and the record is not expired. "
    "If a password is required to fetch the record, make sure you passed the correct one."
)


def create(
    functions: Functions, name: str, path_id: str, body: Any = None, accept: str | None = None
) -> dict[str, Any]:
    return functions.invoke(name, api_event(ROUTES[name][1], path_id, body=body, accept=accept))


def fetch(functions: Functions, token_id: str, password: str | None = None) -> dict[str, Any]:
    query = {"password": password} if password is not None else None
    event = api_event(ROUTES["backbone_token"][1], token_id, method="GET", query=query, headers={"x-api-key": ""})
    return functions.invoke("backbone_token", event)


def test_round_trip_file_token_through_the_qr_code(functions: Functions, make_file: Factory) -> None:
    file = make_file(future())
    png = png_bytes(
        create(functions, "file_token", file.id, {"passwordProtection": {"password": "s3cret"}}, "image/png")
    )
    reference = parse_reference(decode_qr(png))
    assert reference.password_protection is not None
    password_hash = derive_password_hash("s3cret", reference.password_protection.salt)
    response = fetch(functions, reference.id, b64_encode(password_hash))
    assert response["statusCode"] == 200
    result = json_body(response)["result"]
    assert result["id"] == reference.id and result["createdBy"].startswith("did:e:")
    content = json.loads(decrypt_content(result["content"], reference.key))
    assert content == {
        "@type": "TokenContentFile",
        "fileId": file.id,
        "secretKey": {"key": b64url_encode(file.secret_key), "alg": 3},
    }


def test_round_trip_template_token(functions: Functions, make_template: Factory) -> None:
    template = make_template(expires_at=future())
    dto = json_body(create(functions, "template_token", template.id))["result"]
    reference = parse_reference(dto["reference"]["url"])
    result = json_body(fetch(functions, reference.id))["result"]
    content = json.loads(decrypt_content(result["content"], reference.key))
    assert content["templateId"] == template.id
    assert content["secretKey"]["key"] == b64url_encode(template.secret_key)
    assert set(result) == {"id", "createdBy", "createdByDevice", "content", "createdAt", "expiresAt"}


def test_personalised_token_is_served_with_its_for_identity(functions: Functions, make_file: Factory) -> None:
    address = "did:e:localhost:dids:0123456789abcdef012357"
    dto = json_body(create(functions, "file_token", make_file(future()).id, {"forIdentity": address}))["result"]
    assert json_body(fetch(functions, dto["id"]))["result"]["forIdentity"] == address


def test_password_ignored_for_unprotected_token(functions: Functions, make_file: Factory) -> None:
    dto = json_body(create(functions, "file_token", make_file(future()).id))["result"]
    assert fetch(functions, dto["id"], "d3Jvbmc=")["statusCode"] == 200


def protected_token(functions: Functions, make_file: Factory, password: str = "right") -> tuple[str, str]:
    dto = json_body(
        create(functions, "file_token", make_file(future()).id, {"passwordProtection": {"password": password}})
    )
    reference = parse_reference(dto["result"]["reference"]["truncated"])
    assert reference.password_protection is not None
    return reference.id, b64_encode(derive_password_hash(password, reference.password_protection.salt))


def failures(aws: Any, token_id: str) -> int:
    item = aws.get_item(TableName=BACKBONE_TABLE, Key={"id": {"S": token_id}})["Item"]
    return int(item["failedAttempts"]["N"])


def test_wrong_or_missing_password_is_404_and_counted(functions: Functions, aws: Any, make_file: Factory) -> None:
    token_id, right = protected_token(functions, make_file)
    for password in (None, "d3Jvbmc=", "not base64 at all", right[:-4] + "AAA="):
        response = fetch(functions, token_id, password)
        assert response["statusCode"] == 404
        assert json_body(response)["error"] == {
            **json_body(response)["error"],
            "code": "error.platform.recordNotFound",
            "message": NOT_FOUND,
        }
    assert failures(aws, token_id) == 4
    assert fetch(functions, token_id, right)["statusCode"] == 200
    assert failures(aws, token_id) == 4  # a success does not reset the count
    # url-safe base64 of the hash is read too
    assert fetch(functions, token_id, right.replace("+", "-").replace("/", "_").rstrip("="))["statusCode"] == 200


def test_lockout_at_the_100th_failure(functions: Functions, aws: Any, make_file: Factory) -> None:
    token_id, right = protected_token(functions, make_file)
    aws.update_item(
        TableName=BACKBONE_TABLE,
        Key={"id": {"S": token_id}},
        UpdateExpression="SET failedAttempts = :n",
        ExpressionAttributeValues={":n": {"N": "98"}},
    )
    assert fetch(functions, token_id, "d3Jvbmc=")["statusCode"] == 404  # 99th
    locked = fetch(functions, token_id, "d3Jvbmc=")  # 100th
    assert locked["statusCode"] == 400
    assert json_body(locked)["error"]["code"] == "error.platform.token.tooManyFailedPasswordAttempts"
    assert json_body(locked)["error"]["message"] == "Too many wrong password attempts, the token is locked."
    assert fetch(functions, token_id, right)["statusCode"] == 400
    assert failures(aws, token_id) == 100


@pytest.mark.parametrize("token_id", ["TOKdoesnotexist00000", "not-a-token-id", "TOK" + "a" * 40])
def test_unknown_token_is_404(functions: Functions, token_id: str) -> None:
    response = fetch(functions, token_id)
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["message"] == NOT_FOUND


def test_expired_token_is_404(functions: Functions, aws: Any, make_file: Factory) -> None:
    dto = json_body(create(functions, "file_token", make_file(future()).id))["result"]
    past = datetime.now(UTC) - timedelta(seconds=1)
    aws.update_item(
        TableName=BACKBONE_TABLE,
        Key={"id": {"S": dto["id"]}},
        UpdateExpression="SET expiresAt = :e",
        ExpressionAttributeValues={":e": {"S": past.strftime("%Y-%m-%dT%H:%M:%S.000Z")}},
    )
    assert fetch(functions, dto["id"])["statusCode"] == 404


def test_reference_page(functions: Functions, make_file: Factory) -> None:
    dto = json_body(create(functions, "file_token", make_file(future()).id))["result"]
    page = functions.invoke("backbone_token", api_event(ROUTES["backbone_page"][1], dto["id"], method="GET"))
    assert page["statusCode"] == 200
    assert header(page, "Content-Type").startswith("text/html")  # type: ignore[union-attr]
    assert "enmeshed app" in page["body"]
    missing = functions.invoke(
        "backbone_token", api_event(ROUTES["backbone_page"][1], "TOKdoesnotexist00000", method="GET")
    )
    assert missing["statusCode"] == 404


def test_reference_page_locks_itself_down(functions: Functions, make_file: Factory) -> None:
    dto = json_body(create(functions, "file_token", make_file(future()).id))["result"]
    for token_id, status in ((dto["id"], 200), ("TOKdoesnotexist00000", 404)):
        page = functions.invoke("backbone_token", api_event(ROUTES["backbone_page"][1], token_id, method="GET"))
        assert page["statusCode"] == status
        policy = header(page, "Content-Security-Policy") or ""
        directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
        assert directives["default-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
        # The page's one inline style is allowed by its hash, and nothing else is.
        style = re.search(r"<style>(.*?)</style>", page["body"], re.DOTALL)
        assert style is not None and "<script" not in page["body"]
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        assert directives["style-src"] == [f"'sha256-{digest}'"]
        assert header(page, "X-Content-Type-Options") == "nosniff"
        assert header(page, "X-Frame-Options") == "DENY"
        assert header(page, "Cache-Control") == "no-store"
        assert header(page, "Referrer-Policy") == "no-referrer"
        assert header(page, "Content-Type") == "text/html; charset=utf-8"
