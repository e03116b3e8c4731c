"""The handlers under the API's binary media type `*/*` (template.yaml): every request body arrives base64-encoded
(`isBase64Encoded: true`), and a PNG answer is a base64 body that API Gateway decodes for every Accept list.

Events are real API Gateway REST events (tests/support.api_event), with the body as API Gateway sends it then.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from nmshd_tokens.domain.references import parse_reference

from tests.support import ROUTES, Functions, api_event, decode_qr, json_body, png_bytes

Factory = Callable[..., Any]
FILE_RESOURCE = ROUTES["file_token"][1]
TEMPLATE_RESOURCE = ROUTES["template_token"][1]
PNG_ACCEPTS = [
    "image/png",
    "application/json;q=0.5, image/png",  # a Connector client
    "image/webp, image/png",
    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",  # Chromium's <img>
    "image/*",
]


def base64_event(resource: str, path_id: str, raw: bytes | None, **kwargs: Any) -> dict[str, Any]:
    """The event API Gateway sends with binary media type */*: the body bytes base64-encoded, flagged so."""
    event = api_event(resource, path_id, **kwargs)
    event["body"] = None if raw is None else base64.b64encode(raw).decode("ascii")
    event["isBase64Encoded"] = raw is not None
    return event


@pytest.mark.parametrize("accept", PNG_ACCEPTS)
def test_a_png_for_every_accept_list_that_prefers_it(functions: Functions, make_file: Factory, accept: str) -> None:
    event = base64_event(FILE_RESOURCE, make_file().id, b"{}", accept=accept)
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 201, response
    png = png_bytes(response)  # isBase64Encoded: API Gateway turns it into bytes for every first Accept value
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert parse_reference(decode_qr(png)).id.startswith("TOK")


def test_a_base64_json_body_is_read_for_a_file(functions: Functions, make_file: Factory) -> None:
    body = {"ephemeral": False, "passwordProtection": {"password": "pässwörd", "passwordLocationIndicator": "Email"}}
    event = base64_event(FILE_RESOURCE, make_file().id, json.dumps(body).encode(), accept="application/json")
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 201, response
    token = json_body(response)["result"]
    assert token["isEphemeral"] is False
    protection = parse_reference(token["reference"]["truncated"]).password_protection
    assert protection is not None and protection.location_indicator == 4  # Email


def test_a_base64_json_body_is_read_for_a_template_png(functions: Functions, make_template: Factory) -> None:
    template = make_template(password="1234", pin=True)
    body = json.dumps({"passwordProtection": {"password": "1234", "passwordIsPin": True}}).encode()
    response = functions.invoke(
        "template_token", base64_event(TEMPLATE_RESOURCE, template.id, body, accept="image/png")
    )
    assert response["statusCode"] == 201, response
    reference = parse_reference(decode_qr(png_bytes(response)))
    assert reference.password_protection is not None
    assert reference.password_protection.password_type == "pin4"


@pytest.mark.parametrize("raw", [None, b"", b" \r\n"])
def test_no_body_or_a_blank_one_means_the_defaults(functions: Functions, make_file: Factory, raw: bytes | None) -> None:
    response = functions.invoke(
        "file_token", base64_event(FILE_RESOURCE, make_file().id, raw, accept="application/json")
    )
    assert response["statusCode"] == 201, response
    assert json_body(response)["result"]["isEphemeral"] is True


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"[]", 400, "error.connector.validation.invalidJsonInPayload"),
        (b'{"a": "\xff"}', 400, "error.connector.validation.invalidJsonInPayload"),  # not UTF-8
        (b'{"ephemeral": "no"}', 400, "error.runtime.validation.invalidPropertyValue"),
        (b'{"x": "' + b"a" * 70_000 + b'"}', 413, "error.connector.validation.payloadTooLarge"),
    ],
)
def test_a_bad_base64_encoded_body_is_refused_like_a_text_one(
    functions: Functions, make_file: Factory, raw: bytes, status: int, code: str
) -> None:
    response = functions.invoke(
        "file_token", base64_event(FILE_RESOURCE, make_file().id, raw, accept="application/json")
    )
    assert response["statusCode"] == status, response
    assert json_body(response)["error"]["code"] == code


def test_a_body_flagged_base64_that_is_not_base64_is_invalid_json(functions: Functions, make_file: Factory) -> None:
    event = api_event(FILE_RESOURCE, make_file().id, raw_body="{not base64}", accept="application/json")
    event["isBase64Encoded"] = True
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "error.connector.validation.invalidJsonInPayload"
