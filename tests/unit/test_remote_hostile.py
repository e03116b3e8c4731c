"""The remote Backbone client against a loopback server that answers badly: every bad answer is a 503.

A broken or hostile Backbone (a body too large, nested too deep, not UTF-8, of the wrong shape) must give
`error.connector.serviceUnavailable`, never an unhandled exception (a 500 at the handler).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from nmshd_tokens.domain.errors import DomainError, ErrorKind
from nmshd_tokens.domain.tokens import Token
from nmshd_tokens.storage.remote_backbone import MAX_ANSWER_BYTES, RemoteBackbone, RetryPolicy
from nmshd_tokens.storage.secrets import BackboneCredentials, StaticCredentials
from nmshd_tokens.usecases.ports import TokenWrite

from tests.support import FakeClock, token_draft

GOOD_LOGIN = json.dumps({"access_token": "opaque-bearer", "token_type": "Bearer", "expires_in": 300}).encode()
TOKEN_ID = "TOKhostileAnswer0001"

# Bodies no Backbone should send; each is answered with the route's success status.
BAD_BODIES = {
    "deep nesting": b"[" * 100_000,
    "deep nesting in an object": b'{"result":' + b"[" * 100_000,
    "not UTF-8": b'{"result": {"id": "\xff\xfe"}}',
    "UTF-16 garbage": b"\xff\xfe\x00\xd8",
    "a JSON list": b"[1, 2, 3]",
    "a JSON string": b'"result"',
    "result of the wrong type": b'{"result": [1, 2]}',
    "fields of the wrong type": b'{"result": {"id": 5, "createdAt": 7, "expiresAt": [], "content": {}}}',
    "an error of the wrong shape": b'{"error": {"code": 1, "message": {"a": 1}}}',
    "an empty body": b"",
    "a number too long to read": b'{"result": {"id": ' + b"9" * 5000 + b"}}",
}


@dataclass
class BadServer:
    """Answers login as configured, and every other route with `status` and `body`."""

    status: int = 200
    body: bytes = b""
    login_status: int = 200
    login_body: bytes = GOOD_LOGIN
    paths: list[str] = field(default_factory=list)

    def serve(self) -> Iterator[str]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                owner.paths.append(self.path)
                login = self.path == "/connect/token"
                status, body = (owner.login_status, owner.login_body) if login else (owner.status, owner.body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: as it should
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


class Records:
    def write_publication(self, write: TokenWrite, token: Token) -> None:
        raise AssertionError("nothing is published here")

    def delete_token(self, token_id: str) -> None:
        raise AssertionError("nothing is deleted here")

    def get_token(self, token_id: str) -> Token | None:
        return None


@pytest.fixture
def bad() -> Iterator[tuple[BadServer, str]]:
    server = BadServer()
    for url in server.serve():
        yield server, url


def client(url: str) -> RemoteBackbone:
    credentials = BackboneCredentials("client", "secret", "user", "password")
    return RemoteBackbone(
        url,
        StaticCredentials(credentials),
        Records(),
        retry=RetryPolicy(attempts=2, attempt_timeout=5.0, budget=10.0),
        clock=FakeClock().monotonic,
        sleep=lambda _: None,
    )


def draft() -> TokenWrite:
    return TokenWrite(token_draft("Y2lwaGVy", "did:e:a.b:dids:x", "DVCx", datetime.now(UTC) + timedelta(days=1)))


def assert_unavailable(call: Any, *args: Any) -> None:
    with pytest.raises(DomainError) as caught:
        call(*args)
    error = caught.value
    assert (error.kind, error.status, error.envelope()["error"]["code"]) == (
        ErrorKind.SERVICE_UNAVAILABLE,
        503,
        "error.connector.serviceUnavailable",
    )


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_create_answer_is_503(bad: tuple[BadServer, str], body: bytes) -> None:
    server, url = bad
    server.status, server.body = 201, body
    assert_unavailable(client(url).publish, draft())


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_peer_answer_is_503(bad: tuple[BadServer, str], body: bytes) -> None:
    server, url = bad
    server.status, server.body = 200, body
    assert_unavailable(client(url).fetch_for_peer, TOKEN_ID, None)


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_login_answer_is_503(bad: tuple[BadServer, str], body: bytes) -> None:
    server, url = bad
    server.login_body = body
    assert_unavailable(client(url).publish, draft())
    assert client(url).check_login() is False


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_version_answer_is_unhealthy(bad: tuple[BadServer, str], body: bytes) -> None:
    server, url = bad
    server.body = body
    assert client(url).check_version() is False


@pytest.mark.parametrize("status", [400, 404, 429])
@pytest.mark.parametrize("body", [BAD_BODIES["deep nesting"], BAD_BODIES["an error of the wrong shape"]])
def test_a_bad_error_answer_is_503(bad: tuple[BadServer, str], status: int, body: bytes) -> None:
    server, url = bad
    server.status, server.body = status, body
    with pytest.raises(DomainError) as caught:
        client(url).publish(draft())
    # A 429 stays the quota's answer (its status is the Backbone's word); without an envelope it has no code.
    expected = ErrorKind.QUOTA_EXHAUSTED if status == 429 else ErrorKind.SERVICE_UNAVAILABLE
    assert caught.value.kind is expected


def test_a_login_that_never_expires_is_refused(bad: tuple[BadServer, str]) -> None:
    server, url = bad
    server.login_body = b'{"access_token": "opaque-bearer", "expires_in": 1e999}'  # infinity, as json reads it
    assert client(url).check_login() is False


def test_a_body_over_the_limit_is_503(bad: tuple[BadServer, str]) -> None:
    server, url = bad
    server.status = 201
    server.body = b'{"result": {"id": "' + TOKEN_ID.encode() + b'", "createdAt": "2030-01-01T00:00:00.000Z"}}'
    server.body += b" " * MAX_ANSWER_BYTES  # valid JSON, but longer than any answer of the Backbone's
    assert_unavailable(client(url).publish, draft())
    assert server.paths.count("/api/v2/Tokens") == 2  # retried once (attempts=2), then given up


def test_after_an_answer_over_the_limit_the_next_call_gets_a_fresh_connection(bad: tuple[BadServer, str]) -> None:
    server, url = bad
    remote = client(url)
    server.body = b'{"result": {"majorVersion": "7"}}' + b" " * MAX_ANSWER_BYTES
    assert remote.check_version() is False
    server.body = b'{"result": {"majorVersion": "7"}}'
    assert remote.check_version() is True
