"""The local API Gateway emulation: the REST v1 event it builds and API Gateway's binary rules on the response."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from nmshd_tokens.domain.api_keys import ApiKeys
from nmshd_tokens.domain.errors import ErrorKind
from nmshd_tokens_local.gateway import (
    HttpRequest,
    MalformedLambdaResponse,
    build_event,
    envelope_response,
    first_accept,
    is_binary,
    render_response,
)
from nmshd_tokens_local.routes import FunctionSpec, Route, RouteMatch, compile_path

from tests.support import api_event

BINARY = ("image/png",)
EVERYTHING = ("*/*",)  # what template.yaml configures
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
# The Accept lists a PNG client sends (SPEC §6): a Connector client, its reverse, a browser's <img> element.
PNG_ACCEPTS = [
    "image/png",
    "application/json;q=0.5, image/png",
    "image/webp, image/png",
    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "image/*",
]


def _match(path: str = "/api/v2/Files/{id}/Token", method: str = "POST", key: bool = True, **params: str) -> RouteMatch:
    pattern, literal = compile_path(path)
    function = FunctionSpec("FileTokenFunction", Path("/nowhere"), "app", "lambda_handler")
    return RouteMatch(Route(method, path, function, key, pattern, literal), params)


def _event(request: HttpRequest, match: RouteMatch | None = None) -> dict[str, Any]:
    return build_event(request, match or _match(id="FIL1"), BINARY, stage="v1", request_id="req-1")


def _png_result() -> dict[str, Any]:
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(PNG).decode(),
        "isBase64Encoded": True,
    }


@pytest.mark.parametrize(
    ("value", "types", "expected"),
    [
        ("image/png", BINARY, True),
        ("IMAGE/PNG; q=0.9", BINARY, True),
        ("image/webp", BINARY, False),
        ("*/*", BINARY, False),  # a wildcard in the request does not match a concrete binary type
        ("image/*", BINARY, False),
        ("application/json", BINARY, False),
        ("", BINARY, False),
        ("image/png", ("image/*",), True),
        ("image/*", ("image/*",), True),  # the same text matches
        ("application/png", ("image/*",), False),
        ("image/png", ("*/png",), False),  # no wildcard on the left alone
        ("application/json", EVERYTHING, True),
        ("*/*", EVERYTHING, True),
        ("image/avif", EVERYTHING, True),
        ("garbage", EVERYTHING, False),
        ("", EVERYTHING, False),
        ("a/b/c", EVERYTHING, False),
    ],
)
def test_is_binary(value: str, types: tuple[str, ...], expected: bool) -> None:
    assert is_binary(value, types) is expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, ""),
        ("image/png", "image/png"),
        ("image/webp,image/png", "image/webp"),
        (" Image/PNG ;q=1, application/json", "image/png"),
    ],
)
def test_first_accept(accept: str | None, expected: str) -> None:
    assert first_accept(accept) == expected


def test_event_has_the_shape_of_a_real_api_gateway_rest_event() -> None:
    request = HttpRequest(
        "POST",
        "/api/v2/Files/FIL1/Token?a=1&a=2&b=",
        [
            ("Host", "127.0.0.1:3000"),
            ("x-api-key", "k"),
            ("Content-Type", "application/json"),
            ("X-Multi", "1"),
            ("X-Multi", "2"),
        ],
        b'{"ephemeral": false}',
        "127.0.0.9",
    )
    event = build_event(
        request, _match(id="FIL1"), BINARY, stage="v1", request_id="req-1", caller=ApiKeys.single("k").keys[0]
    )
    real = api_event("/api/v2/Files/{id}/Token", "FIL1", body={})
    assert set(real) <= set(event)
    assert set(real["requestContext"]) - {"identity"} <= set(event["requestContext"])
    assert event["resource"] == event["requestContext"]["resourcePath"] == "/api/v2/Files/{id}/Token"
    assert event["path"] == "/api/v2/Files/FIL1/Token"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "FIL1"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["requestContext"]["stage"] == "v1"
    assert event["requestContext"]["domainName"] == "127.0.0.1:3000"
    assert event["requestContext"]["requestId"] == "req-1"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.9"
    # As behind the key authorizer on AWS: the usage identifier (the key's SHA-256), never the key, and its context.
    assert event["requestContext"]["identity"]["apiKey"] == hashlib.sha256(b"k").hexdigest()
    assert event["requestContext"]["authorizer"] == {
        "principalId": "default",
        "apiKeyId": "default",
        "apiKeyExpiresAt": "",
    }
    assert event["body"] == '{"ephemeral": false}'
    assert event["isBase64Encoded"] is False
    json.dumps(event)  # a Lambda event is JSON


def test_event_without_query_body_or_key_route_uses_nulls() -> None:
    match = _match("/backbone/api/v2/Tokens/{id}", "GET", key=False, id="TOK1")
    event = _event(HttpRequest("GET", "/backbone/api/v2/Tokens/TOK1", [("x-api-key", "leak")]), match)
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["identity"]["apiKey"] is None
    assert event["requestContext"]["authorizer"] is None


def test_percent_encoded_path_and_query_are_decoded() -> None:
    event = _event(HttpRequest("GET", "/backbone/api/v2/Tokens/TOK%41?password=a%2Bb%3D", []))
    assert event["path"] == "/backbone/api/v2/Tokens/TOKA"
    assert event["queryStringParameters"] == {"password": "a+b="}


def test_request_body_with_a_binary_content_type_reaches_the_function_base64_encoded() -> None:
    event = _event(HttpRequest("POST", "/x", [("Content-Type", "image/png")], PNG))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == PNG


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "image/png", None])
def test_with_every_type_binary_every_request_body_reaches_the_function_base64_encoded(
    content_type: str | None,
) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    request = HttpRequest("POST", "/x", headers, b'{"ephemeral": false}')
    event = build_event(request, _match(id="FIL1"), EVERYTHING, stage="v1", request_id="r")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b'{"ephemeral": false}'


def test_without_a_content_type_a_body_counts_as_json() -> None:
    request = HttpRequest("POST", "/x", [], b"{}")
    assert build_event(request, _match(id="FIL1"), ("application/json",), stage="v1", request_id="r")["isBase64Encoded"]
    assert not _event(request)["isBase64Encoded"]  # image/png only: JSON is text


def test_an_empty_body_is_null_whatever_the_binary_types() -> None:
    event = build_event(HttpRequest("POST", "/x", []), _match(id="FIL1"), EVERYTHING, stage="v1", request_id="r")
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_binary_response_is_decoded_when_the_first_accept_value_is_binary() -> None:
    response = render_response(_png_result(), "image/png", BINARY, "req-1")
    assert response.status == 201
    assert response.body == PNG
    assert response.header("Content-Type") == "image/png"
    assert response.header("x-amzn-RequestId") == "req-1"


@pytest.mark.parametrize("accept", ["image/webp,image/png", "*/*", None, "application/json, image/png", "image/*"])
def test_binary_response_stays_base64_text_otherwise(accept: str | None) -> None:
    response = render_response(_png_result(), accept, BINARY, "req-1")
    assert response.body == _png_result()["body"].encode()
    assert base64.b64decode(response.body) == PNG


@pytest.mark.parametrize("accept", [*PNG_ACCEPTS, "*/*", "application/json"])
def test_with_every_type_binary_a_png_is_bytes_for_every_accept(accept: str) -> None:
    assert render_response(_png_result(), accept, EVERYTHING, "r").body == PNG


@pytest.mark.parametrize("accept", [None, "", "garbage"])
def test_without_a_media_type_in_accept_a_png_stays_base64_text_even_for_every_type(accept: str | None) -> None:
    assert render_response(_png_result(), accept, EVERYTHING, "r").body == _png_result()["body"].encode()


def test_the_response_content_type_plays_no_part() -> None:
    result = {**_png_result(), "headers": {"Content-Type": "application/json"}}
    assert render_response(result, "image/png", BINARY, "r").body == PNG
    result = {**_png_result(), "headers": {}}
    assert render_response(result, "image/png", BINARY, "r").body == PNG
    assert render_response(_png_result(), "text/html", BINARY, "r").body == _png_result()["body"].encode()


def test_text_response_passes_through_whatever_the_accept() -> None:
    result = {"statusCode": 404, "headers": {"Content-Type": "application/json"}, "body": '{"a":"ü"}'}
    response = render_response(result, "image/png", BINARY, "r")
    assert response.status == 404
    assert response.body == '{"a":"ü"}'.encode()


def test_headers_and_multi_value_headers_are_merged_and_hop_by_hop_dropped() -> None:
    result = {
        "statusCode": 200,
        "headers": {"A": "single", "B": "only-single", "Content-Length": "999"},
        "multiValueHeaders": {"A": ["m1", "m2"], "Set-Cookie": ["x=1", "y=2"]},
        "body": "",
    }
    headers = render_response(result, None, BINARY, "r").headers
    assert ("A", "m1") in headers and ("A", "m2") in headers and ("A", "single") not in headers
    assert ("B", "only-single") in headers
    assert [value for name, value in headers if name == "Set-Cookie"] == ["x=1", "y=2"]
    assert all(name.lower() != "content-length" for name, _ in headers)


@pytest.mark.parametrize(
    "result",
    [
        None,
        "text",
        {},
        {"statusCode": "200"},
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 200, "body": b"bytes"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "headers": ["a"]},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
    ],
)
def test_malformed_lambda_results_are_refused(result: object) -> None:
    with pytest.raises(MalformedLambdaResponse):
        render_response(result, "image/png", BINARY, "r")


def test_envelope_response_uses_the_connector_envelope() -> None:
    response = envelope_response(ErrorKind.METHOD_NOT_ALLOWED, headers=[("Allow", "POST")])
    assert response.status == 405
    assert response.header("Allow") == "POST"
    error = json.loads(response.body)["error"]
    assert error["code"] == "error.connector.http.methodNotAllowed"
    assert set(error) == {"code", "message", "id", "time", "docs"}
    assert envelope_response(ErrorKind.UNEXPECTED, status=502).status == 502
