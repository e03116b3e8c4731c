"""The local HTTP server at the socket: malformed framing is refused at once, and a burst of clients is queued.

In-process servers on free loopback ports; the function echoes the body it got, so a well-framed body is shown to
arrive intact.
"""

from __future__ import annotations

import errno
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from nmshd_tokens_local.functions import LocalFunction
from nmshd_tokens_local.http_server import LocalApi, LocalHttpServer
from nmshd_tokens_local.routes import ApiSpec, api_from_template
from nmshd_tokens_local.tables import load_template

from tests.support import ROOT

KEY = "edge-test-key"
PATH = "/api/v2/Files/FILaaaaaaaaaaaaaaaa1/Token"
ANSWER_DEADLINE_S = 30.0  # a safety net: a refused request is answered in milliseconds
CLIENTS = 200


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event["body"] or ""
    return {"statusCode": 200, "body": body, "isBase64Encoded": event["isBase64Encoded"]}


@pytest.fixture(scope="module")
def api() -> ApiSpec:
    return api_from_template(load_template(), ROOT)


@pytest.fixture
def server(api: ApiSpec) -> Iterator[LocalHttpServer]:
    functions = {logical_id: LocalFunction(spec, echo) for logical_id, spec in api.functions.items()}
    local = LocalHttpServer(("127.0.0.1", 0), LocalApi(api, functions, KEY, log=lambda _: None), log=lambda _: None)
    thread = threading.Thread(target=local.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield local
    local.shutdown()
    local.server_close()
    thread.join(timeout=10)


def exchange(server: LocalHttpServer, head: str, body: bytes = b"") -> bytes:
    """Send a request by hand and read one answer, WITHOUT closing our side: a server that waits for more bytes
    (or for the end of the stream) never answers, and the socket's timeout ends the test."""
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_DEADLINE_S) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
        response_head, _, rest = answer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in response_head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length and (chunk := connection.recv(65536)):
            rest += chunk
    return response_head + b"\r\n\r\n" + rest


def request_head(*headers: str, key: bool = False) -> str:
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/octet-stream", *headers]
    if key:
        lines.append(f"x-api-key: {KEY}")
    return "\n".join(lines) + "\n"


def test_a_well_framed_chunked_body_reaches_the_function(server: LocalHttpServer) -> None:
    answer = exchange(
        server, request_head("Transfer-Encoding: chunked", key=True), b"5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert answer.endswith(b"\r\n\r\nhello!")


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (("Transfer-Encoding: chunked",), b"-5\r\nhello"),
        (("Transfer-Encoding: chunked",), b"-1\r\n"),
        (("Transfer-Encoding: chunked",), b"0x5\r\nhello\r\n0\r\n\r\n"),
        (("Transfer-Encoding: chunked",), b"5\r\nhelloXX"),
        (("Transfer-Encoding: gzip",), b"..."),
        (("Transfer-Encoding: chunked", "Content-Length: 5"), b"0\r\n\r\n"),
        (("Content-Length: -1",), b"{}"),
        (("Content-Length: +2",), b"{}"),
        (("Content-Length: 2", "Content-Length: 3"), b"{}"),
    ],
)
def test_malformed_framing_is_400_at_once_before_the_key_check(
    server: LocalHttpServer, headers: tuple[str, ...], body: bytes
) -> None:
    started = time.perf_counter()
    answer = exchange(server, request_head(*headers), body)  # no API key: framing comes first
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert b"Connection: close" in head
    print(f"answered in {(time.perf_counter() - started) * 1000:.0f} ms")


def test_a_refused_frame_is_the_end_of_the_connection(server: LocalHttpServer) -> None:
    """What follows a bad frame is not read as a next request (no request smuggling)."""
    smuggled = b"GET /backbone/api/v2/Tokens/TOKaaaaaaaaaaaaaaaa1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_DEADLINE_S) as connection:
        connection.sendall(request_head("Content-Length: -1").replace("\n", "\r\n").encode() + b"\r\n" + smuggled)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 400 ")


def test_a_base64_echo_shows_the_body_intact(server: LocalHttpServer) -> None:
    payload = bytes(range(256))
    answer = exchange(server, request_head(f"Content-Length: {len(payload)}", key=True), payload)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.split(b"\r\n\r\n", 1)[1] == payload  # */*: the body went in base64 and came back decoded


def test_a_burst_of_200_clients_is_queued_not_dropped(api: ApiSpec) -> None:
    """200 clients connect while the server accepts nothing: all their handshakes complete in the listen queue.

    With socketserver's default backlog of 5 the kernel drops the SYNs beyond it; those clients wait for TCP's
    retransmit (1 s, then 3 s, …). The count does not depend on the machine's load: a queued connection is
    established within microseconds on loopback, a dropped one not at all until something accepts.
    """
    local = LocalHttpServer(("127.0.0.1", 0), LocalApi(api, {}, KEY, log=lambda _: None), log=lambda _: None)
    clients: list[socket.socket] = []
    try:
        for _ in range(CLIENTS):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.setblocking(False)
            error = client.connect_ex(local.server_address)
            assert error in (0, errno.EINPROGRESS), errno.errorcode.get(error)
            clients.append(client)
        connected = _wait_until_connected(clients, deadline=time.monotonic() + 10.0)
        assert connected == CLIENTS, f"only {connected} of {CLIENTS} handshakes completed: the listen queue is short"
    finally:
        for client in clients:
            client.close()
        local.server_close()


def _wait_until_connected(clients: list[socket.socket], deadline: float) -> int:
    pending = list(clients)
    while pending and time.monotonic() < deadline:
        _, writable, _ = select.select([], pending, [], 0.2)
        for client in writable:
            if client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                pending.remove(client)
    return len(clients) - len(pending)
