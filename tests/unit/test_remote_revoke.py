"""The remote Backbone client's revoke and health probes against the local stand-in (loopback only)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from nmshd_tokens.config import BackboneCredentials
from nmshd_tokens.domain.crypto import derive_password_hash, encrypt_content, generate_key
from nmshd_tokens.domain.errors import BackboneRefusal, DomainError, ErrorKind
from nmshd_tokens.domain.tokens import Token
from nmshd_tokens.storage.remote_backbone import RemoteBackbone, RetryPolicy
from nmshd_tokens.storage.secrets import StaticCredentials
from nmshd_tokens.usecases.ports import TokenWrite
from nmshd_tokens_local.standin_backbone import StandinBackbone, StandinDevice

from tests.support import FakeClock, token_draft

TOKENS = "/api/v2/Tokens"


class NoRecords:
    def write_publication(self, write: TokenWrite, token: Token) -> None:
        raise AssertionError("these tests publish ephemeral tokens only")

    def delete_token(self, token_id: str) -> None:
        raise AssertionError("these tests delete on the Backbone only")


@dataclass
class Setup:
    standin: StandinBackbone
    clock: FakeClock
    sleeps: list[float]

    def client(self, device: StandinDevice | None = None, password: str | None = None) -> RemoteBackbone:
        device = device or self.standin.device
        credentials = BackboneCredentials(
            device.client_id, device.client_secret, device.username, password or device.password
        )
        return RemoteBackbone(
            self.standin.base_url,
            StaticCredentials(credentials),
            NoRecords(),
            retry=RetryPolicy(attempt_timeout=1.0, budget=4.0),
            clock=self.clock.monotonic,
            sleep=self.sleeps.append,
        )

    def token(self, device: StandinDevice | None = None, **overrides: object) -> str:
        """A token of `device` (by default the service's), created by our client."""
        device = device or self.standin.device
        values: dict[str, object] = {
            "content_cipher": encrypt_content(b'{"@type":"TokenContentFile"}', generate_key()),
            "created_by": device.address,
            "created_by_device": device.device_id,
            "expires_at": self.clock.now() + timedelta(days=1),
        } | overrides
        return self.client(device).publish(TokenWrite(token_draft(**values))).id  # type: ignore[arg-type]

    def deletes(self) -> list[str]:
        """The bearer state of each DELETE."""
        return [call.bearer for call in self.standin.calls if call.method == "DELETE"]


@pytest.fixture
def setup() -> Iterator[Setup]:
    clock = FakeClock()
    with StandinBackbone(clock=clock.now) as standin:
        yield Setup(standin, clock, [])


def refusal(call: object, *args: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


# --- revoke ------------------------------------------------------------------------------------------


def test_revoke_deletes_our_token(setup: Setup) -> None:
    token_id = setup.token()
    setup.client().delete_on_backbone(token_id)
    assert setup.standin.tokens == {}
    assert [(call.method, call.path) for call in setup.standin.calls][-1] == ("DELETE", f"{TOKENS}/{token_id}")
    assert setup.deletes() == ["valid"]


def test_revoke_of_a_token_the_backbone_forgot_returns_normally(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    token_id = setup.token()
    client = setup.client()
    client.delete_on_backbone(token_id)
    client.delete_on_backbone(token_id)  # deleted before
    client.delete_on_backbone("TOKunknown0000000000")
    assert setup.deletes() == ["valid"] * 3
    assert [record.levelno for record in caplog.records if "no longer knows" in record.getMessage()] == [
        logging.INFO
    ] * 2


def test_revoke_of_another_identitys_token_passes_the_403_through(setup: Setup) -> None:
    other = setup.standin.add_device()
    token_id = setup.token(other)
    error = refusal(setup.client().delete_on_backbone, token_id)
    assert isinstance(error, BackboneRefusal)
    assert (error.status, error.code, error.message) == (
        403,
        "error.platform.forbidden",
        "You are not allowed to perform this action due to insufficient privileges.",
    )
    envelope = error.envelope()["error"]
    assert (envelope["code"], envelope["message"]) == (error.code, error.message)
    assert token_id in setup.standin.tokens


def test_revoke_of_an_identitys_token_by_its_other_device(setup: Setup) -> None:
    second = setup.standin.add_device(address=setup.standin.device.address)
    token_id = setup.token()
    setup.client(second).delete_on_backbone(token_id)  # the creator is the identity, not the device
    assert setup.standin.tokens == {}


def test_revoke_with_a_malformed_id_passes_the_400_through(setup: Setup) -> None:
    error = refusal(setup.client().delete_on_backbone, "TOK" + "a" * 18)
    assert (error.status, error.code) == (400, "error.platform.validation.invalidPropertyValue")
    assert error.message.startswith("'id': The ID or Address is not valid.")


def test_revoke_even_of_an_expired_and_locked_token(setup: Setup) -> None:
    token_id = setup.token(
        password_hash=derive_password_hash("pw", b"a16byteslongsalt"),
        expires_at=setup.clock.now() + timedelta(hours=1),
    )
    setup.standin.tokens[token_id].failed_attempts = 100
    setup.clock.advance(2 * 3600)  # expired; the access token renewed on the way
    setup.client().delete_on_backbone(token_id)
    assert setup.standin.tokens == {}


def test_a_bearer_the_backbone_forgot_gets_one_new_login(setup: Setup) -> None:
    token_id = setup.token()
    client = setup.client()
    client.check_login()
    setup.standin.revoke_access_tokens()  # a DELETE with it is 401: the route is not anonymous
    client.delete_on_backbone(token_id)
    assert setup.deletes() == ["unknown", "valid"]
    assert setup.standin.tokens == {}


def test_revoke_retries_5xx_and_gives_up_with_503(setup: Setup) -> None:
    kept, failing = setup.token(), setup.token()
    setup.standin.fail_next(2, 503, route="tokens")
    setup.client().delete_on_backbone(kept)
    assert setup.standin.tokens.keys() == {failing} and len(setup.sleeps) == 2
    setup.standin.fail_next(3, 502, route="tokens")
    error = refusal(setup.client().delete_on_backbone, failing)
    assert (error.kind, error.status) == (ErrorKind.SERVICE_UNAVAILABLE, 503)
    assert failing in setup.standin.tokens


def test_a_404_without_the_backbones_envelope_is_not_already_gone(setup: Setup) -> None:
    token_id = setup.token()
    setup.standin.fail_next(1, 404, route="tokens")  # say, a proxy in front that does not know the route
    assert refusal(setup.client().delete_on_backbone, token_id).status == 503


def test_revoke_with_a_refused_login_is_503(setup: Setup) -> None:
    token_id = setup.token()
    error = refusal(setup.client(password="wrong").delete_on_backbone, token_id)
    assert error.status == 503 and token_id in setup.standin.tokens


def test_revoke_logs_nothing_secret(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    other = setup.standin.add_device()
    mine, theirs = setup.token(), setup.token(other)
    client = setup.client()
    client.delete_on_backbone(mine)
    refusal(client.delete_on_backbone, theirs)
    setup.standin.revoke_access_tokens()
    client.delete_on_backbone(mine)
    device = setup.standin.device
    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    assert caplog.records
    assert device.password not in logged and device.client_secret not in logged
    assert client._token is not None and client._token.bearer not in logged
    assert base64.b64encode(derive_password_hash("pw", b"a16byteslongsalt")).decode() not in logged


# --- health ------------------------------------------------------------------------------------------


def test_check_version(setup: Setup) -> None:
    client = setup.client()
    assert client.check_version() is True
    setup.standin.major_version = "8"  # the transport library supports 6 and 7
    assert client.check_version() is False
    setup.standin.major_version = "7"
    setup.standin.fail_next(1, 503)
    assert client.check_version() is False
    versions = [call for call in setup.standin.calls if call.path == "/api/v2/Version"]
    assert len(versions) == 3 and setup.sleeps == []  # one call each, no retry
    setup.standin.stop()  # (its kept-alive connections outlive it: a new client)
    assert setup.client().check_version(timeout=1.0) is False


def test_check_login(setup: Setup) -> None:
    client = setup.client()
    assert client.check_login() is True
    assert client.check_login() is True  # the held access token counts: no second login
    assert setup.standin.logins == 1
    wrong = setup.client(password="wrong")
    assert wrong.check_login() is False
    assert wrong.check_login() is False  # the cool-down: no second wrong password sent
    logins = [call for call in setup.standin.calls if call.path == "/connect/token"]
    assert len(logins) == 2
