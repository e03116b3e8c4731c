"""Create Token requests: checked with the Connector's exact first-failure messages (SPEC §2.1).

`parse_token_request` is the way in: every check runs in the upstream order and the first failure is answered.
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
from .ids import ADDRESS_PATTERN, FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, is_address, matches
from .password_protection import (
    MAX_PASSWORD_LENGTH,
    PasswordRequest,
    indicator_to_number,
    is_pin,
    is_unicode_text,
)

IdField = Literal["fileId", "templateId"]
ID_PATTERNS: dict[str, str] = {"fileId": FILE_ID_PATTERN, "templateId": TEMPLATE_ID_PATTERN}

MSG_ISO = "expiresAt must match ISO8601 datetime format"
MSG_FUTURE = "'expiresAt' must be in the future"
MSG_PIN = (
    "'passwordProtection.passwordIsPin' is true, hence 'passwordProtection.password' "
    "must consist of 4 to 16 digits from 0 to 9."
)
MSG_INDICATOR = (
    "must be a number from 50 to 99 or one of the following strings: "
    "Self, Letter, RegistrationLetter, Email, SMS, Website"
)
# JSON (and a Lambda event) can carry a lone UTF-16 surrogate such as "\ud800"; it has no UTF-8 form, so it can
# be neither hashed nor stored.
MSG_NOT_UNICODE = "{field} must be valid Unicode text (no unpaired surrogates)"
_PASSWORD_PROTECTION_KEYS = frozenset({"password", "passwordIsPin", "passwordLocationIndicator"})


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
        if not (matches(FILE_ID_PATTERN, self.target_id) or matches(TEMPLATE_ID_PATTERN, self.target_id)):
            raise ValueError("the target is a File or RelationshipTemplate id")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at must carry its time zone")
        if self.for_identity is not None and not is_address(self.for_identity):
            raise ValueError("for_identity must be an enmeshed address")
        if self.qr_form is not None and not self.ephemeral:
            raise ValueError("a QR code's token is ephemeral")


def _password_protection_failures(value: object) -> list[str]:
    if not isinstance(value, dict):
        return ["passwordProtection must be object"]
    failures: list[str] = []
    if "password" not in value:
        failures.append("passwordProtection must have required property 'password'")
    if set(value) - _PASSWORD_PROTECTION_KEYS:
        failures.append("passwordProtection must NOT have additional properties")
    password = value.get("password")
    if "password" in value:
        if not isinstance(password, str):
            failures.append("passwordProtection/password must be string")
        elif password == "":
            failures.append("passwordProtection/password must NOT have fewer than 1 characters")
        elif len(password) > MAX_PASSWORD_LENGTH:
            failures.append(f"passwordProtection/password must NOT have more than {MAX_PASSWORD_LENGTH} characters")
        elif not is_unicode_text(password):
            failures.append(MSG_NOT_UNICODE.format(field="passwordProtection/password"))
    if "passwordIsPin" in value and value["passwordIsPin"] is not True:
        failures.append("passwordProtection/passwordIsPin must be equal to constant")
    return failures


def collect_failures(
    id_field: IdField,
    request: Mapping[str, Any],
    *,
    wants_png: bool,
    generation: Generation = Generation.API_V2,
    now: datetime | None = None,
) -> list[str]:
    """All failures of a request in the order upstream reports them (the first one is answered)."""
    failures: list[str] = []
    if id_field not in request:
        failures.append(f"must have required property '{id_field}'")
    elif not matches(ID_PATTERNS[id_field], request[id_field]):
        failures.append(f"{id_field} must match pattern {ID_PATTERNS[id_field]}")

    expires_at = None
    if "expiresAt" in request:
        expires_at = parse_iso_datetime(request["expiresAt"])
        if expires_at is None:
            failures.append(MSG_ISO)
    if "ephemeral" in request and not isinstance(request["ephemeral"], bool):
        failures.append("ephemeral must be boolean")
    if "forIdentity" in request:
        for_identity = request["forIdentity"]
        if not isinstance(for_identity, str):
            failures.append("forIdentity must be string")
        elif not is_address(for_identity):
            failures.append(f"forIdentity must match pattern {ADDRESS_PATTERN}")
    protection = request.get("passwordProtection")
    if "passwordProtection" in request:
        failures.extend(_password_protection_failures(protection))

    if expires_at is not None and expires_at <= (now or utc_now()):
        failures.append(MSG_FUTURE)
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
    if wants_png and generation is Generation.API_V2 and not isinstance(request.get("newQRCodeFormat"), bool | None):
        failures.append("newQRCodeFormat must be boolean")  # null is "not given", as the upstream OpenAPI says
    return failures


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
        ephemeral=True if wants_png else request.get("ephemeral", True),
        for_identity=request.get("forIdentity"),
        password_protection=None
        if protection is None
        else PasswordRequest(
            password=protection["password"],
            is_pin=protection.get("passwordIsPin", False),
            location_indicator=indicator_to_number(protection["passwordLocationIndicator"])
            if "passwordLocationIndicator" in protection
            else None,
        ),
        qr_form=generation.qr_form(request.get("newQRCodeFormat"), default_qr_form) if wants_png else None,
    )
