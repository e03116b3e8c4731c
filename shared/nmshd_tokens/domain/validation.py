"""Create Token requests: checked with the Connector's exact first-failure messages (SPEC §2.1).

`parse_token_request` is the way in: every check runs in the upstream order and the first failure is answered.
The rules JSON Schema can state are in request_rules.py (which the OpenAPI document publishes); here is their
order, and the semantic checks that follow them.
What it returns, a `TokenRequest`, checks its own invariants, so an invalid one cannot be built by other means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .clock import parse_iso_datetime, utc_now
from .connector import Generation, QrForm
from .errors import validation_error
from .ids import is_address, matches
from .password_protection import (
    MAX_NUMBERED_INDICATOR,
    MIN_NUMBERED_INDICATOR,
    SETTABLE_INDICATOR_NAMES,
    PasswordRequest,
    indicator_to_number,
    is_pin,
)
from .password_protection import MAX_PASSWORD_LENGTH as MAX_PASSWORD_LENGTH  # read from here too
from .request_rules import (
    BODY,
    FORMAT_MESSAGES,
    ID_PATTERNS,
    ID_SCHEMAS,
    NEW_QR_CODE_FORMAT,
    OWN_TOKEN_BODY,
    schema_failures,
)
from .request_rules import MSG_NOT_UNICODE as MSG_NOT_UNICODE  # read from here too
from .token_content import own_token_content

IdField = Literal["fileId", "templateId"]

MSG_ISO = f"expiresAt {FORMAT_MESSAGES['date-time']}"
MSG_FUTURE = "'expiresAt' must be in the future"
MSG_PIN = (
    "'passwordProtection.passwordIsPin' is true, hence 'passwordProtection.password' "
    "must consist of 4 to 16 digits from 0 to 9."
)
MSG_INDICATOR = (
    f"must be a number from {MIN_NUMBERED_INDICATOR} to {MAX_NUMBERED_INDICATOR} or one of the following strings: "
    + ", ".join(SETTABLE_INDICATOR_NAMES)
)


@dataclass(frozen=True)
class TokenRequest:
    """A valid request to create a token for a File (`FIL…`) or an own RelationshipTemplate (`RLT…`).

    `qr_form` is None for a JSON answer; for a QR code it is the payload form, decided once, here.
    """

    target_id: str
    expires_at: datetime | None = None
    ephemeral: bool = True
    for_identity: str | None = None
    password_protection: PasswordRequest | None = None
    qr_form: QrForm | None = None

    def __post_init__(self) -> None:
        if not any(matches(pattern, self.target_id) for pattern in ID_PATTERNS.values()):
            raise ValueError("the target is a File or RelationshipTemplate id")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at must carry its time zone")
        if self.for_identity is not None and not is_address(self.for_identity):
            raise ValueError("for_identity must be an enmeshed address")
        if self.qr_form is not None and not self.ephemeral:
            raise ValueError("a QR code's token is ephemeral")


def collect_failures(
    id_field: IdField,
    request: Mapping[str, Any],
    *,
    wants_png: bool,
    generation: Generation = Generation.API_V2,
    now: datetime | None = None,
) -> list[str]:
    """All failures of a request in the order upstream reports them (the first one is answered): the id, the
    body's schema (request_rules.py), the semantic checks, then a QR code's `newQRCodeFormat`."""
    failures = schema_failures(ID_SCHEMAS[id_field], request)
    failures += schema_failures(BODY, request)
    failures += creation_rule_failures(request, now)
    # Connector 6 only; null is "not given", as the upstream OpenAPI says.
    if wants_png and generation is Generation.API_V2 and request.get("newQRCodeFormat") is not None:
        failures += schema_failures(NEW_QR_CODE_FORMAT, request["newQRCodeFormat"], "newQRCodeFormat")
    return failures


def creation_rule_failures(request: Mapping[str, Any], now: datetime | None = None) -> list[str]:
    """The runtime's TokenAndTemplateCreationValidator, after the schema: expiry in the future, PIN, indicator."""
    failures = []
    expires_at = parse_iso_datetime(request.get("expiresAt"))
    if expires_at is not None and expires_at <= (now or utc_now()):
        failures.append(MSG_FUTURE)
    protection = request.get("passwordProtection")
    if isinstance(protection, dict):
        if protection.get("passwordIsPin") is True and not (
            isinstance(protection.get("password"), str) and is_pin(protection["password"])
        ):
            failures.append(MSG_PIN)
        if (
            "passwordLocationIndicator" in protection
            and indicator_to_number(protection["passwordLocationIndicator"]) is None
        ):
            failures.append(MSG_INDICATOR)
    return failures


def password_request(protection: Mapping[str, Any] | None) -> PasswordRequest | None:
    """A checked `passwordProtection`, the indicator as its stored number."""
    if protection is None:
        return None
    return PasswordRequest(
        password=protection["password"],
        is_pin=protection.get("passwordIsPin", False),
        location_indicator=indicator_to_number(protection["passwordLocationIndicator"])
        if "passwordLocationIndicator" in protection
        else None,
    )


def parse_token_request(
    id_field: IdField,
    request: Mapping[str, Any],
    *,
    wants_png: bool,
    generation: Generation = Generation.API_V2,
    default_qr_form: QrForm = QrForm.URL,
) -> TokenRequest:
    """Validate a command (`{"fileId"|"templateId": …, body fields…}`) or raise the first failure as DomainError."""
    failures = collect_failures(id_field, request, wants_png=wants_png, generation=generation)
    if failures:
        raise validation_error(failures[0])
    protection = request.get("passwordProtection")
    return TokenRequest(
        target_id=request[id_field],
        expires_at=parse_iso_datetime(request["expiresAt"]) if "expiresAt" in request else None,
        # The Connector forces ephemeral tokens for QR codes.
        ephemeral=True if wants_png else request.get("ephemeral", BODY["properties"]["ephemeral"]["default"]),
        for_identity=request.get("forIdentity"),
        password_protection=password_request(protection),
        qr_form=generation.qr_form(request.get("newQRCodeFormat"), default_qr_form) if wants_png else None,
    )


@dataclass(frozen=True)
class OwnTokenRequest:
    """A valid POST /Tokens/Own: `content` is already what upstream keeps of it (token_content.py)."""

    content: dict[str, Any]
    expires_at: datetime
    ephemeral: bool = False
    for_identity: str | None = None
    password_protection: PasswordRequest | None = None

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("expires_at must carry its time zone")
        if self.for_identity is not None and not is_address(self.for_identity):
            raise ValueError("for_identity must be an enmeshed address")


def parse_own_token_request(body: Mapping[str, Any], now: datetime | None = None) -> OwnTokenRequest:
    """The runtime's order: the schema (request_rules.OWN_TOKEN_BODY), the creation rules, then the content
    (Serializable.fromUnknown). The Connector first sets a missing or null `ephemeral` to false."""
    request = {**body, "ephemeral": False} if body.get("ephemeral") is None else body
    failures = schema_failures(OWN_TOKEN_BODY, request) + creation_rule_failures(request, now)
    if failures:
        raise validation_error(failures[0])
    expires_at = parse_iso_datetime(request["expiresAt"])
    assert expires_at is not None  # the schema checked it
    return OwnTokenRequest(
        content=own_token_content(request["content"]),
        expires_at=expires_at,
        ephemeral=request["ephemeral"],
        for_identity=request.get("forIdentity"),
        password_protection=password_request(request.get("passwordProtection")),
    )
