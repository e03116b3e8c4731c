"""The local Backbone stand-in, spoken to over plain HTTP as a Backbone client would (notes backbone-api.md)."""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from nmshd_tokens.domain.ids import is_backbone_address
from nmshd_tokens.domain.ids import make_address as backbone_address
from nmshd_tokens_local.standin_backbone import NOT_FOUND_MESSAGE, StandinBackbone, device_password

from tests.support import FakeClock


@pytest.fixture
def standin(clock: FakeClock) -> Iterator[StandinBackbone]:
    with StandinBackbone(clock=clock.now) as backbone:
        yield backbone


def call(
    standin: StandinBackbone,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    connection = http.client.HTTPConnection(standin.host, standin.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        answer = json.loads(raw) if raw and "json" in (response.getheader("Content-Type") or "") else raw
        return response.status, answer, dict(response.getheaders())
    finally:
        connection.close()


def login(standin: StandinBackbone, **overrides: str) -> tuple[int, Any]:
    device = standin.device
    form = {
        "client_id": device.client_id,
        "client_secret": device.client_secret,
        "grant_type": "password",
        "username": device.username,
        "password": device.password,
    } | overrides
    status, answer, _ = call(
        standin,
        "POST",
        "/connect/token",
        urlencode(form).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    return status, answer


def bearer(standin: StandinBackbone) -> str:
    status, answer = login(standin)
    assert status == 200
    return str(answer["access_token"])


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def post_token(standin: StandinBackbone, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, answer, _ = call(standin, "POST", "/api/v2/Tokens", json.dumps(body).encode(), headers)
    return status, answer


def get_token(
    standin: StandinBackbone, token_id: str, password: bytes | None = None, token: str | None = None
) -> tuple[int, Any]:
    path = f"/api/v2/Tokens/{token_id}"
    if password is not None:
        path += "?password=" + quote(base64.b64encode(password).decode(), safe="")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, answer, _ = call(standin, "GET", path, headers=headers)
    return status, answer


def create(standin: StandinBackbone, clock: FakeClock, **fields: Any) -> str:
    body = {"content": "Y29udGVudA", "expiresAt": iso(clock.now() + timedelta(days=1))} | fields
    status, answer = post_token(standin, body, bearer(standin))
    assert status == 201, answer
    return str(answer["result"]["id"])


def error(answer: Any) -> tuple[str, str]:
    return answer["error"]["code"], answer["error"]["message"]


# --- login -------------------------------------------------------------------------------------------


def test_login_answers_the_oauth_token_response(standin: StandinBackbone) -> None:
    standin.token_lifetime = 42
    status, answer = login(standin)
    assert status == 200
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 42
    claims = json.loads(base64.urlsafe_b64decode(answer["access_token"].split(".")[1] + "=="))
    assert claims["nmshd_address"] == standin.device.address and claims["device_id"] == standin.device.device_id


@pytest.mark.parametrize(
    ("overrides", "status", "oauth_error"),
    [
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "other"}, 401, "invalid_client"),
        ({"username": "USRnobody0000000000"}, 400, "invalid_grant"),
        ({"password": "wrong"}, 400, "invalid_grant"),
        ({"password": ""}, 400, "invalid_request"),
    ],
)
def test_login_errors_use_the_oauth_format(
    standin: StandinBackbone, overrides: dict[str, str], status: int, oauth_error: str
) -> None:
    got_status, answer = login(standin, **overrides)
    assert (got_status, answer["error"]) == (status, oauth_error)
    assert "error_description" in answer


def test_login_needs_a_form_body(standin: StandinBackbone) -> None:
    status, answer, _ = call(standin, "POST", "/connect/token", b"{}", {"Content-Type": "application/json"})
    assert (status, answer["error"]) == (400, "invalid_request")


def test_three_wrong_passwords_lock_the_device_for_ten_minutes(standin: StandinBackbone, clock: FakeClock) -> None:
    for _ in range(3):
        assert login(standin, password="wrong")[1]["error"] == "invalid_grant"
    status, answer = login(standin)  # the right password, but locked
    assert (status, answer["error"]) == (400, "access_denied")
    assert answer["error_description"] == "The user is temporarily locked out, please try again in a few minutes."
    clock.advance(10 * 60)
    assert login(standin)[0] == 200


# --- POST /api/v2/Tokens -----------------------------------------------------------------------------


def test_create_answers_201_with_id_and_created_at(standin: StandinBackbone, clock: FakeClock) -> None:
    status, answer = post_token(
        standin, {"content": "YQ", "expiresAt": iso(clock.now() + timedelta(days=1))}, bearer(standin)
    )
    assert status == 201
    result = answer["result"]
    assert set(result) == {"id", "createdAt"}
    assert re.fullmatch(r"TOK[A-Za-z0-9]{17}", result["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result["createdAt"])
    stored = standin.tokens[result["id"]]
    assert stored.created_by == standin.device.address and stored.created_by_device == standin.device.device_id


def test_keys_match_case_insensitively_and_unknown_keys_are_ignored(standin: StandinBackbone, clock: FakeClock) -> None:
    body = {"Content": "YQ", "EXPIRESAT": iso(clock.now() + timedelta(days=1)), "ephemeral": True}
    assert post_token(standin, body, bearer(standin))[0] == 201


@pytest.mark.parametrize("state", ["none", "expired", "unknown"])
def test_a_missing_expired_or_unknown_bearer_is_anonymous(
    standin: StandinBackbone, clock: FakeClock, state: str
) -> None:
    token = {"none": None, "unknown": "not-a-token", "expired": bearer(standin)}[state]
    if state == "expired":
        clock.advance(standin.token_lifetime)
    status, answer = post_token(standin, {"content": "YQ", "expiresAt": iso(clock.now() + timedelta(days=1))}, token)
    assert status == 400  # never 401: the route allows anonymous callers
    assert error(answer) == ("error.platform.validation.invalidPropertyValue", "'content' must be empty.")
    assert standin.calls[-1].bearer == state and standin.calls[-1].caller is None


def test_anonymous_tokens_without_content_live_less_than_five_minutes(
    standin: StandinBackbone, clock: FakeClock
) -> None:
    status, answer = post_token(standin, {"expiresAt": iso(clock.now() + timedelta(minutes=4))})
    assert status == 201
    assert standin.tokens[answer["result"]["id"]].created_by is None
    status, answer = post_token(standin, {"expiresAt": iso(clock.now() + timedelta(minutes=6))})
    assert status == 400 and error(answer)[1].startswith("'expiresAt' must be less than")


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"content": "YQ"}, "error.platform.inputCannotBeParsed", None),
        ({"content": "YQ", "expiresAt": "tomorrow"}, "error.platform.inputCannotBeParsed", None),
        ({"content": "!!", "expiresAt": "FUTURE"}, "error.platform.inputCannotBeParsed", None),
        (
            {"content": "YQ", "expiresAt": "FUTURE", "forIdentity": "did:e:localhost:dids:0123456789abcdef012345"},
            "error.platform.validation.invalidPropertyValue",
            "'forIdentity': The ID or Address is not valid. Check length, prefix and the used characters.",
        ),
        (
            {"content": "YQ", "expiresAt": "FUTURE", "password": ""},
            "error.platform.validation.invalidPropertyValue",
            "'password' must be between 1 and 200 bytes long. You entered 0 bytes.",
        ),
        (
            {"content": "YQ", "expiresAt": "PAST"},
            "error.platform.validation.invalidPropertyValue",
            "'expiresAt' must be in the future.",
        ),
    ],
)
def test_create_rejects_in_the_validators_order(
    standin: StandinBackbone, clock: FakeClock, body: dict[str, Any], code: str, message: str | None
) -> None:
    moments = {"FUTURE": iso(clock.now() + timedelta(days=1)), "PAST": iso(clock.now() - timedelta(seconds=1))}
    body = {key: moments.get(value, value) for key, value in body.items()}
    status, answer = post_token(standin, body, bearer(standin))
    assert status == 400
    assert error(answer)[0] == code
    if message:
        assert error(answer)[1] == message


def test_create_needs_json(standin: StandinBackbone) -> None:
    status, _, _ = call(standin, "POST", "/api/v2/Tokens", b"a=b", {"Content-Type": "text/plain"})
    assert status == 415


def test_quota_exhausted_is_429_with_its_data(standin: StandinBackbone, clock: FakeClock) -> None:
    standin.quota_exhausted = True
    status, answer = post_token(
        standin, {"content": "YQ", "expiresAt": iso(clock.now() + timedelta(days=1))}, bearer(standin)
    )
    assert status == 429
    assert answer["error"]["code"] == "error.platform.quotaExhausted"
    assert answer["error"]["data"][0]["metricKey"] == "NumberOfTokens"


def test_password_accepted_in_both_base64_variants(standin: StandinBackbone, clock: FakeClock) -> None:
    password = bytes(range(250, 256)) + b"\xfb\xff" * 13  # '+' and '/' in standard base64
    standard = base64.b64encode(password).decode()
    url_safe = base64.urlsafe_b64encode(password).decode().rstrip("=")
    assert "+" in standard or "/" in standard
    for variant in (standard, url_safe):
        token_id = create(standin, clock, password=variant)
        assert standin.tokens[token_id].password == password
        assert get_token(standin, token_id, password)[0] == 200


def test_content_round_trips_as_base64url(standin: StandinBackbone, clock: FakeClock) -> None:
    content = base64.urlsafe_b64encode(b'{"cph":"x"}\xff\xfe').decode().rstrip("=")
    token_id = create(standin, clock, content=content)
    status, answer = get_token(standin, token_id)
    assert status == 200 and answer["result"]["content"] == content


# --- GET /api/v2/Tokens/{id} -------------------------------------------------------------------------


def test_get_answers_the_token_dto(standin: StandinBackbone, clock: FakeClock) -> None:
    token_id = create(standin, clock)
    status, answer = get_token(standin, token_id)
    assert status == 200
    assert list(answer["result"]) == [
        "id",
        "createdBy",
        "createdByDevice",
        "forIdentity",
        "createdAt",
        "expiresAt",
        "content",
        "isPasswordProtected",
    ]
    assert answer["result"]["isPasswordProtected"] is False and answer["result"]["forIdentity"] is None


def test_get_password_must_be_standard_base64(standin: StandinBackbone, clock: FakeClock) -> None:
    password = b"\xfb\xff" * 16
    token_id = create(standin, clock, password=base64.b64encode(password).decode())
    url_safe = base64.urlsafe_b64encode(password).decode().rstrip("=")
    status, answer, _ = call(standin, "GET", f"/api/v2/Tokens/{token_id}?password={url_safe}")
    assert status == 400 and error(answer)[0] == "error.platform.inputCannotBeParsed"
    unescaped = base64.b64encode(password).decode()  # '+' becomes a space, '/' and '=' survive
    status, _, _ = call(standin, "GET", f"/api/v2/Tokens/{token_id}?password={unescaped}")
    assert status == 400
    assert get_token(standin, token_id, password)[0] == 200
    status, _, _ = call(standin, "GET", f"/api/v2/Tokens/{token_id}?password=")  # empty: no password
    assert status == 404


def test_every_not_found_has_the_same_body(standin: StandinBackbone, clock: FakeClock) -> None:
    protected = create(standin, clock, password=base64.b64encode(b"p" * 32).decode())
    personal = create(standin, clock, forIdentity=backbone_address("example.org"))
    expiring = create(standin, clock, expiresAt=iso(clock.now() + timedelta(hours=1)))
    clock.advance(2 * 3600)
    for token_id, password in (
        ("TOKunknown0000000000", None),
        (protected, b"wrong" * 6),
        (protected, None),
        (personal, None),
        (expiring, None),
    ):
        status, answer = get_token(standin, token_id, password)
        assert status == 404
        assert error(answer) == ("error.platform.recordNotFound", NOT_FOUND_MESSAGE)
    assert standin.tokens[protected].failed_attempts == 2  # the missing password counts, too
    assert standin.tokens[personal].failed_attempts == 0  # a forIdentity mismatch does not


def test_the_hundredth_failure_locks_the_token(standin: StandinBackbone, clock: FakeClock) -> None:
    right = b"r" * 32
    token_id = create(standin, clock, password=base64.b64encode(right).decode())
    standin.tokens[token_id].failed_attempts = 98
    assert get_token(standin, token_id, b"w" * 32)[0] == 404  # the 99th
    status, answer = get_token(standin, token_id, b"w" * 32)  # the 100th
    assert status == 400
    assert error(answer) == (
        "error.platform.token.tooManyFailedPasswordAttempts",
        "Too many wrong password attempts, the token is locked.",
    )
    assert get_token(standin, token_id, right)[0] == 400  # the right password, too
    assert get_token(standin, token_id, token=bearer(standin))[0] == 200  # the owner is never locked out
    standin.reset_failed_attempts(token_id)
    assert get_token(standin, token_id, right)[0] == 200


def test_the_owner_bypasses_expiry_and_password(standin: StandinBackbone, clock: FakeClock) -> None:
    token_id = create(standin, clock, password=base64.b64encode(b"p" * 32).decode())
    clock.advance(2 * 86400)  # expired
    assert get_token(standin, token_id, token=bearer(standin))[0] == 200
    assert get_token(standin, token_id)[0] == 404
    clock.advance(31 * 86400)  # housekeeping deleted it
    assert get_token(standin, token_id, token=bearer(standin))[0] == 404


@pytest.mark.parametrize(("token_id", "status"), [("TOKshort", 404), ("TOK" + "a" * 18, 400), ("FIL" + "a" * 17, 400)])
def test_token_ids_are_validated(standin: StandinBackbone, token_id: str, status: int) -> None:
    got, answer = get_token(standin, token_id)
    assert got == status
    if status == 400:
        assert error(answer)[0] == "error.platform.validation.invalidPropertyValue"


# --- DELETE /api/v2/Tokens/{id} ----------------------------------------------------------------------


def delete_token(standin: StandinBackbone, token_id: str, token: str | None = None) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return call(standin, "DELETE", f"/api/v2/Tokens/{token_id}", headers=headers)


@pytest.mark.parametrize("state", ["none", "expired", "unknown"])
def test_delete_needs_a_valid_bearer(standin: StandinBackbone, clock: FakeClock, state: str) -> None:
    token_id = create(standin, clock)
    token = {"none": None, "unknown": "not-a-token", "expired": bearer(standin)}[state]
    if state == "expired":
        clock.advance(standin.token_lifetime)
    status, body, headers = delete_token(standin, token_id, token)
    assert (status, body, headers["WWW-Authenticate"]) == (401, b"", "Bearer")  # not anonymous: challenged
    assert "Content-Type" not in headers and token_id in standin.tokens


def test_delete_refusals_in_the_handlers_order(standin: StandinBackbone, clock: FakeClock) -> None:
    token_id = create(standin, clock)
    other = standin.add_device()
    status, answer = login(standin, username=other.username, password=other.password)
    assert status == 200
    other_bearer = answer["access_token"]
    status, answer, _ = delete_token(standin, "FIL" + "a" * 17, other_bearer)
    assert (status, error(answer)) == (
        400,
        (
            "error.platform.validation.invalidPropertyValue",
            "'id': The ID or Address is not valid. Check length, prefix and the used characters.",
        ),
    )
    status, answer, _ = delete_token(standin, "TOKunknown0000000000", other_bearer)
    assert (status, error(answer)) == (404, ("error.platform.recordNotFound", NOT_FOUND_MESSAGE))
    status, answer, _ = delete_token(standin, token_id, other_bearer)
    assert (status, error(answer)) == (
        403,
        ("error.platform.forbidden", "You are not allowed to perform this action due to insufficient privileges."),
    )
    assert list(answer["error"]) == ["id", "code", "message", "docs", "time", "data"]
    assert token_id in standin.tokens


def test_the_owner_deletes_for_good_with_204_and_no_body(standin: StandinBackbone, clock: FakeClock) -> None:
    token_id = create(standin, clock, password=base64.b64encode(b"p" * 32).decode())
    standin.tokens[token_id].failed_attempts = 100  # locked
    clock.advance(2 * 86400)  # and expired
    status, body, headers = delete_token(standin, token_id, bearer(standin))
    assert (status, body) == (204, b"")
    assert "Content-Type" not in headers and "Content-Length" not in headers
    assert token_id not in standin.tokens
    assert get_token(standin, token_id, token=bearer(standin))[0] == 404


def test_nobody_deletes_an_anonymous_token(standin: StandinBackbone, clock: FakeClock) -> None:
    status, answer = post_token(standin, {"expiresAt": iso(clock.now() + timedelta(minutes=2))})
    assert status == 201
    status, _, _ = delete_token(standin, answer["result"]["id"], bearer(standin))
    assert status == 403  # its creator is null, which no caller is


# --- more devices ------------------------------------------------------------------------------------


def test_each_device_logs_in_as_its_identity_and_is_locked_out_alone(standin: StandinBackbone) -> None:
    other = standin.add_device()
    second = standin.add_device(address=standin.device.address)  # a second device of the service's identity
    assert other.client_secret == standin.device.client_secret and other.address != standin.device.address
    for device in (other, second):
        status, answer = login(standin, username=device.username, password=device.password)
        claims = json.loads(base64.urlsafe_b64decode(answer["access_token"].split(".")[1] + "=="))
        assert status == 200 and (claims["nmshd_address"], claims["device_id"]) == (device.address, device.device_id)
    for _ in range(3):
        login(standin, username=other.username, password="wrong")
    assert login(standin, username=other.username, password=other.password)[1]["error"] == "access_denied"
    assert login(standin)[0] == 200  # another device is not locked


def test_device_passwords_look_like_the_librarys() -> None:
    """createStrongPassword(45, 50): its characters, one special at least (they must survive form encoding)."""
    for _ in range(50):
        password = device_password()
        assert 45 <= len(password) <= 50
        assert set(password) <= set("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz123456789!?-_.:,;#+")
        assert set(password) & set("!?-_.:,;#+")


def test_the_wire_is_recorded_only_when_asked(clock: FakeClock) -> None:
    with StandinBackbone(clock=clock.now, record_wire=True) as recording:
        token = bearer(recording)
        get_token(recording, "TOKunknown0000000000", b"p" * 32, token)
    login_call, get_call = recording.calls
    assert b"grant_type=password" in login_call.body and get_call.query.startswith("password=")
    assert dict(get_call.headers)["Authorization"] == "Bearer <valid>"  # the state, never the bearer
    assert token not in repr(recording.calls)
    with StandinBackbone(clock=clock.now) as quiet:
        bearer(quiet)
    assert (quiet.calls[0].headers, quiet.calls[0].body) == ((), b"")


# --- common ------------------------------------------------------------------------------------------


def test_error_envelope_shape(standin: StandinBackbone) -> None:
    _, answer = get_token(standin, "TOKunknown0000000000")
    envelope = answer["error"]
    assert list(envelope) == ["id", "code", "message", "docs", "time", "data"]
    assert re.fullmatch(r"ERR[A-HJ-NP-Z1-9]{17}", envelope["id"])
    assert envelope["docs"] == "" and envelope["data"] is None


def test_version_and_correlation_id(standin: StandinBackbone) -> None:
    status, answer, headers = call(standin, "GET", "/api/v2/Version", headers={"X-Correlation-ID": "abc"})
    assert (status, answer) == (200, {"result": {"majorVersion": "7"}})
    assert headers["X-Correlation-ID"] == "abc"


def test_faults_answer_the_requested_status(standin: StandinBackbone) -> None:
    standin.fail_next(2, 502, route="login")
    assert login(standin)[0] == 502
    assert call(standin, "GET", "/api/v2/Version")[0] == 200  # another route: not affected
    assert login(standin)[0] == 502
    assert login(standin)[0] == 200


def test_address_checksum() -> None:
    address = backbone_address("localhost", "0123456789abcdef0123")
    assert is_backbone_address(address)
    assert not is_backbone_address(address[:-2] + ("00" if not address.endswith("00") else "01"))
    assert not is_backbone_address(address.upper())


def test_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        StandinBackbone(host="0.0.0.0")  # noqa: S104 - the point of the test


def test_a_token_that_never_expires_can_be_read(standin: StandinBackbone, clock: FakeClock) -> None:
    """Files without expiry give tokens until 9999-12-31; the housekeeping check must not overflow."""
    token_id = create(standin, clock, expiresAt="9999-12-31T00:00:00.000Z")
    status, answer = get_token(standin, token_id)
    assert status == 200, answer
    assert answer["result"]["expiresAt"].startswith("9999-12-31T00:00:00")


def test_a_stopped_standin_answers_nothing_on_a_kept_alive_connection(clock: FakeClock) -> None:
    """A client's pooled connection must not outlive stop(): a test that stops the stand-in sees the outage."""
    standin = StandinBackbone(clock=clock.now)
    standin.start()
    connection = http.client.HTTPConnection(standin.host, standin.port, timeout=5)
    try:
        connection.request("GET", "/api/v2/Version")
        first = connection.getresponse()
        assert (first.status, first.getheader("Connection")) == (200, None)  # HTTP/1.1: kept alive
        first.read()
        standin.stop()
        with pytest.raises(ConnectionError):
            connection.request("GET", "/api/v2/Version")
            connection.getresponse()
    finally:
        connection.close()
        standin.stop()


# --- hostile requests --------------------------------------------------------------------------------


def raw_call(
    standin: StandinBackbone, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""
) -> Any:
    """A request with exactly these headers (Host included, or left out)."""
    connection = http.client.HTTPConnection(standin.host, standin.port, timeout=5)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        raw = response.read()
        answer = json.loads(raw) if raw and "json" in (response.getheader("Content-Type") or "") else raw
        return response.status, answer, dict(response.getheaders())
    finally:
        connection.close()


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"content":' + b"[" * 100_000, b"\xff\xfe\xfd"])
def test_an_unreadable_body_is_400_in_the_envelope_and_prints_nothing(
    standin: StandinBackbone, capsys: pytest.CaptureFixture[str], body: bytes
) -> None:
    status, answer, _ = call(standin, "POST", "/api/v2/Tokens", body, {"Content-Type": "application/json"})
    assert (status, error(answer)) == (
        400,
        ("error.platform.inputCannotBeParsed", "'$': The request body is not valid JSON."),
    )
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v2/Tokens", "POST"),
        ("OPTIONS", "/api/v2/Tokens/TOKaaaaaaaaaaaaaaaaa", "GET, DELETE"),
        ("PUT", "/api/v2/Tokens/TOKaaaaaaaaaaaaaaaaa", "GET, DELETE"),
        ("OPTIONS", "/connect/token", "POST"),
        ("PATCH", "/api/v2/Version", "GET"),
        ("HEAD", "/api/v2/Tokens", "POST"),
    ],
)
def test_other_methods_are_405_with_allow_as_aspnet_routing_answers(
    standin: StandinBackbone, method: str, path: str, allow: str
) -> None:
    status, answer, headers = call(standin, method, path)
    assert (status, answer, headers.get("Allow")) == (405, b"", allow)


def test_other_methods_on_unknown_paths_are_404(standin: StandinBackbone) -> None:
    status, _, headers = call(standin, "OPTIONS", "/api/v2/Elsewhere")
    assert status == 404 and "Allow" not in headers


@pytest.mark.parametrize(
    "hosts",
    [
        ["evil.example"],
        ["evil.example:{port}"],
        ["127.0.0.1"],  # port 80: not ours
        ["127.0.0.1:1"],
        ["127.0.0.1:{port}", "127.0.0.1:{port}"],
        ["127.0.0.1:{port}/path"],
        ["user@127.0.0.1:{port}"],
        [],
    ],
)
def test_a_host_that_is_not_the_standins_is_421_in_the_envelope(standin: StandinBackbone, hosts: list[str]) -> None:
    headers = [("Host", host.format(port=standin.port)) for host in hosts]
    status, answer, _ = raw_call(standin, "GET", "/api/v2/Version", headers)
    assert status == 421
    assert error(answer) == (
        "error.standin.misdirectedRequest",
        f"This stand-in answers only for 127.0.0.1:{standin.port}.",
    )
    assert standin.calls == []


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "LocalHost:{port}"])
def test_the_standins_own_host_is_answered(standin: StandinBackbone, host: str) -> None:
    status, answer, _ = raw_call(standin, "GET", "/api/v2/Version", [("Host", host.format(port=standin.port))])
    assert (status, answer) == (200, {"result": {"majorVersion": "7"}})


@pytest.mark.parametrize("length", ["abc", "-1", "1, 1", "²", "0x10"])
def test_a_bad_content_length_is_400_in_the_envelope(standin: StandinBackbone, length: str) -> None:
    headers = [("Host", f"127.0.0.1:{standin.port}"), ("Content-Length", length)]
    status, answer, _ = raw_call(standin, "POST", "/api/v2/Tokens", headers)
    assert (status, error(answer)[0]) == (400, "error.platform.inputCannotBeParsed")
