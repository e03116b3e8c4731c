"""SPEC §7 through the handlers: Accept negotiation, the order of checks, bodies, envelopes, 500/503."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.support import ROUTES, Functions, api_event, future, header, json_body

RESOURCE = ROUTES["file_token"][1]
Factory = Callable[..., Any]
# The Connector's own wording (both generations): clients may match on it.
NOT_ACCEPTABLE = (
    "The requested resource is capable of generating only content not acceptable according to the Accept headers sent"
    " in the request."
)
ERROR_ID = re.compile(r"ERR[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{17}")


def create(functions: Functions, path_id: str, **kwargs: Any) -> dict[str, Any]:
    return functions.invoke("file_token", api_event(RESOURCE, path_id, **kwargs))


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("image/png", "image/png"),
        ("image/*", "image/png"),
        ("image/png, application/json", "image/png"),
        ("application/json, image/png", "application/json"),
        ("application/json;q=0.5, image/png", "image/png"),
        ("application/*", "application/json"),
        ("text/html, */*;q=0.1", "application/json"),
        ("image/avif,image/webp,image/png,*/*;q=0.8", "image/png"),
        ("text/html", None),
        ("image/jpeg", None),
        ("application/json;q=0", None),
    ],
)
def test_accept_negotiation(functions: Functions, make_file: Factory, accept: str | None, expected: str | None) -> None:
    response = create(functions, make_file(future()).id, accept=accept)
    if expected is None:
        assert response["statusCode"] == 406
        assert json_body(response)["error"]["code"] == "error.connector.http.notAcceptable"
        assert json_body(response)["error"]["message"] == NOT_ACCEPTABLE
    else:
        assert response["statusCode"] == 201
        assert header(response, "Content-Type").startswith(expected)  # type: ignore[union-attr]


def test_406_comes_before_invalid_json_which_comes_before_validation(functions: Functions) -> None:
    assert create(functions, "bad-id", accept="text/html", raw_body="{nope")["statusCode"] == 406
    invalid = create(functions, "bad-id", raw_body="{nope")
    assert json_body(invalid)["error"]["code"] == "error.connector.validation.invalidJsonInPayload"
    assert (
        json_body(create(functions, "bad-id", body={}))["error"]["code"]
        == "error.runtime.validation.invalidPropertyValue"
    )


@pytest.mark.parametrize(
    "raw_body",
    [
        "{nope",
        "[]",
        "[1,2]",
        '"text"',
        "42",
        "null",
        "true",
        '{"a":1,"a":2}',
        '{"expiresAt": NaN}',
        "[" * 30_000 + "]" * 30_000,
        '{"a": "\\ud800"}x',
    ],
)
def test_invalid_json_is_400(functions: Functions, make_file: Factory, raw_body: str) -> None:
    response = create(functions, make_file(future()).id, raw_body=raw_body)
    assert response["statusCode"] == 400
    error = json_body(response)["error"]
    assert error == {
        **error,
        "code": "error.connector.validation.invalidJsonInPayload",
        "message": "The given payload is not a valid json object.",
    }


def test_non_utf8_body_is_400(functions: Functions, make_file: Factory) -> None:
    event = api_event(RESOURCE, make_file(future()).id)
    event["body"] = base64.b64encode(b'{"a": "\xff\xfe"}').decode()
    event["isBase64Encoded"] = True
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "error.connector.validation.invalidJsonInPayload"


def test_huge_body_is_413(functions: Functions, make_file: Factory) -> None:
    response = create(functions, make_file(future()).id, raw_body='{"x": "' + "a" * 200_000 + '"}')
    assert response["statusCode"] == 413


@pytest.mark.parametrize("raw_body", [None, "", "  \n", "{}"])
def test_missing_or_empty_body_means_defaults(functions: Functions, make_file: Factory, raw_body: str | None) -> None:
    event = api_event(RESOURCE, make_file(future()).id)
    event["body"] = raw_body
    assert functions.invoke("file_token", event)["statusCode"] == 201


def test_error_envelope_shape(functions: Functions) -> None:
    response = create(functions, "FILdoesnotexist00000")
    assert header(response, "Content-Type").startswith("application/json")  # type: ignore[union-attr]
    error = json_body(response)["error"]
    assert list(error) == ["code", "message", "id", "time", "docs"]
    assert ERROR_ID.fullmatch(error["id"])
    assert datetime.strptime(error["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert error["docs"] == "https://enmeshed.eu/integrate/error-codes#error.runtime.recordNotFound"


def test_errors_are_json_even_when_png_was_asked_for(functions: Functions) -> None:
    response = create(functions, "FILdoesnotexist00000", accept="image/png")
    assert response["statusCode"] == 404 and response.get("isBase64Encoded") is not True
    assert json_body(response)["error"]["code"] == "error.runtime.recordNotFound"


def test_unknown_route_is_404_envelope(functions: Functions) -> None:
    event = api_event("/api/v2/Files/{id}/Nope", "FILdoesnotexist00000")
    response = functions.invoke("file_token", event)
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "error.connector.http.routeDoesNotExist"


def test_unexpected_exception_is_500_without_internals(
    functions: Functions, make_file: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nmshd_tokens.storage.records_table import DynamoRecordsRepository

    def explode(self: Any, file_id: str) -> None:
        raise RuntimeError("internal detail s3cr3t")

    monkeypatch.setattr(DynamoRecordsRepository, "get_file", explode)
    response = create(functions, "FILabcdefghij0123456")
    assert response["statusCode"] == 500
    error = json_body(response)["error"]
    assert (error["code"], error["message"]) == ("error.connector.unexpected", "An unexpected error occurred.")
    assert "s3cr3t" not in response["body"]
    assert "s3cr3t" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"]
)
def test_storage_throttled_is_503(functions: Functions, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    from botocore.exceptions import ClientError

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(functions.dynamodb, "get_item", throttled)
    response = create(functions, "FILabcdefghij0123456")
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "error.connector.serviceUnavailable"
