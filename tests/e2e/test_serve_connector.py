"""`nmshd-tokens serve --connector URL --connector-api-key KEY` beside a (stand-in) Connector: tokens for Files and
templates only the Connector knows, `records sync`, and the start-up check of the Connector's identity."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from nmshd_tokens.domain.crypto import generate_key, generate_salt
from nmshd_tokens.domain.encoding import b64url_encode
from nmshd_tokens.domain.files_and_templates import FileRecord, StoredPasswordProtection, TemplateRecord
from nmshd_tokens.domain.ids import new_id
from nmshd_tokens_local.standin_connector import StandinConnector

from tests.e2e.conftest import ROOT, Served, clean_env, executable, free_port, start_serve
from tests.e2e.test_serve import FILE_PATH, TEMPLATE_PATH, create_json, load
from tests.support import future

ADDRESS = "did:e:localhost:dids:5e7a9f1c3b2d4e6f8a0bcb"  # serve's default SERVICE_ADDRESS
KEY = "e2e-connector-key-0123456789"


@pytest.fixture(scope="module")
def connector() -> Iterator[StandinConnector]:
    with StandinConnector(ADDRESS, api_key=KEY) as standin:
        yield standin


@pytest.fixture(scope="module")
def beside(connector: StandinConnector, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_serve(
        tmp_path_factory.mktemp("connector"), "--connector", connector.base_url, "--connector-api-key", KEY
    )
    yield server
    assert server.stop(signal.SIGINT) == 0, server.output


def test_serve_checks_the_connector_and_names_it(beside: Served, connector: StandinConnector) -> None:
    assert f"Connector {connector.base_url} (identity {ADDRESS})" in beside.output
    assert KEY not in beside.output


def test_a_token_for_a_file_only_the_connector_knows_loads_with_its_key(
    beside: Served, connector: StandinConnector
) -> None:
    file = FileRecord(new_id("FIL"), generate_key(), future(30))
    connector.add(file)
    token = create_json(beside, FILE_PATH.format(file.id))
    status, content, error = load(beside, token["reference"]["truncated"])
    assert status == 0, error
    assert content["fileId"] == file.id
    assert content["secretKey"]["key"] == b64url_encode(file.secret_key)


def test_a_token_for_a_protected_template_only_the_connector_knows(beside: Served, connector: StandinConnector) -> None:
    protection = StoredPasswordProtection("s3cret", "pw", generate_salt())
    template = TemplateRecord(new_id("RLT"), generate_key(), future(30).replace(microsecond=0), True, None, protection)
    connector.add(template)
    body = {"passwordProtection": {"password": "s3cret"}}
    token = create_json(beside, TEMPLATE_PATH.format(template.id), body)
    status, content, error = load(beside, token["reference"]["truncated"], "--password", "s3cret")
    assert status == 0, error
    assert content["templateId"] == template.id
    assert content["secretKey"]["key"] == b64url_encode(template.secret_key)


def test_records_sync_against_the_running_serve(beside: Served, connector: StandinConnector) -> None:
    for _ in range(3):
        connector.add(FileRecord(new_id("FIL"), generate_key()))
    done = beside.cli("records", "sync", "--connector", connector.base_url, "--connector-api-key", KEY)
    assert done.returncode == 0, done.stderr
    assert "records sync from" in done.stdout and "removed 0" in done.stdout
    again = beside.cli("records", "sync", "--connector", connector.base_url, "--connector-api-key", KEY)
    assert again.returncode == 0 and "added 0," in again.stdout


def run_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A serve that is expected to end by itself (it is stopped after 60 s otherwise)."""
    port, dynamodb_port = free_port(), free_port()
    command = [*executable(), "serve", "--port", str(port), "--dynamodb-port", str(dynamodb_port), *args]
    env = clean_env(NMSHD_TOKENS_STATE_DIR=str(tmp_path))
    return subprocess.run(  # noqa: S603 - our own console script
        command, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )


def test_serve_refuses_a_connector_of_another_identity(tmp_path: Path) -> None:
    other = "did:e:localhost:dids:0123456789abcdef012357"
    with StandinConnector(other, api_key=KEY) as standin:
        done = run_serve(tmp_path, "--connector", standin.base_url, "--connector-api-key", KEY)
    assert done.returncode == 1
    assert ADDRESS in done.stderr and other in done.stderr


def test_an_unreachable_connector_is_a_warning_at_start_up(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = start_serve(tmp_path, "--connector", url, "--connector-api-key", KEY)
    try:
        assert f"warning: The Connector at {url} could not be reached" in server.output
    finally:
        assert server.stop(signal.SIGINT) == 0


def test_a_key_that_may_not_read_the_identity_is_a_warning_at_start_up(tmp_path: Path) -> None:
    with StandinConnector(ADDRESS, api_key=KEY) as scoped:
        scoped.scopes = {"core:files", "core:relationshipTemplates"}
        server = start_serve(tmp_path, "--connector", scoped.base_url, "--connector-api-key", KEY)
        try:
            assert "may not read its identity (scope core:account)" in server.output
        finally:
            assert server.stop(signal.SIGINT) == 0
