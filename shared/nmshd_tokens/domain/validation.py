"""Request validation with the Connector's exact first-failure messages (SPEC §2.1).

Every check runs in the upstream order and the first failure wins. The checks run inside a pydantic
`model_validator(mode="before")`, so the models below only ever hold valid, normalised values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from .errors import validation_error
from .ids import ADDRESS_PATTERN, FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, matches

IdField = Literal["fileId", "templateId"]
ID_PATTERNS: dict[str, str] = {"fileId": FILE_ID_PATTERN, "templateId": TEMPLATE_ID_PATTERN}

MAX_PASSWORD_LENGTH = 1000  # characters; Argon2id cost does not depend on it, but logs and bodies do

_ISO_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)
_PIN_RE = re.compile(r"[0-9]{4,16}")  # ASCII digits only: look-alike digits are not a PIN

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


class LocationIndicator(IntEnum):
    """Named password location indicators; 0 (RecoveryKit) cannot be set through these use cases."""

    RecoveryKit = 0
    Self = 1
    Letter = 2
    RegistrationLetter = 3
    Email = 4
    SMS = 5
    Website = 6


_SETTABLE_INDICATOR_NAMES = {member.name: member.value for member in LocationIndicator if member.value != 0}


def indicator_to_number(value: object) -> int | None:
    """The stored number of a request's indicator, or None when it is not a valid one."""
    if isinstance(value, str):
        return _SETTABLE_INDICATOR_NAMES.get(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 50 <= value <= 99:
        return value
    return None


def indicator_for_output(number: int) -> str | int:
    """1–6 are given back by name, 50–99 as the number (as upstream's PasswordProtectionMapper)."""
    if 1 <= number <= 6:
        return LocationIndicator(number).name
    return number


def is_unicode_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_iso_datetime(value: object) -> datetime | None:
    """`YYYY-MM-DDThh:mm[:ss[.fraction]][Z|±hh:mm]`; no offset means UTC. None when not parseable."""
    if not isinstance(value, str):
        return None
    match = _ISO_DATETIME_RE.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        zone = UTC
        if offset and offset != "Z":
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                return None
            delta = timedelta(hours=hours, minutes=minutes)
            zone = timezone(-delta if offset[0] == "-" else delta)
        microsecond = int((fraction or "0").ljust(6, "0")[:6])
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), microsecond, tzinfo=zone
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


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
    id_field: IdField, request: Mapping[str, Any], *, wants_png: bool, now: datetime | None = None
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
        elif not matches(ADDRESS_PATTERN, for_identity):
            failures.append(f"forIdentity must match pattern {ADDRESS_PATTERN}")
    protection = request.get("passwordProtection")
    if "passwordProtection" in request:
        failures.extend(_password_protection_failures(protection))

    if expires_at is not None and expires_at <= (now or datetime.now(UTC)):
        failures.append(MSG_FUTURE)
    if isinstance(protection, dict):
        if protection.get("passwordIsPin") is True and not (
            isinstance(protection.get("password"), str) and _PIN_RE.fullmatch(protection["password"])
        ):
            failures.append(MSG_PIN)
        if (
            "passwordLocationIndicator" in protection
            and indicator_to_number(protection["passwordLocationIndicator"]) is None
        ):
            failures.append(MSG_INDICATOR)
    if wants_png and "newQRCodeFormat" in request and not isinstance(request["newQRCodeFormat"], bool):
        failures.append("newQRCodeFormat must be boolean")
    return failures


def _raise_first_failure(failures: list[str]) -> None:
    if failures:
        raise PydanticCustomError("invalidPropertyValue", "{reason}", {"reason": failures[0]})


class PasswordProtectionInput(BaseModel):
    """A valid `passwordProtection`: the indicator is already its stored number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    password: str
    is_pin: bool = False
    location_indicator: int | None = None

    @property
    def password_type(self) -> str:
        return f"pin{len(self.password)}" if self.is_pin else "pw"


class TokenRequest(BaseModel):
    """A validated request to create a token for a File or an own RelationshipTemplate.

    Build it with `parse_token_request`: the raw command is checked in the upstream order before any
    field is read, so the first failure carries the Connector's exact message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    target_id: str
    expires_at: datetime | None = None
    ephemeral: bool = True
    for_identity: str | None = None
    password_protection: PasswordProtectionInput | None = None
    new_qr_code_format: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _check_command(cls, raw: Any, info: ValidationInfo) -> Any:
        if not info.context:  # already normalised (e.g. model_copy / re-validation of our own dump)
            return raw
        id_field: IdField = info.context["id_field"]
        wants_png: bool = info.context["wants_png"]
        _raise_first_failure(collect_failures(id_field, raw, wants_png=wants_png))
        return _normalise(id_field, raw, wants_png)


def _normalise(id_field: IdField, request: Mapping[str, Any], wants_png: bool) -> dict[str, Any]:
    protection = request.get("passwordProtection")
    return {
        "target_id": request[id_field],
        "expires_at": parse_iso_datetime(request["expiresAt"]) if "expiresAt" in request else None,
        # The Connector forces ephemeral tokens for QR codes.
        "ephemeral": True if wants_png else request.get("ephemeral", True),
        "for_identity": request.get("forIdentity"),
        "password_protection": None
        if protection is None
        else {
            "password": protection["password"],
            "is_pin": protection.get("passwordIsPin", False),
            "location_indicator": indicator_to_number(protection["passwordLocationIndicator"])
            if "passwordLocationIndicator" in protection
            else None,
        },
        "new_qr_code_format": request.get("newQRCodeFormat") if wants_png else None,
    }


def parse_token_request(id_field: IdField, request: Mapping[str, Any], *, wants_png: bool) -> TokenRequest:
    """Validate a command (`{"fileId"|"templateId": …, body fields…}`) or raise the first failure as DomainError."""
    try:
        return TokenRequest.model_validate(dict(request), context={"id_field": id_field, "wants_png": wants_png})
    except ValidationError as exc:
        first = exc.errors()[0]
        reason = (first.get("ctx") or {}).get("reason") or first["msg"]
        raise validation_error(str(reason)) from None
