"""The Connector 6 SDK (@nmshd/connector-sdk 6.7.0) against `nmshd-tokens serve`: loading a peer token by its
reference, and the API keys' scopes as the SDK meets them (a key with the route's scope works, one without gets the
Connector's 403)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from nmshd_tokens_local.seed import FILE_ID

from tests.e2e.conftest import API_KEY, Served, start_serve
from tests.e2e.test_serve import request
from tests.support import future, iso
from tests.upstream_node import connector_sdk, require_upstream

pytestmark = pytest.mark.upstream

TOKENS_KEY = "tokens-KEY-0123456789-abcdefghijk!"
FILES_KEY = "files-KEY-0123456789-abcdefghijkl!"


def test_the_sdk_loads_a_peer_token_by_its_reference_and_finds_it_kept(served: Served) -> None:
    require_upstream("CONNECTOR SDK 6.7.0 LOADS A PEER TOKEN FROM SERVE")
    body = {"passwordProtection": {"password": "peer-secret"}}  # ephemeral: published, not kept by its creator
    status, _, raw = request(served, "POST", f"/api/v2/Files/{FILE_ID}/Token", body=body, accept="application/json")
    assert status == 201, raw
    published = json.loads(raw)["result"]
    reference = published["truncatedReference"]

    refused, loaded, again, read, peers = connector_sdk(
        served.base,
        API_KEY,
        [
            {"call": "loadPeerToken", "arg": {"reference": reference}},
            {"call": "loadPeerToken", "arg": {"reference": reference, "password": "peer-secret"}},
            {"call": "loadPeerToken", "arg": {"reference": reference, "password": "peer-secret"}},
            {"call": "getToken", "arg": published["id"]},
            {"call": "getPeerTokens", "arg": {}},
        ],
    )
    assert refused["error"]["code"] == "error.transport.noPasswordProvided"
    token = loaded["result"]
    assert token["id"] == published["id"] and token["isOwn"] is False
    assert token["content"] == published["content"]  # decrypted with the reference's key: the File's own key
    assert again["result"] == token  # kept: answered as stored
    assert read["result"]["id"] == token["id"]
    assert token["id"] in [entry["id"] for entry in peers["result"]]


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("scoped")
    keys = tmp / "keys.json"
    keys.write_text(
        json.dumps(
            {
                "keys": {
                    "tokens": {"key": TOKENS_KEY, "scopes": ["core:tokens"]},
                    "files": {"key": FILES_KEY, "scopes": ["core:files"]},
                }
            }
        ),
        encoding="utf-8",
    )
    server = start_serve(tmp, "--api-keys", str(keys))
    yield server
    server.stop()


def test_a_key_with_the_routes_scope_works_and_one_without_gets_the_connectors_403(scoped: Served) -> None:
    require_upstream("CONNECTOR SDK 6.7.0 WITH SCOPED API KEYS")
    body = {"content": {"scoped": True}, "expiresAt": iso(future())}
    (created,) = connector_sdk(scoped.base, TOKENS_KEY, [{"call": "createOwnToken", "arg": body}])
    assert created["result"]["content"] == body["content"]
    forbidden, unknown_id = connector_sdk(
        scoped.base,
        FILES_KEY,
        [{"call": "createOwnToken", "arg": body}, {"call": "getToken", "arg": created["result"]["id"]}],
    )
    for answer in (forbidden, unknown_id):
        assert answer["error"] == {
            "code": "error.connector.forbidden",
            "message": "You are not allowed to access this endpoint.",
        }
    (unauthorized,) = connector_sdk(scoped.base, "not-a-key", [{"call": "getOwnTokens", "arg": {}}])
    assert unauthorized["error"]["code"] == "error.connector.unauthorized"
