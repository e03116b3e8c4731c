"""POST …/Tokens/Peer end to end through `nmshd-tokens serve`: over HTTP, on the embedded backbone and, in remote
mode, on the stand-in Backbone; the loaded token then read, listed, shown as a QR code and deleted."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens_local import seed
from nmshd_tokens_local.page import QR_IMAGE_PATH

from tests.e2e.conftest import API_KEY, Served, start_serve
from tests.e2e.test_serve import request
from tests.support import decode_qr

PEER = "/api/core/v1/Tokens/Peer"


@pytest.fixture(scope="module")
def standin_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_serve(tmp_path_factory.mktemp("standin-peer"), "--backbone", "standin")
    yield server
    assert server.stop(signal.SIGINT) == 0, server.output


def published(served: Served, password: str) -> dict[str, Any]:
    """An ephemeral (not kept) password-protected token for the demo File: a peer's token, as far as loading goes."""
    body = {"passwordProtection": {"password": password}}
    status, _, raw = request(served, "POST", f"/api/core/v1/Files/{seed.FILE_ID}/Token", body=body)
    assert status == 201, raw
    dto: dict[str, Any] = json.loads(raw)["result"]
    return dto


def error_code(raw: bytes) -> str:
    return str(json.loads(raw)["error"]["code"])


@pytest.mark.parametrize("mode", ["embedded", "standin"])
def test_a_token_loads_by_reference_and_is_kept_read_listed_and_deleted(
    served: Served, standin_served: Served, mode: str
) -> None:
    server = served if mode == "embedded" else standin_served
    token = published(server, "s3cret")
    status, _, raw = request(server, "POST", PEER, body={"reference": token["reference"]["url"]})
    assert (status, error_code(raw)) == (400, "error.transport.noPasswordProvided")
    body = {"reference": token["reference"]["truncated"], "password": "wrong", "ephemeral": True}
    status, _, raw = request(server, "POST", "/api/v2/Tokens/Peer", body=body)
    if mode == "embedded":
        assert (status, error_code(raw)) == (404, "error.runtime.recordNotFound")
    else:  # signed in as the token's own creator, the Backbone checks no password (as for a Connector)
        assert status == 201 and json.loads(raw)["result"]["isEphemeral"] is True

    body = {"reference": token["reference"]["url"], "password": "s3cret"}
    status, headers, raw = request(server, "POST", PEER, body=body)
    assert status == 201 and headers["location"] == "_", raw
    loaded = json.loads(raw)["result"]
    assert loaded["content"]["fileId"] == seed.FILE_ID and loaded["isOwn"] is False
    assert loaded["reference"] == token["reference"]

    status, _, raw = request(server, "GET", f"/api/core/v1/Tokens/{token['id']}")
    assert status == 200 and json.loads(raw)["result"] == loaded
    status, _, png = request(server, "GET", f"/api/core/v1/Tokens/{token['id']}", accept="image/png")
    assert status == 200 and parse_reference(decode_qr(png)).id == token["id"]
    status, _, raw = request(server, "GET", "/api/v2/Tokens/Peer")
    assert token["id"] in [dto["id"] for dto in json.loads(raw)["result"]]
    status, _, raw = request(server, "GET", "/api/v2/Tokens/Own")
    assert token["id"] not in [dto["id"] for dto in json.loads(raw)["result"]]

    status, _, _ = request(server, "DELETE", f"/api/core/v1/Tokens/{token['id']}")
    assert status == 204
    assert request(server, "GET", f"/api/core/v1/Tokens/{token['id']}")[0] == 404
    status, _, raw = request(server, "POST", PEER, body=body)  # still published: loadable again
    assert status == 201 and json.loads(raw)["result"]["id"] == token["id"]


def test_a_png_is_not_acceptable_and_a_bad_reference_is_invalid(served: Served) -> None:
    status, _, raw = request(served, "POST", PEER, body={"reference": "x"}, accept="image/png")
    assert (status, error_code(raw)) == (406, "error.connector.http.notAcceptable")
    status, _, raw = request(served, "POST", PEER, body={"reference": "x"})
    assert status == 400 and json.loads(raw)["error"]["message"] == "token reference invalid"


def test_the_pages_qr_image_route_needs_the_key_and_reads_one_qr_code(served: Served) -> None:
    status, _, png = request(served, "POST", f"/api/v2/Files/{seed.FILE_ID}/Token", accept="image/png")
    assert status == 201

    def post(body: bytes, key: str | None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/octet-stream", **({"x-api-key": key} if key else {})}
        call = urllib.request.Request(served.base + QR_IMAGE_PATH, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(call, timeout=60) as response:  # noqa: S310 - loopback
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    status, answer = post(png, API_KEY)
    assert status == 200 and parse_reference(answer["reference"]) == parse_reference(decode_qr(png))
    assert post(png, None)[0] == 401 and post(png, "wrong")[0] == 401
    status, answer = post(b"not an image", API_KEY)
    assert status == 400 and "not an image file" in answer["error"]["message"]
