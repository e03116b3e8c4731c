"""The local HTTP server at the socket: malformed framing is refused at once, every refusal of the HTTP layer is in
the error envelope, a client that goes away is one quiet log line, and a burst of clients is queued.

In-process servers on free loopback ports; the function echoes the body it got, so a well-framed body is shown to
arrive intact.
"""

from __future__ import annotations

import errno
import json
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
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


def serving(
    api: ApiSpec, function: Callable[[dict[str, Any], Any], Any], log: Callable[[str], None]
) -> Iterator[LocalHttpServer]:
    functions = {logical_id: LocalFunction(spec, function) for logical_id, spec in api.functions.items()}
    local = LocalHttpServer(("127.0.0.1", 0), LocalApi(api, functions, KEY, log=log), log=log)
    thread = threading.Thread(target=local.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield local
    local.shutdown()
    local.server_close()
    thread.join(timeout=10)


@pytest.fixture
def server(api: ApiSpec) -> Iterator[LocalHttpServer]:
    yield from serving(api, echo, lambda _: None)


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


def envelope(answer: bytes) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json; charset=utf-8" in head, head
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) == {"code", "message", "id", "time", "docs"}
    assert error["docs"].endswith(error["code"])
    return error


@pytest.mark.parametrize(
    ("head", "status", "code"),
    [
        (request_head("Content-Length: -1"), 400, "error.connector.http.malformedRequest"),
        ("GET / HTTP/1.x\nHost: 127.0.0.1\n", 400, "error.connector.http.malformedRequest"),
        ("GET / HTTP/1.1\nHost: evil.example\n", 421, "error.connector.http.misdirectedRequest"),
        ("GET / HTTP/1.1\nHost: 127.0.0.1\n" + "X-Many: 1\n" * 101, 431, "error.connector.http.headersTooLarge"),
        (
            "GET / HTTP/1.1\nHost: 127.0.0.1\nX-Long: " + "a" * 70_000 + "\n",
            431,
            "error.connector.http.headersTooLarge",
        ),
        ("GET /" + "a" * 70_000 + " HTTP/1.1\nHost: 127.0.0.1\n", 414, "error.connector.http.uriTooLong"),
        ("GET / HTTP/2.0\nHost: 127.0.0.1\n", 505, "error.connector.http.versionNotSupported"),
    ],
)
def test_every_refusal_of_the_http_layer_is_in_the_error_envelope(
    server: LocalHttpServer, head: str, status: int, code: str
) -> None:
    answer = exchange(server, head)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:300]
    error = envelope(answer)
    assert error["code"] == code
    assert "70000" not in error["message"] and "aaaa" not in error["message"]  # nothing of the request echoed


def test_a_framing_refusal_says_what_is_wrong(server: LocalHttpServer) -> None:
    error = envelope(exchange(server, request_head("Content-Length: 2", "Content-Length: 3"), b"{}"))
    assert error["message"] == "The request is not well-formed HTTP/1.1: Content-Length must be one decimal number."


def close_abruptly(connection: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a browser tab or an interrupted curl may: no orderly FIN."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


@pytest.mark.parametrize("when", ["while the server reads the body", "while the function runs"])
def test_a_client_that_goes_away_is_one_quiet_log_line(
    api: ApiSpec, capfd: pytest.CaptureFixture[str], when: str
) -> None:
    lines: list[str] = []
    went_away = threading.Event()
    arrived, release = threading.Event(), threading.Event()

    def log(line: str) -> None:
        lines.append(line)
        if "went away" in line:
            went_away.set()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        arrived.set()
        release.wait(ANSWER_DEADLINE_S)
        return echo(event, context)

    for local in serving(api, slow, log):
        connection = socket.create_connection(local.server_address[:2], timeout=ANSWER_DEADLINE_S)
        if when == "while the server reads the body":
            connection.sendall(request_head("Content-Length: 100", key=True).replace("\n", "\r\n").encode() + b"\r\n{")
        else:
            connection.sendall(request_head("Content-Length: 2", key=True).replace("\n", "\r\n").encode() + b"\r\n{}")
            assert arrived.wait(ANSWER_DEADLINE_S)
        close_abruptly(connection)
        release.set()
        assert went_away.wait(ANSWER_DEADLINE_S), lines
    went = [line for line in lines if "went away" in line]
    assert len(went) == 1 and went[0].split(") ")[1] in ("ConnectionResetError", "BrokenPipeError"), lines
    assert capfd.readouterr().err == ""  # no traceback


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
