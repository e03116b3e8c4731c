"""The upstream transport library (@nmshd/transport 7.0.0, pinned in tests/upstream) against the stand-in Backbone.

Its own Backbone clients do what a Connector does, signed in with a device's credentials through its own
AuthClient (tests/upstream/backbone_client.mjs explains the harness): version check, login, create, anonymous
and signed-in loads, wrong passwords up to the lock, delete. Whatever the library accepts, the stand-in must
answer as the real Backbone does (notes backbone-api.md and the Backbone's source decide).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash, generate_key
from nmshd_tokens.domain.encoding import b64_encode, b64url_encode
from nmshd_tokens.domain.references import parse_reference
from nmshd_tokens_local.standin_backbone import NOT_FOUND_MESSAGE, StandinBackbone, StandinDevice

from tests.support import FakeClock
from tests.upstream_node import UpstreamClient, device_json, running_upstream

pytestmark = pytest.mark.upstream

NOT_FOUND = ("error.platform.recordNotFound", NOT_FOUND_MESSAGE, 404)
LOCKED = (
    "error.platform.token.tooManyFailedPasswordAttempts",
    "Too many wrong password attempts, the token is locked.",
    400,
)
FORBIDDEN = (
    "error.platform.forbidden",
    "You are not allowed to perform this action due to insufficient privileges.",
    403,
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamClient]:
    yield from running_upstream("UPSTREAM BACKBONE CLIENT CHECK")


@pytest.fixture
def standin(clock: FakeClock, upstream: UpstreamClient) -> Iterator[StandinBackbone]:
    with StandinBackbone(clock=clock.now) as backbone:
        upstream.configure(backbone)
        yield backbone


def file_content() -> dict[str, Any]:
    return {
        "@type": "TokenContentFile",
        "fileId": "FIL" + b64url_encode(generate_key())[:17].replace("-", "a").replace("_", "b"),
        "secretKey": {"key": b64url_encode(generate_key()), "alg": 3},
    }


def send(
    upstream: UpstreamClient,
    device: StandinDevice,
    clock: FakeClock,
    content: dict[str, Any] | None = None,
    lifetime: timedelta = timedelta(days=1),
    **options: Any,
) -> dict[str, Any]:
    """TokenController.sendToken, as the Connector's Create Token use cases call it."""
    result: dict[str, Any] = upstream.result(
        "sendToken",
        device=device_json(device),
        content=content or file_content(),
        expiresAt=format_timestamp(clock.now() + lifetime),
        ephemeral=options.pop("ephemeral", True),
        **options,
    )
    return result


def refusal(error: dict[str, Any]) -> tuple[str, str, int | None]:
    return error["code"], error["message"], error.get("status")


def paths(standin: StandinBackbone, method: str) -> list[tuple[str, str]]:
    """(path, bearer state) of each call with this method."""
    return [(call.path, call.bearer) for call in standin.calls if call.method == method]


# --- version and login -------------------------------------------------------------------------------


def test_the_version_check_finds_a_compatible_backbone(standin: StandinBackbone, upstream: UpstreamClient) -> None:
    assert upstream.result("version") == {
        "isCompatible": True,
        "backboneVersion": "7",
        "supportedMinBackboneVersion": 6,
        "supportedMaxBackboneVersion": 7,
    }
    assert paths(standin, "GET") == [("/api/v2/Version", "none")]


def test_device_login_with_the_library_s_own_auth_client(standin: StandinBackbone, upstream: UpstreamClient) -> None:
    standin.token_lifetime = 120
    result = upstream.result("login", device=device_json(standin.device))
    expiry = datetime.fromisoformat(result["expiry"])
    assert abs(expiry - (datetime.now(UTC) + timedelta(seconds=120))) < timedelta(seconds=30)  # from expires_in
    assert standin.logins == 1 and paths(standin, "POST") == [("/connect/token", "none")]


def test_login_refusals_as_the_library_reports_them(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    wrong = replace(standin.device, password=standin.device.password + "x")
    error = upstream.error("login", device=device_json(wrong))
    assert (error["code"], error["status"]) == ("error.transport.request.noAuthGrant", 400)  # invalid_grant
    upstream.result(
        "configure", baseUrl=standin.base_url, clientId=standin.device.client_id, clientSecret="not-the-secret"
    )
    error = upstream.error("login", device=device_json(standin.device))
    assert (error["code"], error["status"]) == ("error.transport.request.noAuthPossible", 401)  # invalid_client
    upstream.configure(standin)
    for _ in range(2):  # with the first one above: three wrong passwords lock the device
        upstream.error("login", device=device_json(wrong))
    error = upstream.error("login", device=device_json(standin.device))  # the right password, locked out
    assert (error["code"], error["status"]) == ("error.transport.request.noAuthGrant", 400)
    clock.advance(10 * 60)
    upstream.result("login", device=device_json(standin.device))
    assert standin.logins == 1


# --- create and load ---------------------------------------------------------------------------------


def test_create_then_load_anonymously_and_as_the_owner(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    owner, content = standin.device, file_content()
    sent = send(upstream, owner, clock, content, ephemeral=False)
    stored = standin.tokens[sent["id"]]
    assert (stored.created_by, stored.created_by_device) == (owner.address, owner.device_id)
    key = parse_reference(sent["reference"]["url"]).key  # our parser reads the library's reference
    assert stored.content is not None
    assert json.loads(decrypt_content(b64url_encode(stored.content), key)) == {
        "@type": "TokenContentFile",
        "fileId": content["fileId"],
        "secretKey": content["secretKey"],
    }

    for reference in (sent["reference"]["url"], sent["reference"]["truncated"]):
        loaded = upstream.result("loadAnonymous", reference=reference)
        assert loaded["content"]["fileId"] == content["fileId"]
        assert loaded["content"]["secretKey"]["key"] == content["secretKey"]["key"]
        assert (loaded["createdBy"], loaded["createdByDevice"]) == (owner.address, owner.device_id)
        assert (loaded["createdAt"], loaded["expiresAt"]) == (sent["createdAt"], sent["expiresAt"])

    dto = upstream.result("getToken", device=device_json(owner), id=sent["id"])
    assert list(dto) == [
        "id",
        "createdBy",
        "createdByDevice",
        "forIdentity",
        "createdAt",
        "expiresAt",
        "content",
        "isPasswordProtected",
    ]
    assert dto["isPasswordProtected"] is False and dto["content"] == b64url_encode(stored.content)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", dto[key]) for key in ("createdAt", "expiresAt"))

    peer = standin.add_device()  # another identity, signed in: the Backbone allocates the token to it
    assert upstream.result("loadPeer", device=device_json(peer), reference=sent["reference"]["url"])["id"] == sent["id"]
    assert stored.allocations == {peer.address}
    gets = paths(standin, "GET")
    assert [bearer for _, bearer in gets] == ["none", "none", "valid", "valid"]


def test_password_protected_token_with_right_and_wrong_passwords_up_to_the_lock(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    owner = standin.device
    sent = send(upstream, owner, clock, passwordProtection={"password": "1234", "passwordType": "pin4"})
    reference, token = sent["reference"]["url"], standin.tokens[sent["id"]]
    protection = parse_reference(reference).password_protection
    assert protection is not None and protection.password_type == "pin4"
    assert token.password == derive_password_hash("1234", protection.salt)  # the library's Argon2id, stored

    error = upstream.error("loadAnonymous", reference=reference)
    assert error["code"] == "error.transport.noPasswordProvided" and token.failed_attempts == 0  # no request
    assert refusal(upstream.error("loadAnonymous", reference=reference, password="4321")) == NOT_FOUND
    assert token.failed_attempts == 1
    assert upstream.result("loadAnonymous", reference=reference, password="1234")["id"] == sent["id"]
    assert token.failed_attempts == 1  # a success neither counts nor resets

    token.failed_attempts = 97
    for expected in (NOT_FOUND, NOT_FOUND, LOCKED):  # the 98th, 99th and 100th failure
        assert refusal(upstream.error("loadAnonymous", reference=reference, password="0000")) == expected
    assert refusal(upstream.error("loadAnonymous", reference=reference, password="1234")) == LOCKED
    hash_of_right = b64_encode(derive_password_hash("1234", protection.salt))
    assert refusal(upstream.error("getToken", id=sent["id"], password=hash_of_right)) == LOCKED
    assert upstream.result("getToken", device=device_json(owner), id=sent["id"])["isPasswordProtected"] is True
    assert token.failed_attempts == 100


def test_personalised_token(standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock) -> None:
    intended, stranger = standin.add_device(), standin.add_device()
    sent = send(upstream, standin.device, clock, forIdentity=intended.address)
    reference = sent["reference"]["url"]
    assert parse_reference(reference).for_identity_truncated == intended.address[-4:]
    calls = len(standin.calls)
    for error in (
        upstream.error("loadAnonymous", reference=reference),
        upstream.error("loadPeer", device=device_json(stranger), reference=reference),
    ):
        assert error["code"] == "error.transport.general.notIntendedForYou"
    assert len(standin.calls) == calls  # the library refuses before it asks (or even logs in)
    assert upstream.result("loadPeer", device=device_json(intended), reference=reference)["id"] == sent["id"]
    # Past the library's own check, the Backbone answers a stranger as if the token did not exist.
    assert refusal(upstream.error("getToken", device=device_json(stranger), id=sent["id"])) == NOT_FOUND
    assert refusal(upstream.error("getToken", id=sent["id"])) == NOT_FOUND
    assert standin.tokens[sent["id"]].failed_attempts == 0


def test_an_expired_token_is_gone_for_peers_but_not_for_its_owner(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    sent = send(upstream, standin.device, clock, lifetime=timedelta(hours=1))
    clock.advance(2 * 3600)
    assert refusal(upstream.error("loadAnonymous", reference=sent["reference"]["url"])) == NOT_FOUND
    # The library's bearer outlived the stand-in's clock: a stale bearer makes the owner anonymous, as on the
    # real Backbone, where the token routes allow anonymous callers. A new login makes it the owner again.
    assert refusal(upstream.error("getToken", device=device_json(standin.device), id=sent["id"])) == NOT_FOUND
    upstream.result("login", device=device_json(standin.device))
    assert upstream.result("getToken", device=device_json(standin.device), id=sent["id"])["id"] == sent["id"]


# --- delete ------------------------------------------------------------------------------------------


def test_delete_by_the_owner_another_identity_and_for_an_unknown_id(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    owner, other = standin.device, standin.add_device()
    sent = send(upstream, owner, clock)
    assert refusal(upstream.error("deleteToken", device=device_json(other), id=sent["id"])) == FORBIDDEN
    assert sent["id"] in standin.tokens
    assert refusal(upstream.error("deleteToken", device=device_json(owner), id="TOKunknown0000000000")) == NOT_FOUND
    assert upstream.result("deleteToken", device=device_json(owner), id=sent["id"]) == {}  # 204
    assert sent["id"] not in standin.tokens
    assert refusal(upstream.error("loadAnonymous", reference=sent["reference"]["url"])) == NOT_FOUND
    assert refusal(upstream.error("deleteToken", device=device_json(owner), id=sent["id"])) == NOT_FOUND
    error = upstream.error("deleteToken", device=device_json(owner), id="FILaaaaaaaaaaaaaaaa1")
    assert refusal(error) == (
        "error.platform.validation.invalidPropertyValue",
        "'id': The ID or Address is not valid. Check length, prefix and the used characters.",
        400,
    )


def test_the_connectors_revoke_deletes_on_the_backbone_then_locally(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    sent = send(upstream, standin.device, clock, ephemeral=False)
    assert upstream.result("deleteOwn", device=device_json(standin.device), id=sent["id"]) == {
        "deleted": True,
        "keptLocally": False,
    }
    assert standin.tokens == {}


def test_delete_is_hard_even_for_expired_and_locked_tokens(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    expiring = send(upstream, standin.device, clock, lifetime=timedelta(hours=1))
    locked = send(upstream, standin.device, clock, passwordProtection={"password": "pw", "passwordType": "pw"})
    standin.tokens[locked["id"]].failed_attempts = 100
    clock.advance(2 * 3600)
    upstream.result("login", device=device_json(standin.device))  # the stand-in's clock outran the bearer
    for sent in (expiring, locked):
        assert upstream.result("deleteToken", device=device_json(standin.device), id=sent["id"]) == {}
    assert standin.tokens == {}


def test_a_bearer_the_backbone_forgot_is_401_on_delete_and_the_library_logs_in_again(
    standin: StandinBackbone, upstream: UpstreamClient, clock: FakeClock
) -> None:
    sent = send(upstream, standin.device, clock)
    standin.revoke_access_tokens()
    assert upstream.result("deleteToken", device=device_json(standin.device), id=sent["id"]) == {}
    assert paths(standin, "DELETE") == [(f"/api/v2/Tokens/{sent['id']}", "unknown")] + [
        (f"/api/v2/Tokens/{sent['id']}", "valid")
    ]
    assert standin.logins == 2
