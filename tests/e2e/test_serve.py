"""`nmshd-tokens serve` end to end: requests over HTTP, the binary rule, errors, `load` and `records`."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.references import Reference, SharedPasswordProtection, parse_reference
from nmshd_tokens_local import seed
from nmshd_tokens_local.cli import EXIT_BROKEN_PIPE
from nmshd_tokens_local.serve_command import EXAMPLES_DIR

from tests.e2e.conftest import API_KEY, Served, clean_env, executable, free_port, start_serve
from tests.support import decode_qr, future, iso

FILE_PATH = "/api/v2/Files/{}/Token"
TEMPLATE_PATH = "/api/v2/RelationshipTemplates/Own/{}/Token"


def request(
    served: Served,
    method: str,
    path: str,
    *,
    body: Any = None,
    accept: str | None = None,
    key: str | None = API_KEY,
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    if key is not None:
        headers["x-api-key"] = key
    data = json.dumps(body).encode() if body is not None else None
    call = urllib.request.Request(served.base + path, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(call, timeout=120) as response:  # noqa: S310 - loopback
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def create_json(served: Served, path: str, body: Any = None) -> dict[str, Any]:
    status, _, raw = request(served, "POST", path, body=body, accept="application/json")
    assert status == 201, raw
    result: dict[str, Any] = json.loads(raw)["result"]
    return result


def load(served: Served, reference: str, *args: str) -> tuple[int, Any, str]:
    done = served.cli("load", reference, *args)
    content = json.loads(done.stdout) if done.returncode == 0 else None
    return done.returncode, content, done.stderr


def test_startup_output(served: Served) -> None:
    output = served.output
    assert f"API key: {API_KEY}" in output
    assert "starting DynamoDB" in output
    assert re.search(r"ready in \d+\.\d s", output)
    for record_id in (seed.FILE_ID, seed.PASSWORD_TEMPLATE_ID, seed.PIN_TEMPLATE_ID, seed.PEER_TEMPLATE_ID):
        assert record_id in output
    assert seed.DEMO_PASSWORD in output and seed.DEMO_PIN in output
    assert "curl -s -X POST" in output and f"--create-dirs -o {EXAMPLES_DIR / 'token.png'}" in output
    assert f"shell:    K={API_KEY} B={served.base}   " in output  # the variables of the README's examples


def test_json_token_for_the_demo_file_loads_as_a_peer(served: Served) -> None:
    token = create_json(served, FILE_PATH.format(seed.FILE_ID))
    assert token["reference"]["url"].startswith(f"{served.base}/backbone/r/{token['id']}#")
    status, content, _ = load(served, token["reference"]["url"])
    assert status == 0
    assert content["@type"] == "TokenContentFile" and content["fileId"] == seed.FILE_ID
    assert load(served, token["truncatedReference"])[1] == content


def test_png_token_is_raw_bytes_for_image_png_and_loads_from_the_file(served: Served, tmp_path: Path) -> None:
    status, headers, png = request(served, "POST", TEMPLATE_PATH.format(seed.OWN_TEMPLATE_ID), accept="image/png")
    assert status == 201
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"] == f"attachment;filename={seed.OWN_TEMPLATE_ID}.png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = tmp_path / "token.png"
    image.write_bytes(png)
    status, content, _ = load(served, str(image))
    assert status == 0
    assert content["templateId"] == seed.OWN_TEMPLATE_ID


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;q=0.5, image/png",  # a Connector client
        "image/webp,image/png",
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",  # Chromium's <img>
    ],
)
def test_png_token_is_raw_bytes_whatever_the_accept_order(served: Served, accept: str) -> None:
    status, headers, png = request(served, "POST", FILE_PATH.format(seed.FILE_ID), accept=accept)
    assert status == 201
    assert headers["content-type"] == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert parse_reference(decode_qr(png)).id.startswith("TOK")


def test_password_template_token_needs_the_password(served: Served) -> None:
    body = {"passwordProtection": {"password": seed.DEMO_PASSWORD}}
    token = create_json(served, TEMPLATE_PATH.format(seed.PASSWORD_TEMPLATE_ID), body)
    reference = token["reference"]["url"]

    status, _, stderr = load(served, reference)
    assert status == 1
    assert "error.transport.noPasswordProvided" in stderr and len(stderr.strip().splitlines()) == 1

    status, _, stderr = load(served, reference, "--password", "wrong")
    assert status == 1
    assert "error.platform.recordNotFound" in stderr

    status, content, _ = load(served, reference, "--password", seed.DEMO_PASSWORD)
    assert status == 0
    assert content["templateId"] == seed.PASSWORD_TEMPLATE_ID
    assert content["passwordProtection"]["passwordType"] == "pw"
    assert seed.DEMO_PASSWORD not in json.dumps(content)


def test_pin_template_with_indicator_and_personalised_template(served: Served) -> None:
    pin_body = {
        "passwordProtection": {"password": seed.DEMO_PIN, "passwordIsPin": True, "passwordLocationIndicator": "Letter"}
    }
    token = create_json(served, TEMPLATE_PATH.format(seed.PIN_TEMPLATE_ID), pin_body)
    assert parse_reference(token["reference"]["url"]).password_protection.location_indicator == 2  # type: ignore[union-attr]
    status, content, _ = load(served, token["reference"]["url"], "--password", seed.DEMO_PIN)
    assert status == 0 and content["passwordProtection"]["passwordType"] == "pin4"

    token = create_json(
        served, TEMPLATE_PATH.format(seed.PERSONALISED_TEMPLATE_ID), {"forIdentity": seed.DEMO_FOR_IDENTITY}
    )
    status, content, _ = load(served, token["reference"]["url"], "--identity", seed.DEMO_FOR_IDENTITY)
    assert status == 0 and content["forIdentity"] == seed.DEMO_FOR_IDENTITY
    other = "did:e:localhost:dids:ffffffffffffffffffffbb"
    status, _, stderr = load(served, token["reference"]["url"], "--identity", other)
    assert status == 1 and "notIntendedForYou" in stderr


def test_demo_rule_violations(served: Served) -> None:
    status, _, raw = request(served, "POST", TEMPLATE_PATH.format(seed.PEER_TEMPLATE_ID), accept="application/json")
    assert status == 400
    assert json.loads(raw)["error"]["code"] == "error.runtime.relationshipTemplates.cannotCreateTokenForPeerTemplate"
    status, _, raw = request(served, "POST", TEMPLATE_PATH.format(seed.PASSWORD_TEMPLATE_ID))
    assert json.loads(raw)["error"]["code"].endswith("passwordProtectionMustBeInherited")


@pytest.mark.parametrize(
    ("method", "path", "key", "status", "code"),
    [
        ("POST", FILE_PATH.format(seed.FILE_ID), None, 401, "error.connector.unauthorized"),
        ("POST", FILE_PATH.format(seed.FILE_ID), "wrong", 401, "error.connector.unauthorized"),
        ("GET", "/api/v2/Nothing", None, 401, "error.connector.unauthorized"),
        ("GET", "/api/v2/Nothing", API_KEY, 404, "error.connector.http.routeDoesNotExist"),
        ("DELETE", FILE_PATH.format(seed.FILE_ID), API_KEY, 405, "error.connector.http.methodNotAllowed"),
    ],
)
def test_error_envelopes(served: Served, method: str, path: str, key: str | None, status: int, code: str) -> None:
    got_status, headers, raw = request(served, method, path, key=key)
    error = json.loads(raw)["error"]
    assert (got_status, error["code"]) == (status, code)
    assert re.fullmatch(r"ERR[A-Z2-9]{17}", error["id"])
    assert error["docs"].endswith(code)
    if status == 405:
        assert headers["allow"] == "POST"


def test_backbone_needs_no_key_and_serves_the_reference_page(served: Served) -> None:
    token = create_json(served, FILE_PATH.format(seed.FILE_ID))
    status, _, raw = request(served, "GET", f"/backbone/api/v2/Tokens/{token['id']}", key=None)
    assert status == 200 and json.loads(raw)["result"]["id"] == token["id"]
    status, headers, raw = request(served, "GET", f"/backbone/r/{token['id']}", key=None)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"


def test_records_add_template_list_and_load(served: Served) -> None:
    added = served.cli(
        "records", "add-template", "--pin", "987654", "--indicator", "77", "--expires-at", iso(future(3))
    )
    assert added.returncode == 0, added.stderr
    record = json.loads(added.stdout)
    assert record["passwordProtection"]["passwordType"] == "pin6"
    assert record["passwordProtection"]["passwordLocationIndicator"] == 77

    listed = served.cli("records", "list")
    assert listed.returncode == 0, listed.stderr
    ids = [entry["id"] for entry in json.loads(listed.stdout)]
    assert record["id"] in ids and seed.FILE_ID in ids

    body = {"passwordProtection": {"password": "987654", "passwordIsPin": True, "passwordLocationIndicator": 77}}
    token = create_json(served, TEMPLATE_PATH.format(record["id"]), body)
    assert token["expiresAt"] == record["expiresAt"]
    status, content, _ = load(served, token["reference"]["url"], "--password", "987654")
    assert status == 0 and content["templateId"] == record["id"]

    again = served.cli("records", "add-file", "--id", seed.FILE_ID)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_records_list_into_a_closed_pipe_stops_quietly(served: Served) -> None:
    """`records list | head`: the reader is gone before the list is written; no traceback, a shell's status."""
    reader, writer = os.pipe()
    os.close(reader)  # every write to `writer` now fails with EPIPE, as after `head` exits
    try:
        listed = served.cli("records", "list", stdout=writer)
    finally:
        os.close(writer)
    assert listed.returncode == EXIT_BROKEN_PIPE
    assert listed.stderr == ""


def test_records_import_a_connector_template_dto(served: Served, tmp_path: Path) -> None:
    template_id = "RLTimported0000000e2"
    key, salt = generate_key(), generate_salt()
    reference = Reference(template_id, key, "https://connector.example.com", None, SharedPasswordProtection("pw", salt))
    dto = {
        "result": {
            "id": template_id,
            "isOwn": True,
            "createdBy": "did:e:example.com:dids:0123456789abcdef01234b",
            "expiresAt": iso(future(5)),
            "passwordProtection": {"password": "imported-secret"},
            "reference": {"truncated": reference.truncated, "url": reference.url},
            "truncatedReference": reference.truncated,
        }
    }
    dto_file = tmp_path / "template.json"
    dto_file.write_text(json.dumps(dto), encoding="utf-8")
    imported = served.cli("records", "import", str(dto_file))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["id"] == template_id

    token = create_json(
        served, TEMPLATE_PATH.format(template_id), {"passwordProtection": {"password": "imported-secret"}}
    )
    status, content, _ = load(served, token["reference"]["url"], "--password", "imported-secret")
    assert status == 0
    assert content["templateId"] == template_id
    assert base64.urlsafe_b64decode(content["secretKey"]["key"] + "=") == key
    assert base64.urlsafe_b64decode(content["passwordProtection"]["salt"] + "==") == salt


def test_a_taken_dynamodb_port_is_a_clear_error(served: Served) -> None:
    done = subprocess.run(  # noqa: S603 - our own console script
        [*executable(), "serve", "--port", str(free_port()), "--dynamodb-port", str(served.dynamodb_port)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert f"DynamoDB port 127.0.0.1:{served.dynamodb_port} is already in use" in done.stderr
    assert "--dynamodb-port" in done.stderr


def test_sigterm_stops_cleanly_and_frees_the_ports(tmp_path: Path) -> None:
    server = start_serve(tmp_path, "--no-seed")
    assert "demo records" not in server.output and "API key: " in server.output
    assert server.stop(signal.SIGTERM) == 0
    assert server.output.rstrip().endswith("stopped")
    for port in (server.port, server.dynamodb_port):
        with socket.socket() as probe:  # nothing listens any more (TIME_WAIT connections may remain)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
