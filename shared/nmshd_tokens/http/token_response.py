"""A token as the Connector answers it: the TokenDTO as JSON, or its QR code as a PNG (SPEC §4, §6, §13)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from ..domain.connector import Generation, QrForm
from ..domain.tokens import Token
from .accept import PNG
from .responses import json_response


def qr_code_response(status: int, token: Token, form: QrForm, path_id: str) -> Response[Any]:
    from ..qr import qr_png  # loaded by the first PNG request: a JSON-only function never pays for the QR tables

    return Response(
        status_code=status,
        content_type=PNG,
        body=qr_png(token.qr_payload(form)),  # Powertools base64-encodes bytes and sets isBase64Encoded
        headers={"Content-Disposition": f"attachment;filename={path_id}.png"},
    )


def created_token_response(token: Token, qr_form: QrForm | None, path_id: str, generation: Generation) -> Response[Any]:
    """201: the QR code when one was asked for, else `{"result": TokenDTO}`.

    `Location: _` is what the Connector's `created()` sends: a placeholder, as there is no URL to point to.
    """
    if qr_form is not None:
        return qr_code_response(201, token, qr_form, path_id)
    return json_response(201, {"result": token.to_dto(generation)}, {"Location": "_"})
