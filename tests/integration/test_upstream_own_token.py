"""Own tokens (POST /Tokens/Own) in remote mode, loaded by the upstream transport library with their content.

Our handlers publish to the stand-in Backbone (records in moto); tests/upstream/backbone_client.mjs loads the
tokens with @nmshd/transport 7.0.0, anonymously and signed in as the intended identity, and must read exactly the
content that was sent: with and without a password or PIN, and personalised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nmshd_tokens_local.standin_backbone import StandinBackbone

from tests.support import V7, FakeClock, Functions, api_event, future, iso, json_body
from tests.upstream_node import UpstreamClient, device_json, running_upstream, standin_beside_upstream

pytestmark = pytest.mark.upstream

CONTENT = {"@type": "JSONWrapper", "title": "Einladung", "items": [1, 2.5, None, {"ok": True}], "1": "first"}
LOADED = {"1": "first", "title": "Einladung", "items": [1, 2.5, None, {"ok": True}]}  # as upstream keeps it


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamClient]:
    yield from running_upstream("UPSTREAM OWN-TOKEN CHECK")


@pytest.fixture
def standin(aws: Any, upstream: UpstreamClient, clock: FakeClock) -> Iterator[StandinBackbone]:
    yield from standin_beside_upstream(aws, upstream, clock)


def create_own(functions: Functions, body: dict[str, Any], prefix: str = "/api/v2") -> dict[str, Any]:
    response = functions.invoke("own_token", api_event(f"{prefix}/Tokens/Own", None, body=body))
    assert response["statusCode"] == 201, response["body"]
    dto: dict[str, Any] = json_body(response)["result"]
    return dto


@pytest.mark.parametrize("prefix", ["/api/v2", V7])
@pytest.mark.parametrize(
    "protection",
    [None, {"password": "s3cret pw"}, {"password": "4711", "passwordIsPin": True, "passwordLocationIndicator": 60}],
)
def test_the_upstream_loader_reads_the_content_that_was_sent(
    functions: Functions,
    standin: StandinBackbone,
    upstream: UpstreamClient,
    prefix: str,
    protection: dict[str, Any] | None,
) -> None:
    body: dict[str, Any] = {"content": CONTENT, "expiresAt": iso(future())}
    if protection:
        body["passwordProtection"] = protection
    remote = functions.against(standin)
    dto = create_own(remote, body, prefix)
    assert dto["content"] == LOADED
    assert dto["id"] in standin.tokens  # published on the Backbone, then kept here
    kept = remote.invoke("token_read", api_event(f"{prefix}/Tokens/{{id}}", dto["id"], method="GET"))
    assert json_body(kept)["result"] == dto
    password = protection["password"] if protection else None
    for reference in (dto["reference"]["url"], dto["reference"]["truncated"]):
        loaded = upstream.result("loadAnonymous", reference=reference, password=password)
        assert loaded["content"] == LOADED
        assert (loaded["id"], loaded["createdBy"], loaded["expiresAt"]) == (
            dto["id"],
            standin.device.address,
            dto["expiresAt"],
        )
    if protection:
        assert upstream.error("loadAnonymous", reference=dto["reference"]["url"])["code"] == (
            "error.transport.noPasswordProvided"
        )


@pytest.mark.parametrize("password", [None, "pw"])
def test_a_personalised_own_token_loads_for_its_identity_only(
    functions: Functions, standin: StandinBackbone, upstream: UpstreamClient, password: str | None
) -> None:
    intended, stranger = standin.add_device(), standin.add_device()
    body: dict[str, Any] = {"content": [{"a": 1}, "b"], "expiresAt": iso(future()), "forIdentity": intended.address}
    if password:
        body["passwordProtection"] = {"password": password}
    dto = create_own(functions.against(standin), body)
    url = dto["reference"]["url"]
    loaded = upstream.result("loadPeer", device=device_json(intended), reference=url, password=password)
    assert loaded["content"] == {"0": {"a": 1}, "1": "b"} == dto["content"]
    assert loaded["forIdentity"] == intended.address
    refused = upstream.error("loadPeer", device=device_json(stranger), reference=url, password=password)
    assert refused["code"] == "error.transport.general.notIntendedForYou"
