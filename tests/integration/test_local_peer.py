"""`load` against a stub backbone that answers what a real one might: each failure is one clear error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from nmshd_tokens.domain.crypto import encrypt_content, generate_key
from nmshd_tokens.domain.references import Reference
from nmshd_tokens_local.errors import CommandError
from nmshd_tokens_local.peer import load_token

KEY = generate_key()


class _Stub(BaseHTTPRequestHandler):
    answer: ClassVar[tuple[int, bytes]] = (200, b"")
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        status, body = self.answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def backbone() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _Stub.paths = []
    yield f"http://127.0.0.1:{server.server_address[1]}/backbone"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _load(backbone: str, status: int, body: Any) -> dict[str, Any]:
    _Stub.answer = (status, body if isinstance(body, bytes) else json.dumps(body).encode())
    return load_token(Reference("TOKaaaaaaaaaaaaaaaa1", KEY, backbone), timeout=5)


def _token(content: str) -> dict[str, Any]:
    creator = {"createdBy": "did:e:localhost:dids:0123456789abcdef012357", "createdByDevice": "DVCaaaaaaaaaaaaaaaa1"}
    return {"result": {"id": "TOKaaaaaaaaaaaaaaaa1", "content": content} | creator}


def test_success_decrypts_the_content(backbone: str) -> None:
    content = {"@type": "TokenContentFile", "fileId": "FILaaaaaaaaaaaaaaaa1"}
    assert _load(backbone, 200, _token(encrypt_content(json.dumps(content).encode(), KEY))) == content
    assert _Stub.paths == ["/backbone/api/v2/Tokens/TOKaaaaaaaaaaaaaaaa1"]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, {"error": {"code": "error.platform.recordNotFound", "message": "Token not found."}}, "recordNotFound"),
        (400, {"error": {"code": "error.platform.token.tooManyFailedPasswordAttempts", "message": "locked"}}, "locked"),
        (502, b"<html>bad gateway</html>", "HTTP 502 without an error envelope"),
        (200, b"not json", "not a token"),
        (200, {"result": []}, "not a token"),
        (200, _token(""), "emptyToken"),
        (200, {"result": {"id": "TOKaaaaaaaaaaaaaaaa1", "content": "Y2lwaGVy"}}, "emptyToken"),  # an anonymous token
        (200, _token("garbage"), "cannot be decrypted"),
        (200, _token(encrypt_content(b"{}", generate_key())), "cannot be decrypted"),
        (200, _token(encrypt_content(b"[1]", KEY)), "not a JSON object"),
    ],
)
def test_failures_are_one_clear_error(backbone: str, status: int, body: Any, message: str) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        _load(backbone, status, body)
    assert caught.value.exit_status == 1
    assert "\n" not in str(caught.value)
