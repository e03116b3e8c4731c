"""Commands: the token use cases driven by an event instead of an HTTP request (SPEC §10).

A command is the JSON body of the Connector 6 route plus the id: `{"fileId"|"templateId": …, "expiresAt"?,
"ephemeral"?, "forIdentity"?, "passwordProtection"?, "qrCode"?, "newQRCodeFormat"?}`. `qrCode: true` plays the part
of `Accept: image/png`: the token is ephemeral and a QR code PNG comes with it. Validation is the HTTP route's.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..domain.connector import QrForm
from ..domain.errors import DomainError, ErrorKind, validation_error
from ..domain.tokens import Token
from ..domain.validation import IdField, TokenRequest, parse_token_request

if TYPE_CHECKING:
    from .create_token import TokenCreation


@dataclass(frozen=True)
class Command:
    id_field: IdField
    request: TokenRequest

    @property
    def wants_qr_code(self) -> bool:
        return self.request.qr_form is not None


def command_kind(raw: Mapping[str, Any]) -> IdField:
    """For a queue that serves both use cases: `templateId` names a template command, anything else a File one."""
    if "templateId" in raw and "fileId" in raw:
        raise validation_error("must NOT have both properties 'fileId' and 'templateId'")
    return "templateId" if "templateId" in raw else "fileId"


def parse_command(raw: object, default_qr_form: QrForm, id_field: IdField | None = None) -> Command:
    """Validate a command. `qrCode` is checked first, as Accept (406) is before the body over HTTP (SPEC §7)."""
    if not isinstance(raw, dict):
        raise DomainError(ErrorKind.INVALID_JSON)
    qr_code = raw.get("qrCode", False)
    if not isinstance(qr_code, bool):
        raise validation_error("qrCode must be boolean")
    kind = id_field or command_kind(raw)
    return Command(kind, parse_token_request(kind, raw, wants_png=qr_code, default_qr_form=default_qr_form))


def command_result(token: Token, qr_form: QrForm | None) -> dict[str, Any]:
    """`{"result": TokenDTO}`, plus `qrCodePng` (base64) when the command asked for the QR code."""
    result: dict[str, Any] = {"result": token.to_dto()}
    if qr_form is not None:
        from ..qr import qr_png  # only a QR command pays for the QR tables

        result["qrCodePng"] = base64.b64encode(qr_png(token.qr_payload(qr_form))).decode("ascii")
    return result


class TokenCommands:
    """Create Token invoked directly with a command: `{"result": TokenDTO}`, plus the QR code when asked for.

    `backbone_base_url` is asked per command: a function that also serves HTTP starts without BACKBONE_BASE_URL,
    and only its commands need it. (A plain class: built at every cold start, where a dataclass costs more.)
    """

    def __init__(self, creation: TokenCreation, default_qr_form: QrForm, backbone_base_url: Callable[[], str]) -> None:
        self.creation = creation
        self.default_qr_form = default_qr_form
        self.backbone_base_url = backbone_base_url

    def run(self, raw: object, id_field: IdField) -> dict[str, Any]:
        backbone_base_url = self.backbone_base_url()  # a deployment mistake is named before the command is read
        command = parse_command(raw, self.default_qr_form, id_field)
        token = self.creation.create(command.request, backbone_base_url)
        metrics.token_created(token, "command", "png" if command.wants_qr_code else "json")
        return command_result(token, command.request.qr_form)
