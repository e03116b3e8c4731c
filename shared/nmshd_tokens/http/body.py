"""Reading the JSON body of an API Gateway event: base64 when the API marks it so, then the strict JSON rules."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..domain.errors import DomainError, ErrorKind
from ..domain.json_codec import MAX_OBJECT_BYTES, parse_json_object

MAX_BODY_BYTES = MAX_OBJECT_BYTES


def parse_json_body(body: str | None, is_base64_encoded: bool = False) -> dict[str, Any]:
    """A missing or empty body is `{}`; anything that is not one JSON object is invalidJsonInPayload."""
    if body is None or not is_base64_encoded:
        return parse_json_object(body, MAX_BODY_BYTES)
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DomainError(ErrorKind.INVALID_JSON) from exc
    return parse_json_object(raw, MAX_BODY_BYTES)
