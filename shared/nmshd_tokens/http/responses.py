"""Mapping results and errors to API Gateway proxy responses (SPEC §4, §6, §7)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from .. import wiring
from ..domain.errors import DomainError, ErrorKind, error_envelope
from ..domain.models import Token
from ..domain.qr import qr_png
from ..domain.references import qr_uses_url
from .accept import PNG
from .call import TokenCall

_JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def json_response(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=_JSON_CONTENT_TYPE,
        body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        headers=headers or {},
    )


def error_response(error: DomainError, headers: dict[str, str] | None = None) -> Response[str]:
    return json_response(error.status, error.envelope(), headers)


def kind_response(kind: ErrorKind, headers: dict[str, str] | None = None) -> Response[str]:
    return json_response(kind.status, error_envelope(kind.code, kind.value.message), headers)


def qr_payload(token: Token, new_qr_code_format: bool | None, default_format: str) -> str:
    use_url = qr_uses_url(new_qr_code_format, default_format)
    return token.reference.url if use_url else token.reference.legacy_qr_payload


def token_response(token: Token, call: TokenCall, path_id: str) -> Response[Any]:
    if call.representation == PNG:
        png = qr_png(qr_payload(token, call.request.new_qr_code_format, wiring.settings().qr_format))
        return Response(
            status_code=201,
            content_type=PNG,
            body=png,  # Powertools base64-encodes bytes and sets isBase64Encoded
            headers={"Content-Disposition": f"attachment;filename={path_id}.png"},
        )
    return json_response(201, {"result": token.to_dto()}, {"Location": "_"})
