"""Commands: the token use cases driven by an event instead of an HTTP request (SPEC §10, issue #6).

A command is the JSON body of the HTTP route plus the id: `{"fileId"|"templateId": …, "expiresAt"?, "ephemeral"?,
"forIdentity"?, "passwordProtection"?, "qrCode"?, "newQRCodeFormat"?}`. `qrCode: true` plays the part of
`Accept: image/png`: the token is ephemeral and a QR code PNG comes with it. Validation is the HTTP route's.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from ..domain.errors import DomainError, ErrorKind, validation_error
from ..domain.models import Token
from ..domain.qr import qr_png
from ..domain.references import LEGACY_QR_PREFIX, qr_uses_url
from ..domain.validation import IdField, TokenRequest, parse_token_request
from .create_token import AlsoWrite, TokenService


class CommandError(Exception):
    """A command's failure. Subclasses are named by the error code (see `error_class`) and carry its message.

    Lambda reports an exception's class name as `errorType`, so a Step Functions Catch can match the exact code:
    `"ErrorEquals": ["error.runtime.recordNotFound"]`.
    """

    code = ErrorKind.UNEXPECTED.code

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@lru_cache(maxsize=128)
def error_class(code: str) -> type[CommandError]:
    """One class per code, created on first use: `error_class("error.runtime.recordNotFound").__name__` is the code."""
    return cast(type[CommandError], type(code, (CommandError,), {"code": code, "__module__": __name__}))


def command_error(error: DomainError) -> CommandError:
    return error_class(error.code)(error.message, error.status)


@dataclass(frozen=True)
class Command:
    id_field: IdField
    request: TokenRequest
    qr_code: bool = False


def command_kind(raw: Mapping[str, Any]) -> IdField:
    """For a queue that serves both use cases: `templateId` names a template command, anything else a File one."""
    if "templateId" in raw and "fileId" in raw:
        raise validation_error("must NOT have both properties 'fileId' and 'templateId'")
    return "templateId" if "templateId" in raw else "fileId"


def parse_command(raw: object, id_field: IdField | None = None) -> Command:
    """Validate a command. `qrCode` is checked first, as Accept (406) is before the body over HTTP (SPEC §7)."""
    if not isinstance(raw, dict):
        raise DomainError(ErrorKind.INVALID_JSON)
    qr_code = raw.get("qrCode", False)
    if not isinstance(qr_code, bool):
        raise validation_error("qrCode must be boolean")
    kind = id_field or command_kind(raw)
    return Command(kind, parse_token_request(kind, raw, wants_png=qr_code), qr_code)


def create_token(service: TokenService, command: Command, also: AlsoWrite | None = None) -> Token:
    if command.id_field == "templateId":
        return service.create_for_template(command.request, also=also)
    return service.create_for_file(command.request, also=also)


def qr_text(reference: Mapping[str, Any], new_qr_code_format: bool | None, default_format: str) -> str:
    """The QR payload from a DTO's `reference`, by the rule of the HTTP route (SPEC §6)."""
    use_url = qr_uses_url(new_qr_code_format, default_format)
    return str(reference["url"]) if use_url else LEGACY_QR_PREFIX + str(reference["truncated"])


def command_result(dto: dict[str, Any], command: Command, default_format: str) -> dict[str, Any]:
    """`{"result": TokenDTO}`, plus `qrCodePng` (base64) when the command asked for the QR code."""
    result: dict[str, Any] = {"result": dto}
    if command.qr_code:
        payload = qr_text(dto["reference"], command.request.new_qr_code_format, default_format)
        result["qrCodePng"] = base64.b64encode(qr_png(payload)).decode("ascii")
    return result


def run_command(service: TokenService, raw: object, id_field: IdField, default_format: str) -> dict[str, Any]:
    command = parse_command(raw, id_field)
    return command_result(create_token(service, command).to_dto(), command, default_format)
