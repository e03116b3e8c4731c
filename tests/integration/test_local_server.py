"""The local API Gateway over real loopback HTTP, in-process, with the real handlers and moto DynamoDB."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nmshd_tokens.domain.errors import DomainError, ErrorKind
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens.storage.records_table import DynamoRecordsRepository
from nmshd_tokens_local.errors import CommandError
from nmshd_tokens_local.functions import LocalFunction
from nmshd_tokens_local.gateway import HttpRequest
from nmshd_tokens_local.http_server import LocalApi, LocalHttpServer
from nmshd_tokens_local.page import render_page
from nmshd_tokens_local.peer import load_token
from nmshd_tokens_local.routes import ApiSpec, api_from_template
from nmshd_tokens_local.tables import load_template

from tests.conftest import BACKBONE_TABLE
from tests.support import ROOT, Functions, decode_qr

KEY = "local-test-key"
Factory = Callable[..., Any]


@pytest.fixture(scope="module")
def api() -> ApiSpec:
    return api_from_template(load_template(), ROOT)


@pytest.fixture
def local_api(api: ApiSpec, functions: Functions, records: DynamoRecordsRepository) -> LocalApi:
    """The gateway in front of the test's functions (functions/<name>/app.py's handlers on its container)."""
    local = {
        logical_id: LocalFunction(spec, functions.handler(spec.code_dir.name))
        for logical_id, spec in api.functions.items()
    }
    return LocalApi(api, local, KEY, page=lambda: render_page(records.list_own_records(), KEY), log=lambda _: None)


@pytest.fixture
def base(local_api: LocalApi) -> Iterator[tuple[str, int]]:
    server = LocalHttpServer(("127.0.0.1", 0), local_api, log=lambda _: None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[0], server.server_address[1]  # type: ignore[misc]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def call(
    base: tuple[str, int], method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*base, timeout=15)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def error_code(body: bytes) -> str:
    return str(json.loads(body)["error"]["code"])


@pytest.mark.parametrize(
    "accept",
    [
        "image/png",
        "application/json;q=0.5, image/png",  # a Connector client
        "image/webp, image/png",
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",  # Chromium's <img>
        "image/*",
    ],
)
def test_png_bytes_whatever_the_accept_order(base: tuple[str, int], make_file: Factory, accept: str) -> None:
    """template.yaml's binary media type "*/*" makes API Gateway (and so this emulator) decode every PNG."""
    path = f"/api/v2/Files/{make_file().id}/Token"
    status, headers, raw = call(base, "POST", path, headers={"x-api-key": KEY, "Accept": accept})
    assert status == 201
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"].endswith(".png")
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    reference = parse_reference(decode_qr(raw))
    assert reference.backbone_base_url == f"http://{base[0]}:{base[1]}/backbone"


def test_json_stays_json_for_every_accept_that_asks_for_it(base: tuple[str, int], make_file: Factory) -> None:
    path = f"/api/v2/Files/{make_file().id}/Token"
    for accept in ("application/json", "*/*", "application/json, image/png", None):
        headers = {"x-api-key": KEY, "Content-Type": "application/json"} | ({"Accept": accept} if accept else {})
        status, response_headers, raw = call(base, "POST", path, headers=headers, body=b'{"ephemeral": false}')
        assert status == 201, raw
        assert response_headers["content-type"].startswith("application/json")
        assert json.loads(raw)["result"]["isEphemeral"] is False  # the base64-encoded request body was read


def test_the_token_loads_from_the_local_backbone(base: tuple[str, int], make_template: Factory) -> None:
    template = make_template()
    status, _, body = call(
        base,
        "POST",
        f"/api/v2/RelationshipTemplates/Own/{template.id}/Token",
        headers={"x-api-key": KEY, "Content-Type": "application/json"},
        body=b'{"ephemeral": false}',
    )
    assert status == 201
    token = json.loads(body)["result"]
    status, _, body = call(base, "GET", f"/backbone/api/v2/Tokens/{token['id']}")
    assert status == 200
    assert json.loads(body)["result"]["id"] == token["id"]


def test_a_binary_request_body_reaches_the_function_base64_encoded(base: tuple[str, int], make_file: Factory) -> None:
    # Content-Type image/png is a binary media type: the JSON arrives base64-encoded and is still read.
    status, _, body = call(
        base,
        "POST",
        f"/api/v2/Files/{make_file().id}/Token",
        headers={"x-api-key": KEY, "Content-Type": "image/png"},
        body=b'{"ephemeral": false}',
    )
    assert status == 201
    assert json.loads(body)["result"]["isEphemeral"] is False


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("POST", "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token", {}, 401, "error.connector.unauthorized"),
        (
            "POST",
            "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token",
            {"x-api-key": "wrong"},
            401,
            "error.connector.unauthorized",
        ),
        ("GET", "/nope", {}, 401, "error.connector.unauthorized"),  # the key comes before 404
        ("GET", "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token", {}, 401, "error.connector.unauthorized"),
        ("GET", "/nope", {"x-api-key": KEY}, 404, "error.connector.http.routeDoesNotExist"),
        (
            "GET",
            "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token",
            {"x-api-key": KEY},
            405,
            "error.connector.http.methodNotAllowed",
        ),
        ("POST", "/backbone/r/TOKaaaaaaaaaaaaaaaa1", {}, 405, "error.connector.http.methodNotAllowed"),
        ("POST", "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token", {"x-api-key": KEY}, 404, "error.runtime.recordNotFound"),
        ("GET", "/backbone/api/v2/Tokens/TOKaaaaaaaaaaaaaaaa1", {}, 404, "error.platform.recordNotFound"),
    ],
)
def test_order_of_checks(
    base: tuple[str, int], method: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    got_status, got_headers, body = call(base, method, path, headers=headers)
    assert (got_status, error_code(body)) == (status, code)
    if status == 405:
        assert got_headers["allow"] in ("POST", "GET")
        assert json.loads(body)["error"]["message"] == "The request method is not supported for the requested resource."


def test_the_page_lists_records_without_secrets(base: tuple[str, int], make_template: Factory) -> None:
    template = make_template(password="hunter2")
    status, headers, body = call(base, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    page = body.decode()
    assert template.id in page and KEY in page and "hunter2" not in page
    assert "<script src" not in page and '<link rel="stylesheet"' not in page  # self-contained


def test_chunked_request_bodies_are_read(base: tuple[str, int], make_file: Factory) -> None:
    connection = http.client.HTTPConnection(*base, timeout=15)
    try:
        connection.request(
            "POST",
            f"/api/v2/Files/{make_file().id}/Token",
            body=iter([b'{"ephemeral"', b": false}"]),
            headers={"x-api-key": KEY, "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 201
        assert json.loads(response.read())["result"]["isEphemeral"] is False
    finally:
        connection.close()


def test_a_body_over_api_gateways_limit_is_413_without_reading_it(base: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*base, timeout=15)
    try:
        connection.putrequest("POST", "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token")
        connection.putheader("Content-Length", str(11 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert error_code(response.read()) == "error.connector.validation.payloadTooLarge"
    finally:
        connection.close()


def _crashing_api(api: ApiSpec, handler: Callable[[dict[str, Any], Any], Any], log: list[str]) -> LocalApi:
    functions = {logical_id: LocalFunction(spec, handler) for logical_id, spec in api.functions.items()}
    return LocalApi(api, functions, KEY, log=log.append)


def test_a_crashing_function_is_a_502_envelope_and_its_message_is_not_logged(api: ApiSpec) -> None:
    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("secret-password-in-message")

    log: list[str] = []
    response = _crashing_api(api, crash, log).handle(
        HttpRequest("POST", "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token", [("x-api-key", KEY)])
    )
    assert response.status == 502
    assert error_code(response.body) == "error.connector.unexpected"
    assert len(log) == 1 and "RuntimeError" in log[0] and "FileTokenFunction" in log[0]
    assert "secret-password-in-message" not in log[0]


def test_a_malformed_function_result_is_a_502(api: ApiSpec) -> None:
    log: list[str] = []
    local_api = _crashing_api(api, lambda event, context: {"statusCode": "201"}, log)
    response = local_api.handle(HttpRequest("GET", "/backbone/r/TOKaaaaaaaaaaaaaaaa1", []))
    assert response.status == 502
    assert "malformed" in log[0]


def test_the_handler_gets_a_lambda_context(api: ApiSpec) -> None:
    seen: list[Any] = []

    def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(context)
        return {"statusCode": 204, "body": ""}

    response = _crashing_api(api, record, []).handle(HttpRequest("GET", "/backbone/r/TOKaaaaaaaaaaaaaaaa1", []))
    assert response.status == 204
    context = seen[0]
    assert context.function_name == "BackboneTokenFunction"
    assert context.memory_limit_in_mb == 1024
    assert context.aws_request_id == response.header("x-amzn-RequestId")
    assert 0 < context.get_remaining_time_in_millis() <= 10_000
    assert context.invoked_function_arn.endswith(":function:BackboneTokenFunction")


def test_the_peer_sees_a_locked_token_as_locked(base: tuple[str, int], make_template: Factory, aws: Any) -> None:
    template = make_template(password="right")
    status, _, body = call(
        base,
        "POST",
        f"/api/v2/RelationshipTemplates/Own/{template.id}/Token",
        headers={"x-api-key": KEY},
        body=b'{"passwordProtection": {"password": "right"}}',
    )
    assert status == 201
    reference = parse_reference(json.loads(body)["result"]["reference"]["url"])
    aws.update_item(
        TableName=BACKBONE_TABLE,
        Key={"id": {"S": reference.id}},
        UpdateExpression="SET failedAttempts = :n",
        ExpressionAttributeValues={":n": {"N": "100"}},
    )
    with pytest.raises(CommandError, match=r"tooManyFailedPasswordAttempts.*\(HTTP 400\)"):
        load_token(reference, "right")


def test_the_page_answers_503_when_dynamodb_is_unavailable(api: ApiSpec) -> None:
    def unavailable() -> str:
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)

    response = LocalApi(api, {}, KEY, page=unavailable, log=lambda _: None).handle(HttpRequest("GET", "/", []))
    assert response.status == 503
    assert error_code(response.body) == "error.connector.serviceUnavailable"
