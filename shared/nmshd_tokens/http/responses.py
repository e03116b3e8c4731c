"""JSON and error responses of every API Gateway function (SPEC §4, §7)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from ..domain.errors import DomainError, ErrorKind, error_envelope

_JSON_CONTENT_TYPE = "application/json; charset=utf-8"


# Every JSON answer may carry a token key, a reference or a password (DTOs, lists): no cache may keep one.
NO_STORE = {"Cache-Control": "no-store"}


def json_response(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return json_body_response(status, json.dumps(payload, separators=(",", ":"), ensure_ascii=False), headers)


def json_body_response(status: int, body: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status_code=status, content_type=_JSON_CONTENT_TYPE, body=body, headers=NO_STORE | (headers or {}))


def error_response(error: DomainError, headers: dict[str, str] | None = None) -> Response[str]:
    return json_response(error.status, error.envelope(), headers)


def kind_response(kind: ErrorKind, headers: dict[str, str] | None = None) -> Response[str]:
    return json_response(kind.status, error_envelope(kind.code, kind.value.message), headers)
