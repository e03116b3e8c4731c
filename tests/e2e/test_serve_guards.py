"""What a web page in the developer's browser meets when it aims at `serve`: the demo page (which holds the API
key) and the embedded DynamoDB (which holds every key and password) answer only loopback SDK clients and the
page's own origin, over real HTTP.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from nmshd_tokens_local import seed

from tests.e2e.conftest import API_KEY, Served

EVIL = "evil.example"
# moto picks the service from the credential scope; it does not check the signature.
SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=local/20250101/eu-central-1/dynamodb/aws4_request, x"}
LIST_TABLES = SIGNED | {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}


def raw_call(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these headers (http.client adds Host only when none is given)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# --- the demo page and the API ------------------------------------------------------------------------------


def test_the_page_is_never_cached_nor_framed(served: Served) -> None:
    status, headers, page = raw_call(served.port, "GET", "/", {})
    assert status == 200 and API_KEY.encode() in page
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_page_answers_its_loopback_names_on_any_port(served: Served, host: str) -> None:
    status, _, page = raw_call(served.port, "GET", "/", {"Host": f"{host}:{served.port}"})
    assert status == 200 and API_KEY.encode() in page


@pytest.mark.parametrize(
    "host",
    [f"{EVIL}:{{port}}", EVIL, "127.0.0.1.nip.io:{port}", "localhost@evil.example", "127.0.0.1:{port}/x", ""],
)
def test_a_rebound_host_name_gets_no_page_and_no_api(served: Served, host: str) -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends its own name as Host."""
    headers = {"Host": host.format(port=served.port)}
    status, _, body = raw_call(served.port, "GET", "/", headers)
    assert status == 421 and API_KEY.encode() not in body
    status, _, body = raw_call(
        served.port,
        "POST",
        f"/api/v2/Files/{seed.FILE_ID}/Token",
        headers | {"x-api-key": API_KEY, "Accept": "application/json"},
        b"{}",
    )
    assert status == 421 and b"TOK" not in body


def test_two_host_headers_are_refused(served: Served) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        connection.putrequest("GET", "/", skip_host=True)
        connection.putheader("Host", f"127.0.0.1:{served.port}")
        connection.putheader("Host", f"{EVIL}:{served.port}")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 421 and API_KEY.encode() not in response.read()
    finally:
        connection.close()


def test_opening_the_page_with_an_auto_parameter_serves_the_plain_page(served: Served) -> None:
    status, _, page = raw_call(served.port, "GET", f"/?auto={seed.FILE_ID}", {})
    assert status == 200
    assert b"URLSearchParams" not in page and b".click()" not in page  # nothing on the page acts without a person


# --- the embedded DynamoDB ------------------------------------------------------------------------------------


def _list_tables(served: Served, extra: dict[str, str], method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    return raw_call(served.dynamodb_port, method, "/", LIST_TABLES | extra, b"{}")


def test_an_sdk_request_is_answered_without_cors_headers(served: Served) -> None:
    status, headers, body = _list_tables(served, {})
    assert status == 200, body
    assert "nmshd-tokens-records" in json.loads(body)["TableNames"]
    assert not [name for name in headers if name.startswith("access-control-")]


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("POST", {"Origin": "https://evil.example"}),
        ("POST", {"Origin": "null"}),  # a sandboxed frame or a file:// page
        ("POST", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}),
        ("OPTIONS", {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}),  # pre-flight
        ("POST", {"Host": "evil.example:8000"}),  # DNS rebinding
    ],
)
def test_browsers_and_foreign_host_names_are_refused(served: Served, method: str, extra: dict[str, str]) -> None:
    status, headers, body = _list_tables(served, extra, method)
    assert status == 403, body
    assert b"TableNames" not in body
    assert not [name for name in headers if name.startswith("access-control-")]


def test_a_browser_cannot_reset_a_lockout_counter(served: Served) -> None:
    update: dict[str, Any] = {
        "TableName": "nmshd-tokens-backbone",
        "Key": {"id": {"S": "TOKaaaaaaaaaaaaaaaa1"}},
        "UpdateExpression": "SET failedAttempts = :zero",
        "ExpressionAttributeValues": {":zero": {"N": "0"}},
    }
    headers = SIGNED | {
        "X-Amz-Target": "DynamoDB_20120810.UpdateItem",
        "Content-Type": "text/plain",  # a "simple" request: a browser sends it without a pre-flight
        "Origin": "https://evil.example",
    }
    status, _, _ = raw_call(served.dynamodb_port, "POST", "/", headers, json.dumps(update).encode())
    assert status == 403
