"""`python -m nmshd_tokens_local.connector_device` reads a Connector's own device from its database entries as the
upstream transport library writes them (tests/upstream/connector_account.mjs: AccountController's storage calls,
DeviceSecretController.storeSecret), and prints remote mode's secret with the device's Backbone credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.upstream_node import UPSTREAM_DIR, require_upstream

pytestmark = pytest.mark.upstream

CLIENT = {"BACKBONE_CLIENT_ID": "test-client", "BACKBONE_CLIENT_SECRET": "test-client-secret"}


def _connector_account() -> dict[str, Any]:
    require_upstream("CONNECTOR DEVICE READ")
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["node", str(UPSTREAM_DIR / "connector_account.mjs")],  # noqa: S607 - node from PATH
        cwd=UPSTREAM_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    account: dict[str, Any] = json.loads(done.stdout)
    return account


@pytest.fixture(scope="module")
def account() -> dict[str, Any]:
    return _connector_account()


def _read(document: object, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in CLIENT} | env
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "nmshd_tokens_local.connector_device"],
        input=json.dumps(document),
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _loki_file(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The same entries as a LokiJS database file holds them (the Connector's debug-mode database)."""
    by_map: dict[str, list[dict[str, Any]]] = {"AccountInfo": [], "DeviceSecrets": []}
    for number, entry in enumerate(entries, start=1):
        target = "DeviceSecrets" if entry["name"] == "device_credentials" else "AccountInfo"
        by_map[target].append({**entry, "meta": {"revision": 0, "created": 0, "version": 0}, "$loki": number})
    collections = [{"name": name, "data": data, "objType": name} for name, data in by_map.items()]
    return {"filename": "/data/default.db", "collections": [{"name": "Other", "data": []}, *collections]}


def test_the_device_credentials_the_transport_library_stored_are_read_back(account: dict[str, Any]) -> None:
    done = _read(account["entries"], **CLIENT)
    assert done.returncode == 0, done.stderr
    expected = account["expected"]
    assert json.loads(done.stdout) == {
        "clientId": "test-client",
        "clientSecret": "test-client-secret",
        "username": expected["username"],
        "password": expected["password"],
    }
    assert done.stderr.strip() == f"SERVICE_ADDRESS={expected['address']} SERVICE_DEVICE_ID={expected['deviceId']}"


def test_a_lokijs_database_file_gives_the_same_answer(account: dict[str, Any]) -> None:
    done = _read(_loki_file(account["entries"]), **CLIENT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["password"] == account["expected"]["password"]


def test_the_base_key_of_another_connector_is_refused_without_printing_anything(account: dict[str, Any]) -> None:
    other = _connector_account()
    entries = [e for e in account["entries"] if e["name"] != "baseKey"]
    entries += [e for e in other["entries"] if e["name"] == "baseKey"]
    done = _read(entries, **CLIENT)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "device_credentials" in done.stderr and "baseKey" in done.stderr
    assert account["expected"]["password"] not in done.stderr


def test_a_missing_entry_is_named(account: dict[str, Any]) -> None:
    entries = [e for e in account["entries"] if e["name"] != "device_credentials"]
    done = _read(entries, **CLIENT)
    assert done.returncode == 2
    assert done.stderr.strip() == "connector_device: the Connector's entries lack device_credentials"


def test_the_client_credentials_are_required(account: dict[str, Any]) -> None:
    done = _read(account["entries"], BACKBONE_CLIENT_ID="test-client")
    assert done.returncode == 2
    assert "BACKBONE_CLIENT_SECRET" in done.stderr
    assert done.stdout == ""
