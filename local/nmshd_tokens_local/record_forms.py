"""The forms a File or RelationshipTemplate record takes outside its table: built from CLI options or Connector
DTOs, shown as JSON (the full record for the operator, a summary without secrets for the page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nmshd_tokens.domain import connector_dtos
from nmshd_tokens.domain.clock import format_timestamp, parse_iso_datetime
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.ids import (
    FILE_ID_PATTERN,
    TEMPLATE_ID_PATTERN,
    is_address,
    matches,
    new_id,
)
from nmshd_tokens.domain.password_protection import indicator_for_output, indicator_to_number
from nmshd_tokens.domain.validation import MSG_INDICATOR, MSG_PIN

from .errors import InputError

OwnRecord = FileRecord | TemplateRecord


def parse_expires_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = parse_iso_datetime(text)
    if moment is None:
        raise InputError("--expires-at must be an ISO 8601 date-time such as 2030-01-31T12:00:00Z")
    return moment


def parse_indicator(text: str) -> int:
    """A location indicator name (Self, Letter, …) or a number from 50 to 99, as the API accepts it."""
    number = indicator_to_number(int(text) if text.isascii() and text.isdigit() else text)
    if number is None:
        raise InputError(f"--indicator {MSG_INDICATOR}")
    return number


def _checked_id(record_id: str | None, prefix: str, pattern: str) -> str:
    if record_id is None:
        return new_id(prefix)
    if not matches(pattern, record_id):
        raise InputError(f"--id must match {pattern}")
    return record_id


def new_file(record_id: str | None = None, expires_at: str | None = None) -> FileRecord:
    return FileRecord(_checked_id(record_id, "FIL", FILE_ID_PATTERN), generate_key(), parse_expires_at(expires_at))


def new_template(
    *,
    record_id: str | None = None,
    expires_at: str | None = None,
    peer: bool = False,
    for_identity: str | None = None,
    password: str | None = None,
    pin: str | None = None,
    indicator: str | None = None,
) -> TemplateRecord:
    """A RelationshipTemplate with a fresh random key; the password salt is fresh too."""
    if for_identity is not None and not is_address(for_identity):
        raise InputError("--for-identity must be an enmeshed address did:e:<host>:dids:<22 hex digits>")
    if password is not None and pin is not None:
        raise InputError("give either --password or --pin, not both")
    if password == "":
        raise InputError("--password must not be empty")
    if pin is not None and not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 16):
        raise InputError(f"--pin: {MSG_PIN}")
    secret = password if password is not None else pin
    if indicator is not None and secret is None:
        raise InputError("--indicator needs --password or --pin")
    protection = None
    if secret is not None:
        password_type = f"pin{len(secret)}" if pin is not None else "pw"
        location = parse_indicator(indicator) if indicator is not None else None
        protection = StoredPasswordProtection(secret, password_type, generate_salt(), location)
    return TemplateRecord(
        id=_checked_id(record_id, "RLT", TEMPLATE_ID_PATTERN),
        secret_key=generate_key(),
        expires_at=parse_expires_at(expires_at),
        is_own=not peer,
        for_identity=for_identity,
        password_protection=protection,
    )


# --- Connector DTOs ----------------------------------------------------------------------------------


def record_from_dto(document: object) -> OwnRecord:
    """A Connector FileDTO or RelationshipTemplateDTO, mapped as the read-through maps it (one mapping, shared)."""
    try:
        return connector_dtos.record_from_dto(document)
    except connector_dtos.DtoError as exc:
        raise InputError(str(exc)) from None


# --- views -------------------------------------------------------------------------------------------


def _expiry_text(record: OwnRecord) -> str | None:
    return format_timestamp(record.expires_at) if record.expires_at else None


def record_summary(record: OwnRecord) -> dict[str, Any]:
    """What the local page shows and needs to build a request: no key, no password."""
    if isinstance(record, FileRecord):
        return {"id": record.id, "type": "File", "expiresAt": _expiry_text(record)}
    summary: dict[str, Any] = {
        "id": record.id,
        "type": "RelationshipTemplate",
        "expiresAt": _expiry_text(record),
        "isOwn": record.is_own,
        "forIdentity": record.for_identity,
    }
    if record.password_protection:
        protection = record.password_protection
        summary["passwordType"] = protection.password_type
        if protection.location_indicator is not None:
            summary["passwordLocationIndicator"] = indicator_for_output(protection.location_indicator)
    return summary


def record_to_json(record: OwnRecord) -> dict[str, Any]:
    """The full record, key and password included: the operator's own data, printed only on request."""
    result = record_summary(record)
    result.pop("passwordType", None)
    result.pop("passwordLocationIndicator", None)
    result["secretKey"] = b64url_encode(record.secret_key)
    if isinstance(record, TemplateRecord) and record.password_protection:
        protection = record.password_protection
        shown: dict[str, Any] = {
            "password": protection.password,
            "passwordType": protection.password_type,
            "salt": b64_encode(protection.salt),
        }
        if protection.location_indicator is not None:
            shown["passwordLocationIndicator"] = indicator_for_output(protection.location_indicator)
        result["passwordProtection"] = shown
    return result
