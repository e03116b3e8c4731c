"""POST /Tokens/Own through `nmshd-tokens serve` (the embedded backbone): created in both route families, read,
listed and revoked over HTTP, and loaded by the upstream transport library from the served backbone with exactly
the content that was sent."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import API_KEY, Served
from tests.e2e.test_serve import request
from tests.e2e.test_serve_newcomer import _one_output_per_command, _readme_section, _run_as_pasted
from tests.prerequisites import require
from tests.support import decode_qr, future, iso
from tests.upstream_node import UpstreamClient, connector_sdk, require_upstream, running_upstream

CONTENT = {"message": "Hallo", "list": [1, {"nested": [True, None]}], "2": 2}


def create_own(served: Served, prefix: str, body: dict[str, Any]) -> dict[str, Any]:
    status, headers, raw = request(served, "POST", f"{prefix}/Tokens/Own", body=body, accept="application/json")
    assert status == 201, raw
    assert headers["cache-control"] == "no-store"
    dto: dict[str, Any] = json.loads(raw)["result"]
    return dto


@pytest.fixture(scope="module")
def upstream(served: Served) -> Iterator[UpstreamClient]:
    for client in running_upstream("UPSTREAM LOAD FROM SERVE"):
        # Anonymous loads only: the embedded backbone has no login, so the OAuth client is never used.
        client.result("configure", baseUrl=f"{served.base}/backbone", clientId="unused", clientSecret="unused")
        yield client


@pytest.mark.parametrize("prefix", ["/api/v2", "/api/core/v1"])
def test_an_own_token_is_created_read_listed_and_revoked(served: Served, prefix: str) -> None:
    dto = create_own(served, prefix, {"content": CONTENT, "expiresAt": iso(future())})
    assert dto["isOwn"] is True and dto["isEphemeral"] is False and dto["content"] == CONTENT
    assert ("truncatedReference" in dto) == (prefix == "/api/v2")
    status, _, raw = request(served, "GET", f"{prefix}/Tokens/{dto['id']}")
    assert status == 200 and json.loads(raw)["result"] == dto
    status, _, raw = request(served, "GET", f"{prefix}/Tokens/Own")
    assert dto["id"] in [token["id"] for token in json.loads(raw)["result"]]
    status, _, _ = request(served, "DELETE", f"/api/core/v1/Tokens/{dto['id']}")
    assert status == 204
    assert request(served, "GET", f"{prefix}/Tokens/{dto['id']}")[0] == 404


def test_json_only_and_the_runtimes_messages(served: Served) -> None:
    status, _, raw = request(served, "POST", "/api/core/v1/Tokens/Own", body={"content": {}}, accept="image/png")
    assert status == 406 and json.loads(raw)["error"]["code"] == "error.connector.http.notAcceptable"
    status, _, raw = request(
        served, "POST", "/api/core/v1/Tokens/Own", body={"content": None, "expiresAt": iso(future())}
    )
    assert status == 400 and json.loads(raw)["error"]["code"] == "error.runtime.invalidTokenContent"


@pytest.mark.upstream
@pytest.mark.parametrize("password", [None, "s3cret"])
def test_the_upstream_loader_reads_the_content_from_the_served_backbone(
    served: Served, upstream: UpstreamClient, password: str | None
) -> None:
    body: dict[str, Any] = {"content": CONTENT, "expiresAt": iso(future()), "ephemeral": True}
    if password:
        body["passwordProtection"] = {"password": password, "passwordLocationIndicator": "Email"}
    dto = create_own(served, "/api/core/v1", body)
    for reference in (dto["reference"]["url"], dto["reference"]["truncated"]):
        loaded = upstream.result("loadAnonymous", reference=reference, password=password)
        assert loaded["content"] == CONTENT
        assert (loaded["id"], loaded["createdBy"], loaded["createdAt"]) == (
            dto["id"],
            dto["createdBy"],
            dto["createdAt"],
        )


def test_the_readmes_own_token_lines_work_as_pasted(served: Served, tmp_path: Path) -> None:
    require(shutil.which("curl") is not None, "the README's examples use curl", "apt-get install curl")
    block = _readme_section("The routes").split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if "/Tokens/Own" in line and line.startswith("curl ")]
    assert len(lines) == 2, lines
    v2, v7 = (
        json.loads(output)["result"] for output in _run_as_pasted(_one_output_per_command(lines), served, tmp_path)
    )
    assert v2["content"] == v7["content"] == {"greeting": "hello"}
    assert "truncatedReference" in v2 and "truncatedReference" not in v7
    assert v7["passwordProtection"] == {"password": "0815", "passwordIsPin": True}


@pytest.mark.upstream
def test_the_connector_6_sdk_creates_reads_and_lists_an_own_token(served: Served) -> None:
    """@nmshd/connector-sdk 6.7.0's tokens endpoint against `serve` (it has no delete: Connector 6 has none)."""
    require_upstream("CONNECTOR SDK 6.7.0 AGAINST SERVE")
    body = {"content": {"sdk": True, "n": [1, 2]}, "expiresAt": iso(future()), "passwordProtection": {"password": "x"}}
    calls = [
        {"call": "createOwnToken", "arg": body},
        {"call": "getToken", "arg": "$id"},
        {"call": "getOwnTokens", "arg": {"passwordProtection": ""}},
        {"call": "getQrCodeForToken", "arg": "$id"},
        {"call": "getPeerTokens", "arg": {}},
        {"call": "createOwnToken", "arg": {"content": {"@type": "Unknown"}, "expiresAt": iso(future())}},
        {"call": "createOwnToken", "arg": {"content": {}}},
    ]
    created, read, own, qr, peer, unknown_type, no_expiry = connector_sdk(served.base, API_KEY, calls)
    token = created["result"]
    assert token["content"] == body["content"] and token["isOwn"] is True and token["truncatedReference"]
    assert read["result"] == token
    assert token["id"] in [entry["id"] for entry in own["result"]]
    assert decode_qr(base64.b64decode(qr["result"]["base64"])) == "nmshd://tr#" + token["truncatedReference"]
    # The server is shared with the peer-token tests: whatever peer tokens it keeps, an own token is never one.
    assert token["id"] not in [entry["id"] for entry in peer["result"]]
    assert all(entry["isOwn"] is False for entry in peer["result"])
    assert unknown_type["error"]["code"] == "error.runtime.invalidTokenContent"
    assert no_expiry["error"] == {
        "code": "error.runtime.validation.invalidPropertyValue",
        "message": "must have required property 'expiresAt'",
    }
