"""The remote Backbone client against the local stand-in (loopback only; every wait bounded)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from nmshd_tokens.config import BackboneCredentials
from nmshd_tokens.domain.crypto import decrypt_content, derive_password_hash, encrypt_content, generate_key
from nmshd_tokens.domain.errors import DomainError, ErrorKind
from nmshd_tokens.domain.ids import make_address as backbone_address
from nmshd_tokens.domain.tokens import Token, TokenDraft
from nmshd_tokens.storage.remote_backbone import (
    Answer,
    RemoteBackbone,
    RetryPolicy,
    Unreachable,
    jwt_claims,
    token_request_body,
)
from nmshd_tokens.storage.secrets import StaticCredentials
from nmshd_tokens.usecases.ports import TokenWrite
from nmshd_tokens_local.standin_backbone import StandinBackbone

from tests.support import FakeClock, token_draft

SALT = b"a16byteslongsalt"


@dataclass
class MemoryRecords:
    stored: dict[str, Token] = field(default_factory=dict)
    broken: bool = False

    def write_publication(self, write: TokenWrite, token: Token) -> None:
        if self.broken:
            raise RuntimeError("records table unavailable")
        self.stored[token.id] = token

    def delete_token(self, token_id: str) -> None:
        self.stored.pop(token_id, None)

    def get_token(self, token_id: str) -> Token | None:
        return self.stored.get(token_id)


@dataclass
class SilentTransport:
    """A Backbone that never answers: each attempt times out after the time it was given, on the fake clock."""

    clock: FakeClock
    timeouts: list[float] = field(default_factory=list)

    def request(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        self.timeouts.append(timeout)
        self.clock.advance(timeout)
        raise Unreachable("TimeoutError")


@dataclass
class Setup:
    standin: StandinBackbone
    clock: FakeClock
    records: MemoryRecords
    sleeps: list[float]

    def client(self, credentials: BackboneCredentials | None = None, **options: object) -> RemoteBackbone:
        retry = options.pop("retry", RetryPolicy(attempt_timeout=1.0, budget=4.0))
        return RemoteBackbone(
            self.standin.base_url,
            StaticCredentials(credentials or credentials_of(self.standin)),
            self.records,
            retry=retry,  # type: ignore[arg-type]
            clock=self.clock.monotonic,
            now=self.clock.now,
            **({"sleep": self.sleeps.append} | options),  # type: ignore[arg-type]
        )

    def calls(self, path: str) -> list[str]:
        """The bearer state of each call to `path`."""
        return [call.bearer for call in self.standin.calls if call.path == path]


def credentials_of(standin: StandinBackbone, **overrides: str) -> BackboneCredentials:
    device = standin.device
    values = {
        "client_id": device.client_id,
        "client_secret": device.client_secret,
        "username": device.username,
        "password": device.password,
    } | overrides
    return BackboneCredentials(**values)


@pytest.fixture
def setup() -> Iterator[Setup]:
    clock = FakeClock()
    with StandinBackbone(clock=clock.now) as standin:
        yield Setup(standin, clock, MemoryRecords(), [])


def draft_for(standin: StandinBackbone, **overrides: object) -> tuple[TokenDraft, bytes]:
    key = generate_key()
    values: dict[str, object] = {
        "content_cipher": encrypt_content(b'{"@type":"TokenContentFile"}', key),
        "created_by": standin.device.address,
        "created_by_device": standin.device.device_id,
        "expires_at": datetime.now(UTC) + timedelta(days=1),
    } | overrides
    return token_draft(**values), key  # type: ignore[arg-type]


def kept(draft: TokenDraft) -> TokenWrite:
    """A non-ephemeral token: its record is written after the Backbone accepted it."""
    return TokenWrite(TokenDraft(replace(draft.details, ephemeral=False), draft.content_cipher, draft.password_hash))


def refusal(call: object, *args: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


LOGIN = "/connect/token"
TOKENS = "/api/v2/Tokens"


# --- request format ----------------------------------------------------------------------------------


def test_request_body_has_the_transports_encodings() -> None:
    password_hash = derive_password_hash("password", SALT)
    draft = token_draft("Y2lwaGVy", "did:e:a.b:dids:x", "DVCx", datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    assert token_request_body(draft) == {"content": "Y2lwaGVy", "expiresAt": "2030-01-02T03:04:05.678Z"}
    personal = token_draft(draft.content_cipher, "a", "b", draft.details.expires_at, "did:e:x", password_hash)
    body = token_request_body(personal)
    assert body["forIdentity"] == "did:e:x"
    assert body["password"] == "ekuqHFfmPl4WctZWzhqJQx/m0A0aS0JeQF1vAVsbuZA="  # standard base64, padded


def test_publish_stores_content_and_hash_on_the_backbone(setup: Setup) -> None:
    password_hash = derive_password_hash("s3cret", SALT)
    for_identity = backbone_address("example.org")
    draft, key = draft_for(setup.standin, password_hash=password_hash, for_identity=for_identity)
    published = setup.client().publish(TokenWrite(draft))
    stored = setup.standin.tokens[published.id]
    assert stored.password == password_hash and stored.for_identity == for_identity
    assert stored.expires_at == draft.details.expires_at.replace(
        microsecond=draft.details.expires_at.microsecond // 1000 * 1000
    )
    assert base64.urlsafe_b64encode(stored.content or b"").decode().rstrip("=") == draft.content_cipher
    assert abs(published.created_at - setup.clock.now()) < timedelta(seconds=1)
    assert setup.records.stored == {}  # ephemeral: no record


# --- login and its renewal ---------------------------------------------------------------------------


def test_one_login_serves_many_calls(setup: Setup) -> None:
    client = setup.client()
    for _ in range(3):
        client.publish(TokenWrite(draft_for(setup.standin)[0]))
    assert setup.standin.logins == 1
    assert setup.calls(TOKENS) == ["valid"] * 3
    assert setup.standin.connections_opened == 1  # login and three creates on one kept-alive connection


def test_token_renewed_a_minute_before_it_expires(setup: Setup) -> None:
    client = setup.client()
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    setup.clock.advance(239)  # lifetime 300, margin min(60 s, 25 %) = 60 s
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    assert setup.standin.logins == 1
    setup.clock.advance(2)
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    assert setup.standin.logins == 2
    assert setup.calls(TOKENS) == ["valid"] * 3


def test_short_lifetimes_renew_at_three_quarters(setup: Setup) -> None:
    setup.standin.token_lifetime = 8
    client = setup.client()
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    setup.clock.advance(5.9)
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    assert setup.standin.logins == 1
    setup.clock.advance(0.2)
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    assert setup.standin.logins == 2


def test_a_stale_bearer_is_never_sent(setup: Setup) -> None:
    client = setup.client()
    for _ in range(30):
        client.publish(TokenWrite(draft_for(setup.standin)[0]))
        setup.clock.advance(37)  # walks across eight token lifetimes
    assert set(setup.calls(TOKENS)) == {"valid"}
    assert 1 < setup.standin.logins <= 6


def test_a_bearer_the_backbone_forgot_gets_one_new_login(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    client = setup.client()
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    setup.standin.revoke_access_tokens()  # e.g. its signing keys changed: our token is anonymous now
    published = client.publish(TokenWrite(draft_for(setup.standin)[0]))
    assert published.id in setup.standin.tokens
    assert setup.calls(TOKENS) == ["valid", "unknown", "valid"]
    assert setup.standin.logins == 2
    assert "treated the access token as anonymous" in caplog.text


def test_login_credentials_go_in_the_form(setup: Setup) -> None:
    client = setup.client()
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    token = client._token  # the cached session
    assert token is not None
    assert jwt_claims(token.bearer)["nmshd_address"] == setup.standin.device.address
    assert token.address == setup.standin.device.address and token.device_id == setup.standin.device.device_id


@pytest.mark.parametrize(
    ("overrides", "oauth_error"),
    [({"password": "wrong"}, "invalid_grant"), ({"client_secret": "wrong"}, "invalid_client")],
)
def test_a_refused_login_is_503_and_not_repeated_during_the_cool_down(
    setup: Setup, caplog: pytest.LogCaptureFixture, overrides: dict[str, str], oauth_error: str
) -> None:
    client = setup.client(credentials_of(setup.standin, **overrides))
    draft = draft_for(setup.standin)[0]
    assert refusal(client.publish, TokenWrite(draft)).kind is ErrorKind.SERVICE_UNAVAILABLE
    assert refusal(client.publish, TokenWrite(draft)).kind is ErrorKind.SERVICE_UNAVAILABLE
    assert len(setup.calls(LOGIN)) == 1  # the second call did not try: three wrong passwords lock the device
    assert any(getattr(record, "oauth_error", None) == oauth_error for record in caplog.records)
    setup.clock.advance(301)
    refusal(client.publish, TokenWrite(draft))
    assert len(setup.calls(LOGIN)) == 2
    assert setup.calls(TOKENS) == []


def test_a_locked_out_device_is_503(setup: Setup) -> None:
    wrong = setup.client(credentials_of(setup.standin, password="wrong"), refusal_cooldown=0)
    for _ in range(3):
        refusal(wrong.publish, TokenWrite(draft_for(setup.standin)[0]))
    error = refusal(setup.client().publish, TokenWrite(draft_for(setup.standin)[0]))  # the right password, locked
    assert error.kind is ErrorKind.SERVICE_UNAVAILABLE


def test_identity_mismatch_is_logged(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    draft = draft_for(setup.standin, created_by=backbone_address("other.org"))[0]
    setup.client().publish(TokenWrite(draft))
    assert "SERVICE_ADDRESS or SERVICE_DEVICE_ID differ" in caplog.text


# --- retries -----------------------------------------------------------------------------------------


def test_5xx_is_retried_with_jittered_backoff(setup: Setup) -> None:
    setup.standin.fail_next(2, 503, route="tokens")
    published = setup.client().publish(TokenWrite(draft_for(setup.standin)[0]))
    assert published.id in setup.standin.tokens
    assert len(setup.sleeps) == 2
    assert 0 <= setup.sleeps[0] <= 0.2 and 0 <= setup.sleeps[1] <= 0.4  # full jitter under 0.2 · 2^n


def test_retries_stop_after_three_attempts(setup: Setup) -> None:
    setup.standin.fail_next(5, 500, route="tokens")
    error = refusal(setup.client().publish, TokenWrite(draft_for(setup.standin)[0]))
    assert (error.kind, error.status) == (ErrorKind.SERVICE_UNAVAILABLE, 503)
    assert len(setup.calls(TOKENS)) == 3
    assert setup.standin.tokens == {}


def test_login_is_retried_too(setup: Setup) -> None:
    setup.standin.fail_next(2, 502, route="login")
    setup.client().publish(TokenWrite(draft_for(setup.standin)[0]))
    assert len(setup.calls(LOGIN)) == 3 and setup.standin.logins == 1


def test_a_timeout_is_retried(setup: Setup) -> None:
    held = setup.standin.hold_next(1, route="tokens")
    client = setup.client(retry=RetryPolicy(attempt_timeout=0.2, budget=3.0))
    try:
        published = client.publish(TokenWrite(draft_for(setup.standin)[0]))
        assert not held.is_set()  # the first attempt's answer is still held back: the client gave up waiting
    finally:
        held.set()
    assert published.id in setup.standin.tokens
    assert len(setup.calls(TOKENS)) == 2 and len(setup.sleeps) == 1


def test_the_whole_call_stays_within_its_budget(setup: Setup) -> None:
    transport = SilentTransport(setup.clock)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        setup.clock.advance(seconds)

    policy = RetryPolicy(attempts=5, attempt_timeout=0.3, budget=0.8, base_delay=0.0)  # no pauses: exact times
    client = setup.client(transport=transport, retry=policy, sleep=sleep)
    started = setup.clock.monotonic()
    assert refusal(client.publish, TokenWrite(draft_for(setup.standin)[0])).status == 503
    assert setup.clock.monotonic() - started == pytest.approx(0.8)
    assert transport.timeouts == pytest.approx([0.3, 0.3, 0.2])  # the last attempt gets what remains, then none


def test_the_budget_counts_the_pauses_between_attempts(setup: Setup) -> None:
    transport = SilentTransport(setup.clock)

    def sleep(seconds: float) -> None:
        setup.clock.advance(seconds)

    policy = RetryPolicy(attempts=50, attempt_timeout=0.3, budget=2.0, base_delay=0.5, max_delay=0.5)
    client = setup.client(transport=transport, retry=policy, sleep=sleep)
    started = setup.clock.monotonic()
    assert refusal(client.publish, TokenWrite(draft_for(setup.standin)[0])).status == 503
    assert setup.clock.monotonic() - started <= 2.0 + 1e-9
    assert 2 <= len(transport.timeouts) < 50


def test_an_unreachable_backbone_is_503(setup: Setup) -> None:
    setup.standin.stop()
    assert refusal(setup.client().publish, TokenWrite(draft_for(setup.standin)[0])).status == 503
    assert len(setup.sleeps) == 2


def test_a_closed_idle_connection_is_reopened_without_a_retry(setup: Setup) -> None:
    client = setup.client()
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    setup.standin.drop_connections()  # as a server closes kept-alive connections that were idle too long
    client.publish(TokenWrite(draft_for(setup.standin)[0]))
    assert setup.sleeps == [] and len(setup.standin.tokens) == 2
    assert setup.standin.connections_opened == 2


# --- Backbone errors ---------------------------------------------------------------------------------


def test_quota_exhausted_is_429(setup: Setup) -> None:
    setup.standin.quota_exhausted = True
    error = refusal(setup.client().publish, kept(draft_for(setup.standin)[0]))
    assert (error.kind, error.status, error.code) == (ErrorKind.QUOTA_EXHAUSTED, 429, "error.platform.quotaExhausted")
    assert error.message == "You cannot do this because your quota for this action is exhausted."
    assert setup.records.stored == {} and setup.sleeps == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"for_identity": "did:e:localhost:dids:0123456789abcdef012345"},  # our pattern, but a wrong checksum
            "'forIdentity': The ID or Address is not valid. Check length, prefix and the used characters.",
        ),
        ({"expires_at": datetime.now(UTC) - timedelta(seconds=5)}, "'expiresAt' must be in the future."),
    ],
)
def test_validation_errors_pass_through(setup: Setup, overrides: dict[str, object], message: str) -> None:
    error = refusal(setup.client().publish, kept(draft_for(setup.standin, **overrides)[0]))
    assert (error.status, error.code, error.message) == (400, "error.platform.validation.invalidPropertyValue", message)
    assert error.envelope()["error"]["code"] == "error.platform.validation.invalidPropertyValue"
    assert setup.records.stored == {}


# --- the local record --------------------------------------------------------------------------------


def test_a_kept_token_is_recorded_after_the_backbone_accepted_it(setup: Setup) -> None:
    published = setup.client().publish(kept(draft_for(setup.standin)[0]))
    assert list(setup.records.stored) == [published.id]
    assert published.id in setup.standin.tokens


def test_a_failed_record_write_is_503_and_leaves_the_token_on_the_backbone(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    setup.records.broken = True
    error = refusal(setup.client().publish, kept(draft_for(setup.standin)[0]))
    assert error.status == 503
    assert len(setup.standin.tokens) == 1  # the orphan: nobody has its key; it expires
    assert [getattr(record, "token_id", None) for record in caplog.records] == list(setup.standin.tokens)


def test_a_backbone_failure_writes_no_record(setup: Setup) -> None:
    setup.standin.fail_next(3, 503, route="tokens")
    refusal(setup.client().publish, kept(draft_for(setup.standin)[0]))
    assert setup.records.stored == {}


# --- the peer side -----------------------------------------------------------------------------------


def test_fetch_for_peer_is_anonymous_and_decrypts(setup: Setup) -> None:
    password_hash = derive_password_hash("s3cret", SALT)
    draft, key = draft_for(setup.standin, password_hash=password_hash)
    client = setup.client()
    published = client.publish(TokenWrite(draft))
    result = client.fetch_for_peer(published.id, password_hash)
    assert setup.standin.calls[-1].bearer == "none"  # as the owner it would skip every check
    assert json.loads(decrypt_content(result["content"], key)) == {"@type": "TokenContentFile"}
    assert result["createdBy"] == setup.standin.device.address and result["isPasswordProtected"] is True


def test_fetch_for_peer_errors(setup: Setup) -> None:
    password_hash = derive_password_hash("s3cret", SALT)
    client = setup.client()
    token_id = client.publish(TokenWrite(draft_for(setup.standin, password_hash=password_hash)[0])).id
    assert refusal(client.fetch_for_peer, token_id, b"w" * 32).kind is ErrorKind.TOKEN_NOT_FOUND
    assert refusal(client.fetch_for_peer, token_id, None).kind is ErrorKind.TOKEN_NOT_FOUND
    assert refusal(client.fetch_for_peer, "TOKunknown0000000000", None).kind is ErrorKind.TOKEN_NOT_FOUND
    setup.standin.tokens[token_id].failed_attempts = 99
    assert refusal(client.fetch_for_peer, token_id, b"w" * 32).kind is ErrorKind.TOKEN_LOCKED
    assert refusal(client.fetch_for_peer, token_id, password_hash).kind is ErrorKind.TOKEN_LOCKED


def test_exists_answers_from_our_records_without_asking_the_backbone(setup: Setup) -> None:
    client = setup.client()
    protected = draft_for(setup.standin, password_hash=derive_password_hash("s3cret", SALT))[0]
    token_id = client.publish(kept(protected)).id
    ephemeral = client.publish(TokenWrite(draft_for(setup.standin)[0])).id
    short = client.publish(kept(draft_for(setup.standin, expires_at=setup.clock.now() + timedelta(seconds=1))[0])).id
    other = setup.standin.add_device()
    theirs = setup.client(credentials_of(setup.standin, username=other.username, password=other.password))
    foreign = theirs.publish(TokenWrite(draft_for(setup.standin, created_by=other.address, password_hash=b"h" * 32)[0]))
    calls = len(setup.standin.calls)
    setup.standin.tokens[token_id].failed_attempts = 100  # locked on the Backbone

    assert client.exists(token_id) is True  # a kept token of ours: the page says "open it with the app"
    assert client.exists(short) is True
    assert client.exists(ephemeral) is False  # no record
    assert client.exists(foreign.id) is False  # another identity's token: not ours to look at
    assert client.exists("TOKunknown0000000000") is False
    setup.clock.advance(2)
    assert client.exists(short) is False  # expired
    assert len(setup.standin.calls) == calls  # not one request: no login, no read, nothing counted or allocated
    assert (
        setup.standin.tokens[foreign.id].failed_attempts == 0 and setup.standin.tokens[foreign.id].allocations == set()
    )


def test_nothing_secret_is_logged(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password_hash = derive_password_hash("s3cret", SALT)
    draft = draft_for(setup.standin, password_hash=password_hash)[0]
    setup.standin.fail_next(2, 503)
    client = setup.client()
    token_id = client.publish(TokenWrite(draft)).id
    refusal(client.fetch_for_peer, token_id, b"w" * 32)
    refusal(setup.client(credentials_of(setup.standin, password="wrong-password")).publish, TokenWrite(draft))
    device = setup.standin.device
    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    secrets = [device.password, device.client_secret, "wrong-password", draft.content_cipher]
    secrets += [base64.b64encode(password_hash).decode(), base64.b64encode(b"w" * 32).decode()]
    assert caplog.records and not [secret for secret in secrets if secret in logged]
    assert client._token is not None and client._token.bearer not in logged
