"""`nmshd-tokens serve --api-keys FILE` (and `make run API_KEYS=FILE`) over real HTTP: the Connector's key model
(SPEC §17) on every keyed route of template.yaml, its start-up refusals, and the generated key without a file."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nmshd_tokens.domain.route_scopes import required_scope
from nmshd_tokens_local import seed
from nmshd_tokens_local.routes import Route

from tests.api_key_matrix import CASES, key_entries, keyed_routes, presented, refusal, strong
from tests.api_key_matrix import KEYS as MATRIX_KEYS
from tests.e2e.conftest import Served, clean_env, executable, free_port, start_serve
from tests.prerequisites import require
from tests.support import ROOT

KEYS: dict[str, dict[str, Any]] = {
    **MATRIX_KEYS,
    "expired": {"expiresAt": "2020-01-01T00:00:00Z"},
    "rotated-in": {"scopes": ["core:files"], "expiresAt": "2999-01-01T00:00:00Z"},
}
IDS = {"Files": seed.FILE_ID, "RelationshipTemplates": seed.PASSWORD_TEMPLATE_ID, "Tokens": "TOKa1b2c3d4e5f6g7h8i9"}


def key_file(directory: Path, keys: dict[str, dict[str, Any]], header: str = "X-API-KEY") -> Path:
    path = directory / "api-keys.json"
    path.write_text(json.dumps({"headerName": header, "keys": key_entries(keys)}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("serve-api-keys")
    server = start_serve(directory, "--api-keys", str(key_file(directory, KEYS)))
    yield server
    assert server.stop(signal.SIGINT) == 0, server.output


def target(route: Route) -> str:
    controller = next((name for name in IDS if f"/{name}/" in route.path), "Tokens")
    return route.path.replace("{id}", IDS[controller])


def call(served: Served, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    try:
        body = b"{}" if method == "POST" else None
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, None


@pytest.mark.parametrize("case", CASES)
def test_every_keyed_route_answers_each_kind_of_key(keyed: Served, case: str) -> None:
    routes = keyed_routes()
    assert len(routes) >= 13
    for route in routes:
        scope = required_scope(route.path)
        assert scope is not None, route.path
        key = presented(case, scope, expired_key="expired")
        status, body = call(keyed, route.method, target(route), {} if key is None else {"X-API-KEY": key})
        where = f"{route.method} {route.path} with {case}"
        expected = refusal(case, scope)
        if expected == 401:
            assert status == 401, where
            assert body is not None and body["error"]["code"] == "error.connector.unauthorized", where
        elif expected == 403:
            assert status == 403, where
            assert body is not None and body["error"]["code"] == "error.connector.forbidden", where
            assert body["error"]["message"] == "You are not allowed to access this endpoint.", where
        else:
            assert status not in (401, 403), f"{where}: {status} {body}"


def test_the_header_name_is_matched_whatever_its_case(keyed: Served) -> None:
    path = f"/api/core/v1/Files/{seed.FILE_ID}/Token"
    for name in ("x-api-key", "X-Api-Key", "X-API-KEY"):
        assert call(keyed, "POST", path, {name: strong("files")})[0] == 201, name


def test_two_keys_with_the_same_scope_are_valid_at_once(keyed: Served) -> None:
    path = f"/api/v2/Files/{seed.FILE_ID}/Token"
    assert call(keyed, "POST", path, {"X-API-KEY": strong("files")})[0] == 201
    assert call(keyed, "POST", path, {"X-API-KEY": strong("rotated-in")})[0] == 201


def test_public_routes_need_no_key(keyed: Served) -> None:
    assert call(keyed, "GET", "/health", {})[0] == 200
    assert call(keyed, "GET", "/backbone/api/v2/Tokens/TOKa1b2c3d4e5f6g7h8i9", {})[0] == 404  # public: not 401


def test_the_banner_names_the_keys_but_prints_none(keyed: Served) -> None:
    output = keyed.output
    assert "API keys: files, templates, tokens, monitoring, star, doublestar, admin, nothing, rotated-in from" in output
    assert "(header X-API-KEY)" in output
    assert "API key: " not in output  # the generated key's line
    assert "x-api-key: <your API key>" in output
    for name in KEYS:
        assert strong(name) not in output, name


# --- start-up refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"a": {}, "b": {"key": strong("a")}},
            "Duplicate API keys found in configuration. Each API key must be unique.",
        ),
        ({"a": {"enabled": False}}, "No valid API keys found in configuration. At least one is required."),
        ({"a": {"expiresAt": "2020-01-01T00:00:00Z"}}, "No valid API keys found in configuration."),
        ({}, "No API key and OAuth config set in configuration. At least one is required in production mode."),
        (
            {"ok": {}, "weak": {"key": "password"}},
            "The API keys with the following key(s) does not meet the requirements: weak. They must be at least 30",
        ),
    ],
)
def test_serve_refuses_to_start_as_the_connector(tmp_path: Path, keys: dict[str, Any], message: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own console script
        [*executable(), "serve", "--port", str(free_port()), "--api-keys", str(key_file(tmp_path, keys))],
        env=clean_env(NMSHD_TOKENS_STATE=str(tmp_path / "state.json")),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"nmshd-tokens: error: --api-keys {tmp_path / 'api-keys.json'}: {message}" in done.stderr
    assert "starting DynamoDB" not in done.stdout  # refused before anything starts


def test_make_run_passes_the_key_file(tmp_path: Path) -> None:
    require(
        shutil.which("make") is not None, "`make run API_KEYS=FILE` is the README's command", "apt-get install make"
    )
    keys = key_file(tmp_path, {"a": {"enabled": False}})
    process = subprocess.Popen(  # noqa: S603 - make with fixed arguments
        ["make", "-s", "run", "RUN_STAMP=", f"BIN={Path(sys.executable).parent}", f"API_KEYS={keys}"],  # noqa: S607
        cwd=ROOT,
        env=clean_env(NMSHD_TOKENS_STATE=str(tmp_path / "state.json"), PORT=str(free_port())),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a serve that did start (the file not passed on) is stopped with make
    )
    try:
        _, errors = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            process.communicate(timeout=60)
    assert process.returncode != 0
    assert f"--api-keys {keys}: No valid API keys found in configuration." in errors
