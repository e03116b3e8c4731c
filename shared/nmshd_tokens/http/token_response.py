"""The token functions' answer: the TokenDTO as JSON or its QR code as PNG (SPEC §4, §6).

A module of its own so that only the token functions load the QR code tables at init, not the backbone function.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from .. import wiring
from ..domain.models import Token
from ..domain.qr import qr_png
from ..domain.references import qr_uses_url
from .accept import PNG
from .call import TokenCall
from .responses import json_response


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
