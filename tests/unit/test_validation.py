"""SPEC §2.1: every row of the validation table, and the first-failure ordering rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.clock import parse_iso_datetime
from nmshd_tokens.domain.connector import Generation, QrForm
from nmshd_tokens.domain.errors import DomainError
from nmshd_tokens.domain.password_protection import PasswordRequest, indicator_for_output
from nmshd_tokens.domain.validation import (
    MSG_INDICATOR,
    MSG_ISO,
    MSG_PIN,
    TokenRequest,
    parse_token_request,
)

FILE_ID = "FILabcdefghij0123456"
TEMPLATE_ID = "RLTabcdefghij0123456"
ADDRESS = "did:e:pilot.enmeshed.eu:dids:0123456789abcdef0123a8"
ADDRESS_PATTERN_MSG = (
    "forIdentity must match pattern "
    r"did:e:((([A-Za-z0-9]+(-[A-Za-z0-9]+)*)\.)+[a-z]{2,}|localhost):dids:[0-9a-f]{22}"
)


def failure(request: dict[str, Any], *, id_field: str = "fileId", png: bool = False) -> str:
    with pytest.raises(DomainError) as raised:
        parse_token_request(id_field, request, wants_png=png)  # type: ignore[arg-type]
    assert raised.value.code == "error.runtime.validation.invalidPropertyValue"
    assert raised.value.status == 400
    return raised.value.message


def ok(request: dict[str, Any], *, png: bool = False) -> TokenRequest:
    return parse_token_request("fileId", {"fileId": FILE_ID, **request}, wants_png=png)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({}, "must have required property 'fileId'"),
        ({"fileId": "TOKXXXXXXXXXXXXXXXXX"}, "fileId must match pattern FIL[A-Za-z0-9]{17}"),
        ({"fileId": "INVALID FILE ID"}, "fileId must match pattern FIL[A-Za-z0-9]{17}"),
        ({"fileId": "xx" + FILE_ID + "yy"}, "fileId must match pattern FIL[A-Za-z0-9]{17}"),
        ({"fileId": FILE_ID + "\n"}, "fileId must match pattern FIL[A-Za-z0-9]{17}"),
        ({"fileId": 12}, "fileId must match pattern FIL[A-Za-z0-9]{17}"),
    ],
)
def test_file_id(request_: dict[str, Any], message: str) -> None:
    assert failure(request_) == message


def test_template_id_messages() -> None:
    assert failure({}, id_field="templateId") == "must have required property 'templateId'"
    assert failure({"templateId": FILE_ID}, id_field="templateId") == (
        "templateId must match pattern RLT[A-Za-z0-9]{17}"
    )
    assert parse_token_request("templateId", {"templateId": TEMPLATE_ID}, wants_png=False).target_id == TEMPLATE_ID


@pytest.mark.parametrize(
    "value",
    [
        "invalid date",
        "",
        None,
        5,
        True,
        {},
        [],
        "2030",
        "2030-01-01",
        "2030-W01-1",
        "20300101T100000Z",
        "2030-01-01 10:00",
        "2030-13-01T00:00Z",
        "2030-02-30T00:00Z",
        "2030-01-01T24:00Z",
        "2030-01-01T10:00+25:00",
        "２０３０-01-01T10:00Z",
    ],
)
def test_expires_at_not_iso(value: Any) -> None:
    assert failure({"fileId": FILE_ID, "expiresAt": value}) == MSG_ISO


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-02T03:04Z", datetime(2030, 1, 2, 3, 4, tzinfo=UTC)),
        ("2030-01-02T03:04", datetime(2030, 1, 2, 3, 4, tzinfo=UTC)),
        ("2030-01-02T03:04:05.678Z", datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ("2030-01-02T03:04:05+02:00", datetime(2030, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2030-01-02T03:04:05.123456789-01:30", datetime(2030, 1, 2, 4, 34, 5, 123456, tzinfo=UTC)),
    ],
)
def test_expires_at_forms(text: str, expected: datetime) -> None:
    assert parse_iso_datetime(text) == expected
    assert ok({"expiresAt": text}).expires_at == expected


@pytest.mark.parametrize("moment", [datetime.now(UTC) - timedelta(seconds=1), datetime(2000, 1, 1, tzinfo=UTC)])
def test_expires_at_in_the_past(moment: datetime) -> None:
    assert failure({"fileId": FILE_ID, "expiresAt": moment.isoformat()}) == "'expiresAt' must be in the future"


@pytest.mark.parametrize("value", ["true", None, 1, 0, {}, []])
def test_ephemeral_not_boolean(value: Any) -> None:
    assert failure({"fileId": FILE_ID, "ephemeral": value}) == "ephemeral must be boolean"


@pytest.mark.parametrize("value", [None, 5, {}, ["did"], True])
def test_for_identity_not_string(value: Any) -> None:
    assert failure({"fileId": FILE_ID, "forIdentity": value}) == "forIdentity must be string"


@pytest.mark.parametrize(
    "value",
    [
        "id1abc",
        "",
        "did:e:pilot.enmeshed.eu:dids:0123456789ABCDEF0123AB",
        ADDRESS + "0",
        "x" + ADDRESS,
        "did:e:localhost:dids:0123456789abcdef0123a",
    ],
)
def test_for_identity_not_address(value: str) -> None:
    assert failure({"fileId": FILE_ID, "forIdentity": value}) == ADDRESS_PATTERN_MSG


def test_for_identity_localhost_and_domains() -> None:
    assert ok({"forIdentity": ADDRESS}).for_identity == ADDRESS
    assert ok({"forIdentity": "did:e:localhost:dids:0123456789abcdef012357"}).for_identity


@pytest.mark.parametrize(
    ("protection", "message"),
    [
        (None, "passwordProtection must be object"),
        ("secret", "passwordProtection must be object"),
        ([], "passwordProtection must be object"),
        ({}, "passwordProtection must have required property 'password'"),
        ({"passwordIsPin": True}, "passwordProtection must have required property 'password'"),
        ({"password": "x", "extra": 1}, "passwordProtection must NOT have additional properties"),
        ({"password": 1234}, "passwordProtection/password must be string"),
        ({"password": None}, "passwordProtection/password must be string"),
        ({"password": ""}, "passwordProtection/password must NOT have fewer than 1 characters"),
        ({"password": "1234", "passwordIsPin": False}, "passwordProtection/passwordIsPin must be equal to constant"),
        ({"password": "1234", "passwordIsPin": None}, "passwordProtection/passwordIsPin must be equal to constant"),
        ({"password": "1234", "passwordIsPin": "true"}, "passwordProtection/passwordIsPin must be equal to constant"),
        ({"password": "1234", "passwordIsPin": 1}, "passwordProtection/passwordIsPin must be equal to constant"),
        ({"password": "x" * 1001}, "passwordProtection/password must NOT have more than 1000 characters"),
        (
            {"password": "ab\ud800"},
            "passwordProtection/password must be valid Unicode text (no unpaired surrogates)",
        ),
    ],
)
def test_password_protection_schema(protection: Any, message: str) -> None:
    assert failure({"fileId": FILE_ID, "passwordProtection": protection}) == message


@pytest.mark.parametrize("pin", ["123", "12345678901234567", "12a4", " 1234", "1234 ", "١٢٣٤", "１２３４", "12.4"])
def test_pin_must_be_4_to_16_ascii_digits(pin: str) -> None:
    assert failure({"fileId": FILE_ID, "passwordProtection": {"password": pin, "passwordIsPin": True}}) == MSG_PIN


@pytest.mark.parametrize("pin", ["1234", "0000", "1234567890123456"])
def test_valid_pins(pin: str) -> None:
    protection = ok({"passwordProtection": {"password": pin, "passwordIsPin": True}}).password_protection
    assert protection is not None and protection.password_type == f"pin{len(pin)}"


@pytest.mark.parametrize(
    "indicator",
    ["RecoveryKit", "sms", "self", "Unknown", "", 0, 1, 6, 49, 100, 1000, -1, 50.5, True, None, "50", [], {}],
)
def test_bad_location_indicator(indicator: Any) -> None:
    protection = {"password": "secret", "passwordLocationIndicator": indicator}
    assert failure({"fileId": FILE_ID, "passwordProtection": protection}) == MSG_INDICATOR


@pytest.mark.parametrize(
    ("indicator", "number"),
    [
        ("Self", 1),
        ("Letter", 2),
        ("RegistrationLetter", 3),
        ("Email", 4),
        ("SMS", 5),
        ("Website", 6),
        (50, 50),
        (99, 99),
        (75.0, 75),
    ],
)
def test_location_indicator_mapping(indicator: Any, number: int) -> None:
    protection = ok({"passwordProtection": {"password": "pw", "passwordLocationIndicator": indicator}})
    assert protection.password_protection is not None
    assert protection.password_protection.location_indicator == number
    assert indicator_for_output(number) == (indicator if isinstance(indicator, str) else number)


def test_new_qr_code_format_checked_only_for_png() -> None:
    assert failure({"fileId": FILE_ID, "newQRCodeFormat": "yes"}, png=True) == "newQRCodeFormat must be boolean"
    assert ok({"newQRCodeFormat": "yes"}).qr_form is None  # a JSON answer has no QR code
    assert ok({"newQRCodeFormat": False}, png=True).qr_form is QrForm.LEGACY
    assert ok({"newQRCodeFormat": True}, png=True).qr_form is QrForm.URL


def test_null_new_qr_code_format_means_not_given() -> None:
    """The upstream OpenAPI marks it nullable (SPEC §6): the configured default applies."""
    assert ok({"newQRCodeFormat": None}, png=True).qr_form is QrForm.URL
    legacy = parse_token_request(
        "fileId", {"fileId": FILE_ID, "newQRCodeFormat": None}, wants_png=True, default_qr_form=QrForm.LEGACY
    )
    assert legacy.qr_form is QrForm.LEGACY


def test_connector_7_ignores_new_qr_code_format() -> None:
    """Under /api/core/v1 it is an unknown top-level key: ignored, and the QR code encodes the URL."""
    for value in (False, "yes", 1, None):
        request = parse_token_request(
            "fileId",
            {"fileId": FILE_ID, "newQRCodeFormat": value},
            wants_png=True,
            generation=Generation.CORE_V1,
            default_qr_form=QrForm.LEGACY,
        )
        assert request.qr_form is QrForm.URL


@pytest.mark.parametrize(
    "fields",
    [
        {"target_id": "x"},
        {"target_id": FILE_ID, "for_identity": "nobody"},
        {"target_id": FILE_ID, "expires_at": datetime(2090, 1, 1)},  # no time zone
        {"target_id": FILE_ID, "ephemeral": False, "qr_form": QrForm.URL},  # a QR code's token is ephemeral
    ],
)
def test_an_invalid_request_cannot_be_built(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TokenRequest(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"password": ""},
        {"password": "a" * 1001},
        {"password": "ab\ud800"},
        {"password": "12a4", "is_pin": True},
        {"password": "123", "is_pin": True},
        {"password": "pw", "location_indicator": 0},
        {"password": "pw", "location_indicator": 7},
        {"password": "pw", "location_indicator": 100},
    ],
)
def test_an_invalid_password_request_cannot_be_built(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PasswordRequest(**fields)


def test_defaults_and_png_forces_ephemeral() -> None:
    request = ok({"unknownKey": {"deep": 1}})
    assert request.ephemeral is True and request.expires_at is None and request.password_protection is None
    assert ok({"ephemeral": False}).ephemeral is False
    assert ok({"ephemeral": False}, png=True).ephemeral is True


# --- ordering: all checks run, the first failure in upstream order wins ------------------------------------

BAD = {
    "id": {"fileId": "bad"},
    "expiresAt": {"expiresAt": "soon"},
    "ephemeral": {"ephemeral": "yes"},
    "forIdentity": {"forIdentity": 5},
    "passwordProtection": {"passwordProtection": {"password": ""}},
    "future": {"expiresAt": "2001-01-01T00:00Z"},
    "pin": {"passwordProtection": {"password": "abc", "passwordIsPin": True}},
    "indicator": {"passwordProtection": {"password": "1234", "passwordLocationIndicator": 7}},
    "newQRCodeFormat": {"newQRCodeFormat": 1},
}
EXPECTED = {
    "id": "fileId must match pattern FIL[A-Za-z0-9]{17}",
    "expiresAt": MSG_ISO,
    "ephemeral": "ephemeral must be boolean",
    "forIdentity": "forIdentity must be string",
    "passwordProtection": "passwordProtection/password must NOT have fewer than 1 characters",
    "future": "'expiresAt' must be in the future",
    "pin": MSG_PIN,
    "indicator": MSG_INDICATOR,
    "newQRCodeFormat": "newQRCodeFormat must be boolean",
}
ORDER = [
    "id",
    "expiresAt",
    "ephemeral",
    "forIdentity",
    "passwordProtection",
    "future",
    "pin",
    "indicator",
    "newQRCodeFormat",
]


@pytest.mark.parametrize("first", range(len(ORDER)))
def test_first_failure_wins(first: int) -> None:
    """Combine the failure at position `first` with every later one that can coexist: the first is answered."""
    request: dict[str, Any] = {"fileId": FILE_ID}
    for name in reversed(ORDER[first:]):
        if name == "expiresAt" and ORDER[first] != "expiresAt" and first < ORDER.index("future"):
            continue  # an unparseable date cannot also be in the past; keep the later 'future' row instead
        if name == "passwordProtection" and ORDER[first] in ("pin", "indicator"):
            continue
        request.update(BAD[name])
    if ORDER[first] == "passwordProtection":
        request["passwordProtection"] = {"password": "", "passwordIsPin": True, "passwordLocationIndicator": 0}
    assert failure(request, png=True) == EXPECTED[ORDER[first]]


def test_inner_order_of_password_protection() -> None:
    assert failure({"fileId": FILE_ID, "passwordProtection": {"x": 1}}) == (
        "passwordProtection must have required property 'password'"
    )
    assert failure({"fileId": FILE_ID, "passwordProtection": {"password": 1, "x": 1}}) == (
        "passwordProtection must NOT have additional properties"
    )
    assert failure({"fileId": FILE_ID, "passwordProtection": {"password": 1, "passwordIsPin": False}}) == (
        "passwordProtection/password must be string"
    )
