"""Tokens our remote mode creates, loaded by the upstream transport library; and our peer errors against its.

Remote mode runs through the real handlers against the stand-in Backbone (records in moto). The upstream
library's loaders (tests/upstream/backbone_client.mjs) must read what we publish, with and without password,
and find nothing after our revoke. `nmshd-tokens load` (local/peer.py) must refuse with the same code and
message as the upstream loader for every refusal a peer meets: wrong or missing password, locked, expired,
unknown or revoked, empty, not intended for you.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nmshd_tokens.config import BackboneCredentials
from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.crypto import generate_key
from nmshd_tokens.domain.encoding import b64url_encode
from nmshd_tokens.domain.errors import BackboneRefusal
from nmshd_tokens.domain.references import Reference, parse_reference
from nmshd_tokens.storage.remote_backbone import RemoteBackbone
from nmshd_tokens.storage.secrets import StaticCredentials
from nmshd_tokens_local.errors import CommandError
from nmshd_tokens_local.peer import BackboneError, load_token
from nmshd_tokens_local.standin_backbone import StandinBackbone

from tests.support import ROUTES, FakeClock, Functions, api_event, future, json_body
from tests.upstream_node import UpstreamClient, device_json, running_upstream, standin_beside_upstream

pytestmark = pytest.mark.upstream

Factory = Callable[..., Any]


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamClient]:
    yield from running_upstream("UPSTREAM REMOTE-MODE CHECK")


@pytest.fixture
def standin(aws: Any, upstream: UpstreamClient, clock: FakeClock) -> Iterator[StandinBackbone]:
    yield from standin_beside_upstream(aws, upstream, clock)


@pytest.fixture
def remote_mode(functions: Functions, standin: StandinBackbone) -> Functions:
    """The functions in remote mode against the stand-in, as its device."""
    return functions.against(standin)


def remote(standin: StandinBackbone) -> RemoteBackbone:
    """Our client as remote mode configures it, for the revoke the service's routes do not offer yet."""
    device = standin.device
    credentials = BackboneCredentials(device.client_id, device.client_secret, device.username, device.password)
    return RemoteBackbone(standin.base_url, StaticCredentials(credentials), records=None)  # type: ignore[arg-type]


def create(functions: Functions, name: str, path_id: str, body: Any = None) -> dict[str, Any]:
    response = functions.invoke(name, api_event(ROUTES[name][1], path_id, body=body, accept="application/json"))
    assert response["statusCode"] == 201, response
    dto: dict[str, Any] = json_body(response)["result"]
    return dto


def ours(reference: Reference, password: str | None = None, identity: str | None = None) -> tuple[str, str, Any]:
    """`nmshd-tokens load`'s refusal as (code, message, HTTP status or None)."""
    with pytest.raises(CommandError) as caught:
        load_token(reference, password, identity=identity, timeout=10)
    error = caught.value
    if isinstance(error, BackboneError):
        return error.code, error.message + (f" ({error.hint})" if error.hint else ""), error.status
    code, _, message = str(error).partition(": ")
    return code, message, None


def assert_agree(ours: tuple[str, str, Any], theirs: dict[str, Any]) -> None:
    """Same code and status; our message is upstream's, perhaps followed by a hint for the command line."""
    code, message, status = ours
    assert (code, status) == (theirs["code"], theirs.get("status")), (ours, theirs)
    assert message == theirs["message"] or message.startswith(theirs["message"] + " ("), (ours, theirs)


# --- what our remote mode publishes, the upstream loader reads ------------------------------------------


def test_a_file_token_loads_with_the_upstream_anonymous_loader(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, make_file: Factory
) -> None:
    file = make_file(future())
    dto = create(remote_mode, "file_token", file.id)
    for reference in (dto["reference"]["url"], dto["reference"]["truncated"]):
        loaded = upstream.result("loadAnonymous", reference=reference)
        assert loaded["content"] == {
            "@type": "TokenContentFile",
            "fileId": file.id,
            "secretKey": {"key": b64url_encode(file.secret_key), "alg": 3},
        }
        assert (loaded["id"], loaded["createdBy"]) == (dto["id"], standin.device.address)
        assert (loaded["createdAt"], loaded["expiresAt"]) == (dto["createdAt"], dto["expiresAt"])


def test_a_password_token_loads_with_the_right_password_only(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, make_file: Factory
) -> None:
    dto = create(remote_mode, "file_token", make_file(future()).id, {"passwordProtection": {"password": "s3cret pw"}})
    reference = dto["reference"]["url"]
    assert upstream.result("loadAnonymous", reference=reference, password="s3cret pw")["id"] == dto["id"]
    assert upstream.error("loadAnonymous", reference=reference, password="wrong")["status"] == 404
    assert upstream.error("loadAnonymous", reference=reference)["code"] == "error.transport.noPasswordProvided"


def test_a_pin_template_token_with_its_protection_in_the_content(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, make_template: Factory
) -> None:
    template = make_template(expires_at=future(), password="90715", pin=True, indicator=2)
    body = {"passwordProtection": {"password": "90715", "passwordIsPin": True, "passwordLocationIndicator": "Letter"}}
    dto = create(remote_mode, "template_token", template.id, body)
    loaded = upstream.result("loadAnonymous", reference=dto["reference"]["url"], password="90715")
    content = loaded["content"]
    assert (content["@type"], content["templateId"]) == ("TokenContentRelationshipTemplate", template.id)
    assert content["passwordProtection"]["passwordType"] == "pin5"
    assert content["passwordProtection"]["passwordLocationIndicator"] == 2
    assert content["passwordProtection"]["salt"] == b64url_encode(template.password_protection.salt)


def test_after_our_revoke_the_token_is_gone(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, make_file: Factory
) -> None:
    plain = create(remote_mode, "file_token", make_file(future()).id, {"ephemeral": False})
    protected = create(remote_mode, "file_token", make_file(future()).id, {"passwordProtection": {"password": "pw"}})
    client = remote(standin)
    for dto, password in ((plain, None), (protected, "pw")):
        assert upstream.result("loadAnonymous", reference=dto["reference"]["url"], password=password)
        client.delete_on_backbone(dto["id"])
        error = upstream.error("loadAnonymous", reference=dto["reference"]["url"], password=password)
        assert (error["code"], error["status"]) == ("error.platform.recordNotFound", 404)
        client.delete_on_backbone(dto["id"])  # the Backbone's 404: already gone, done
    assert standin.tokens == {}


def test_our_revoke_of_another_identitys_token_passes_the_403_through(
    standin: StandinBackbone, upstream: UpstreamClient
) -> None:
    other = standin.add_device()
    sent = upstream.result(
        "sendToken",
        device=device_json(other),
        content={
            "@type": "TokenContentFile",
            "fileId": "FILotherIdentity0001",
            "secretKey": {"key": b64url_encode(generate_key()), "alg": 3},
        },
        expiresAt=format_timestamp(datetime.now(UTC) + timedelta(days=1)),
        ephemeral=True,
    )
    with pytest.raises(BackboneRefusal) as caught:
        remote(standin).delete_on_backbone(sent["id"])
    assert (caught.value.status, caught.value.code) == (403, "error.platform.forbidden")
    assert sent["id"] in standin.tokens


# --- the peer's refusals: ours and the upstream loader's ------------------------------------------------


def test_password_refusals_agree(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, make_file: Factory
) -> None:
    dto = create(remote_mode, "file_token", make_file(future()).id, {"passwordProtection": {"password": "s3cret"}})
    url, reference = dto["reference"]["url"], parse_reference(dto["reference"]["url"])
    assert_agree(ours(reference), upstream.error("loadAnonymous", reference=url))
    assert_agree(ours(reference, "wrong"), upstream.error("loadAnonymous", reference=url, password="wrong"))
    token = standin.tokens[dto["id"]]
    assert token.failed_attempts == 2  # one wrong password each; a missing one never leaves the client
    for attempts in (99, 100):  # the attempt that locks the token, and any after it
        token.failed_attempts = attempts
        theirs = upstream.error("loadAnonymous", reference=url, password="wrong")
        token.failed_attempts = attempts
        assert_agree(ours(reference, "wrong"), theirs)
        assert theirs["code"] == "error.platform.token.tooManyFailedPasswordAttempts"
    assert_agree(ours(reference, "s3cret"), upstream.error("loadAnonymous", reference=url, password="s3cret"))


def test_expired_unknown_and_revoked_agree(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, make_file: Factory, clock: FakeClock
) -> None:
    expiring = create(remote_mode, "file_token", make_file(datetime.now(UTC) + timedelta(hours=1)).id)
    revoked = create(remote_mode, "file_token", make_file(future()).id)
    remote(standin).delete_on_backbone(revoked["id"])
    unknown = parse_reference(revoked["reference"]["url"])
    unknown = Reference("TOKunknown0000000000", unknown.key, unknown.backbone_base_url)
    clock.advance(2 * 3600)
    for reference in (
        parse_reference(expiring["reference"]["url"]),
        parse_reference(revoked["reference"]["url"]),
        unknown,
    ):
        theirs = upstream.error("loadAnonymous", reference=reference.url)
        assert theirs["code"] == "error.platform.recordNotFound"
        assert_agree(ours(reference), theirs)


def test_an_empty_token_is_refused_alike(standin: StandinBackbone, upstream: UpstreamClient) -> None:
    """An anonymous empty token (as a device onboarding creates): its creator, anonymous, reads no content."""
    answer = standin.handle(
        "POST",
        "/api/v2/Tokens",
        {"Content-Type": "application/json"},
        f'{{"expiresAt":"{format_timestamp(standin.clock() + timedelta(minutes=2))}"}}'.encode(),
    )
    assert answer.status == 201
    token_id = next(iter(standin.tokens))
    reference = Reference(token_id, generate_key(), standin.base_url)
    theirs = upstream.error("loadAnonymous", reference=reference.url)
    assert theirs["code"] == "error.transport.tokens.emptyToken"
    assert_agree(ours(reference), theirs)


def test_not_intended_for_you_agrees(
    remote_mode: Functions, standin: StandinBackbone, upstream: UpstreamClient, make_template: Factory
) -> None:
    intended, stranger = standin.add_device(), standin.add_device()
    template = make_template(expires_at=future(), for_identity=intended.address)
    dto = create(remote_mode, "template_token", template.id, {"forIdentity": intended.address})
    url, reference = dto["reference"]["url"], parse_reference(dto["reference"]["url"])
    calls = len(standin.calls)
    assert_agree(ours(reference), upstream.error("loadAnonymous", reference=url))
    theirs = upstream.error("loadPeer", device=device_json(stranger), reference=url)
    assert_agree(ours(reference, identity=stranger.address), theirs)
    assert theirs["code"] == "error.transport.general.notIntendedForYou"
    assert len(standin.calls) == calls  # both refuse before any request

    # The one remaining difference: the library loads as the intended identity, signed in; `load` has no
    # account, reads anonymously, and the Backbone answers an anonymous caller as if the token did not exist.
    assert upstream.result("loadPeer", device=device_json(intended), reference=url)["id"] == dto["id"]
    code, message, status = ours(reference, identity=intended.address)
    assert (code, status) == ("error.platform.recordNotFound", 404)
    assert "only to its identity, signed in" in message  # the hint says why
    assert standin.tokens[dto["id"]].failed_attempts == 0
