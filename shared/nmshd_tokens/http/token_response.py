"""Tokens as the Connector answers them: the TokenDTO as JSON, its QR code as a PNG, lists (SPEC §4, §6, §13)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response

from .. import metrics
from ..domain.connector import Generation, QrForm
from ..domain.errors import DomainError, ErrorKind
from ..domain.tokens import Token
from .accept import PNG
from .responses import NO_STORE, json_body_response, json_response

# A Lambda response carries at most 6 MB; a list that would not fit is refused with a clear 400 instead.
MAX_LIST_BYTES = 5 * 1024 * 1024


def qr_code_response(status: int, token: Token, form: QrForm, path_id: str) -> Response[Any]:
    from ..qr import qr_png  # loaded by the first PNG request: a JSON-only function never pays for the QR tables

    return Response(
        status_code=status,
        content_type=PNG,
        body=qr_png(token.qr_payload(form)),  # Powertools base64-encodes bytes and sets isBase64Encoded
        headers=NO_STORE | {"Content-Disposition": f"attachment;filename={path_id}.png"},
    )


def created_token_response(token: Token, qr_form: QrForm | None, path_id: str, generation: Generation) -> Response[Any]:
    """201: the QR code when one was asked for, else `{"result": TokenDTO}`.

    `Location: _` is what the Connector's `created()` sends: a placeholder, as there is no URL to point to.
    """
    metrics.token_created(token, generation.metric_name, "png" if qr_form is not None else "json")
    if qr_form is not None:
        return qr_code_response(201, token, qr_form, path_id)
    return created_dto_response(token, generation)


def created_dto_response(token: Token, generation: Generation) -> Response[Any]:
    """201 `{"result": TokenDTO}` with `Location: _`: a token created here, or a peer's loaded (SPEC §14)."""
    return json_response(201, {"result": token.to_dto(generation)}, {"Location": "_"})


def kept_token_response(token: Token, qr_form: QrForm | None, path_id: str, generation: Generation) -> Response[Any]:
    """200: the QR code of a kept token, or `{"result": TokenDTO}`; a kept token is never ephemeral."""
    if qr_form is not None:
        return qr_code_response(200, token, qr_form, path_id)
    return json_response(200, {"result": token.to_dto(generation)})


def token_list_response(tokens: Sequence[Token], generation: Generation) -> Response[str]:
    """200 `{"result": [TokenDTO…]}`, or 400 when the list would not fit in one Lambda response."""
    body = json.dumps(
        {"result": [token.to_dto(generation) for token in tokens]}, separators=(",", ":"), ensure_ascii=False
    )
    if len(body.encode("utf-8")) > MAX_LIST_BYTES:
        raise DomainError(ErrorKind.QUERY_TOO_BROAD)
    return json_body_response(200, body)
