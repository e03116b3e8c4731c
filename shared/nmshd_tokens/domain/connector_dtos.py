"""A Connector FileDTO or RelationshipTemplateDTO as the record the token use cases need: the one mapping that
`records import` and the read-through from the Connector (SPEC §15) share.

The secret key, and a template's password salt and type, come from the DTO's `reference.truncated` (Connector 6
also sends it as `truncatedReference`); id, expiry, `isOwn`, `forIdentity` and the password from the DTO.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .clock import parse_iso_datetime
from .files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from .ids import FILE_ID_PATTERN, TEMPLATE_ID_PATTERN, is_address, is_file_id, is_template_id
from .password_protection import indicator_to_number
from .references import Reference, ReferenceError, parse_reference
from .validation import MSG_INDICATOR


class DtoError(ValueError):
    """The DTO cannot be a record; the message names the field, never a key or password."""


def unwrap(document: object) -> dict[str, Any]:
    """The DTO, also when it comes in the Connector's `{"result": …}` envelope."""
    if isinstance(document, dict) and isinstance(document.get("result"), dict):
        document = document["result"]
    if not isinstance(document, dict):
        raise DtoError("the JSON must be a Connector FileDTO or RelationshipTemplateDTO (optionally in 'result')")
    return document


def _reference(dto: dict[str, Any], record_id: str) -> Reference:
    reference = dto.get("reference")
    text = reference.get("truncated") if isinstance(reference, dict) else None
    text = text or dto.get("truncatedReference")
    if not isinstance(text, str):
        raise DtoError(f"{record_id}: the DTO has no reference.truncated or truncatedReference (it holds the key)")
    try:
        parsed = parse_reference(text)
    except ReferenceError as exc:
        raise DtoError(f"{record_id}: reference.truncated is not a valid reference: {exc}") from None
    if parsed.id != record_id:
        raise DtoError(f"{record_id}: reference.truncated belongs to {parsed.id}, not to this DTO")
    return parsed


def _expiry(dto: dict[str, Any], record_id: str) -> datetime | None:
    value = dto.get("expiresAt")
    if value is None:
        return None
    moment = parse_iso_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise DtoError(f"{record_id}: expiresAt is not an ISO 8601 date-time")
    return moment


def _protection(dto: dict[str, Any], reference: Reference, record_id: str) -> StoredPasswordProtection | None:
    given = dto.get("passwordProtection")
    shared = reference.password_protection
    if given is None:
        if shared is not None:
            raise DtoError(f"{record_id}: the reference is password-protected but the DTO has no passwordProtection")
        return None
    if not isinstance(given, dict) or not isinstance(given.get("password"), str) or not given["password"]:
        raise DtoError(f"{record_id}: passwordProtection.password must be a non-empty string")
    if shared is None:
        raise DtoError(f"{record_id}: passwordProtection is set but the reference carries no password salt")
    if (given.get("passwordIsPin") is True) != shared.password_type.startswith("pin"):
        raise DtoError(f"{record_id}: passwordIsPin does not match the reference's password type")
    indicator = shared.location_indicator
    if indicator is None and "passwordLocationIndicator" in given:
        indicator = indicator_to_number(given["passwordLocationIndicator"])
        if indicator is None:
            raise DtoError(f"{record_id}: passwordProtection.passwordLocationIndicator {MSG_INDICATOR}")
    return StoredPasswordProtection(given["password"], shared.password_type, shared.salt, indicator)


def record_from_dto(document: object) -> FileRecord | TemplateRecord:
    """A Connector FileDTO or RelationshipTemplateDTO; the key (and a template's salt and type) from its reference."""
    dto = unwrap(document)
    record_id = dto.get("id")
    if is_file_id(record_id):
        return FileRecord(str(record_id), _reference(dto, str(record_id)).key, _expiry(dto, str(record_id)))
    if not is_template_id(record_id):
        raise DtoError(f"id must be a File id ({FILE_ID_PATTERN}) or a template id ({TEMPLATE_ID_PATTERN})")
    template_id = str(record_id)
    reference = _reference(dto, template_id)
    is_own = dto.get("isOwn", True)
    if not isinstance(is_own, bool):
        raise DtoError(f"{template_id}: isOwn must be a boolean")
    for_identity = dto.get("forIdentity")
    if for_identity is not None and not is_address(for_identity):
        raise DtoError(f"{template_id}: forIdentity is not an enmeshed address")
    if Reference.truncate_address(for_identity) != reference.for_identity_truncated:
        raise DtoError(f"{template_id}: forIdentity does not match the personalisation of the reference")
    return TemplateRecord(
        id=template_id,
        secret_key=reference.key,
        expires_at=_expiry(dto, template_id),
        is_own=is_own,
        for_identity=for_identity,
        password_protection=_protection(dto, reference, template_id),
    )


def own_identity(document: object) -> str | None:
    """The address of the identity an own DTO belongs to (a File's `owner`, a template's `createdBy`); None for a
    peer's DTO or when the DTO names none."""
    dto = unwrap(document)
    if dto.get("isOwn") is not True:
        return None
    owner = dto.get("owner") if is_file_id(dto.get("id")) else None
    owner = owner or dto.get("createdBy")
    return owner if isinstance(owner, str) else None
