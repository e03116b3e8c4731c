"""Records from CLI options and from Connector DTOs (`records add-*`, `records import`), and how they are shown."""

from __future__ import annotations

import json
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
from nmshd_tokens.domain.references import Reference, SharedPasswordProtection
from nmshd_tokens_local.errors import InputError
from nmshd_tokens_local.page import render_page
from nmshd_tokens_local.record_forms import (
    new_file,
    new_template,
    parse_indicator,
    record_from_dto,
    record_summary,
    record_to_json,
)

ADDRESS = "did:e:localhost:dids:0123456789abcdef012357"
BASE = "http://127.0.0.1:3000/backbone"
TEMPLATE_ID = "RLTaaaaaaaaaaaaaaaa1"
FILE_ID = "FILaaaaaaaaaaaaaaaa1"


@pytest.mark.parametrize(("text", "number"), [("Self", 1), ("Website", 6), ("50", 50), ("99", 99)])
def test_parse_indicator(text: str, number: int) -> None:
    assert parse_indicator(text) == number


@pytest.mark.parametrize("text", ["RecoveryKit", "0", "4", "49", "100", "self", "", "²", "٥٠"])
def test_parse_indicator_rejects(text: str) -> None:
    with pytest.raises(InputError, match="50 to 99"):
        parse_indicator(text)


def test_new_records_have_fresh_keys_and_salts() -> None:
    first, second = new_file(), new_file()
    assert first.id.startswith("FIL") and len(first.id) == 20
    assert first.secret_key != second.secret_key and len(first.secret_key) == 32
    template = new_template(pin="123456", indicator="Letter", for_identity=ADDRESS, expires_at="2031-01-01T00:00Z")
    assert template.id.startswith("RLT") and template.is_own
    assert template.for_identity == ADDRESS
    assert template.expires_at is not None and template.expires_at.year == 2031
    protection = template.password_protection
    assert protection is not None
    assert (protection.password, protection.password_type, protection.location_indicator) == ("123456", "pin6", 2)
    assert len(protection.salt) == 16
    assert new_template(password="pw", peer=True).is_own is False
    assert new_template(password="x").password_protection.password_type == "pw"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"password": "a", "pin": "1234"}, "not both"),
        ({"password": ""}, "must not be empty"),
        ({"pin": "123"}, "4 to 16 digits"),
        ({"pin": "12345678901234567"}, "4 to 16 digits"),
        ({"pin": "１２３４"}, "4 to 16 digits"),
        ({"indicator": "Self"}, "needs --password or --pin"),
        ({"password": "a", "indicator": "RecoveryKit"}, "--indicator"),
        ({"for_identity": "did:e:localhost:dids:123"}, "--for-identity"),
        ({"record_id": "RLTshort"}, "--id must match"),
        ({"record_id": "FILaaaaaaaaaaaaaaaa1"}, "--id must match"),
        ({"expires_at": "2030-01-01"}, "--expires-at"),
    ],
)
def test_new_template_rejects_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        new_template(**kwargs)


def test_new_file_rejects_a_template_id() -> None:
    with pytest.raises(InputError, match="--id must match FIL"):
        new_file(record_id=TEMPLATE_ID)


# --- DTOs --------------------------------------------------------------------------------------------


def _reference(record_id: str, key: bytes, **kwargs: Any) -> dict[str, str]:
    reference = Reference(record_id, key, BASE, **kwargs)
    return {"truncated": reference.truncated, "url": reference.url}


def test_import_file_dto_wrapped_in_result() -> None:
    key = generate_key()
    dto = {
        "result": {
            "id": FILE_ID,
            "filename": "a.txt",
            "isOwn": True,
            "expiresAt": "2031-05-06T07:08:09.000Z",
            "reference": _reference(FILE_ID, key),
        }
    }
    record = record_from_dto(dto)
    assert isinstance(record, FileRecord)
    assert (record.id, record.secret_key) == (FILE_ID, key)
    assert record.expires_at is not None and record.expires_at.isoformat() == "2031-05-06T07:08:09+00:00"


def test_import_file_dto_with_only_the_old_truncated_reference_of_three_parts() -> None:
    key = generate_key()
    truncated = b64url_encode(f"{FILE_ID}|3|{b64url_encode(key)}".encode())
    record = record_from_dto({"id": FILE_ID, "truncatedReference": truncated, "expiresAt": None})
    assert isinstance(record, FileRecord) and record.secret_key == key and record.expires_at is None


def test_import_template_dto_with_personalisation_pin_and_indicator() -> None:
    key, salt = generate_key(), generate_salt()
    dto = {
        "id": TEMPLATE_ID,
        "isOwn": True,
        "forIdentity": ADDRESS,
        "passwordProtection": {"password": "1234", "passwordIsPin": True, "passwordLocationIndicator": "Letter"},
        "reference": _reference(
            TEMPLATE_ID,
            key,
            for_identity_truncated="2357",
            password_protection=SharedPasswordProtection("pin4", salt, 2),
        ),
    }
    record = record_from_dto(dto)
    assert isinstance(record, TemplateRecord)
    assert (record.secret_key, record.for_identity, record.is_own) == (key, ADDRESS, True)
    assert record.password_protection is not None
    assert record.password_protection.password == "1234"
    assert record.password_protection.password_type == "pin4"
    assert record.password_protection.salt == salt
    assert record.password_protection.location_indicator == 2


def test_import_peer_template_dto() -> None:
    dto = {"id": TEMPLATE_ID, "isOwn": False, "reference": _reference(TEMPLATE_ID, generate_key())}
    record = record_from_dto(dto)
    assert isinstance(record, TemplateRecord) and record.is_own is False and record.password_protection is None


def _template_dto(**changes: Any) -> dict[str, Any]:
    salt = generate_salt()
    dto: dict[str, Any] = {
        "id": TEMPLATE_ID,
        "passwordProtection": {"password": "secret"},
        "reference": _reference(TEMPLATE_ID, generate_key(), password_protection=SharedPasswordProtection("pw", salt)),
    }
    dto.update(changes)
    return {key: value for key, value in dto.items() if value is not None}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "FileDTO or RelationshipTemplateDTO"),
        ({"result": 1}, "File id"),
        ({"id": "TOKaaaaaaaaaaaaaaaa1"}, "File id"),
        ({"id": FILE_ID}, "no reference.truncated"),
        ({"id": FILE_ID, "reference": {"truncated": "!!"}}, "not a valid reference"),
        ({"id": FILE_ID, "reference": _reference("FILbbbbbbbbbbbbbbbb1", generate_key())}, "belongs to"),
        ({"id": FILE_ID, "reference": _reference(FILE_ID, generate_key()), "expiresAt": "soon"}, "expiresAt"),
        (_template_dto(passwordProtection=None), "no passwordProtection"),
        (_template_dto(passwordProtection={"password": ""}), "non-empty string"),
        (_template_dto(passwordProtection={"password": "1234", "passwordIsPin": True}), "passwordIsPin"),
        (_template_dto(isOwn="yes"), "isOwn"),
        (_template_dto(forIdentity="nobody"), "forIdentity is not"),
        (_template_dto(forIdentity=ADDRESS), "does not match the personalisation"),
        (
            _template_dto(reference=_reference(TEMPLATE_ID, generate_key())),
            "carries no password salt",
        ),
    ],
)
def test_import_rejects_bad_dtos(document: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        record_from_dto(document)


def test_views_show_secrets_only_in_the_full_record() -> None:
    template = new_template(password="hunter2", indicator="77", for_identity=ADDRESS)
    summary = record_summary(template)
    assert summary["passwordType"] == "pw" and summary["passwordLocationIndicator"] == 77
    assert "hunter2" not in json.dumps(summary)
    assert b64url_encode(template.secret_key) not in json.dumps(summary)
    full = record_to_json(template)
    assert full["secretKey"] == b64url_encode(template.secret_key)
    assert full["passwordProtection"] == {
        "password": "hunter2",
        "passwordType": "pw",
        "salt": b64_encode(template.password_protection.salt),  # type: ignore[union-attr]
        "passwordLocationIndicator": 77,
    }
    assert record_to_json(new_file(expires_at="2031-01-01T00:00:00+02:00"))["expiresAt"] == "2030-12-31T22:00:00.000Z"


def test_page_inlines_records_without_secrets_and_cannot_be_broken_out_of() -> None:
    template = new_template(password="hunter2")
    hostile = TemplateRecord("RLTaaaaaaaaaaaaaaaa1", generate_key(), for_identity="</script><b>x")
    page = render_page([template, hostile], "the-key")
    assert template.id in page and '"the-key"' in page
    assert "hunter2" not in page
    assert b64url_encode(template.secret_key) not in page
    assert "</script><b>" not in page
    assert page.count("</script>") == 2  # the config block and the code block


def test_page_shows_the_commands_as_serve_was_called() -> None:
    page = render_page([], "the-key", "'/home/a b/.venv/bin/nmshd-tokens'")
    assert "<code>&#x27;/home/a b/.venv/bin/nmshd-tokens&#x27; records add-file|" in page
    assert '"program": "\'/home/a b/.venv/bin/nmshd-tokens\'"' in page  # the load command's, in the config
