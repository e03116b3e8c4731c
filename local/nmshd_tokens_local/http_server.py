"""The local API Gateway: a stdlib HTTP server that checks like the deployed API, then calls the real handlers.

Order of checks (SPEC §7, §17): API key → 401, unknown route → 404, known path with another method → 405 + Allow,
the key's scopes → 403, then the function; a crash or an unreadable function result → 502, as API Gateway answers
a broken Lambda.
Before all of them the HTTP server makes two checks that only a server on a developer's machine needs: malformed
framing → 400 (framing.py), and a Host that is not a loopback name → 421, so that a DNS-rebinding web page never
gets an answer (the page holds the API key). Every answer, those and the HTTP parser's own (414, 431, …)
included, is in the Connector's error envelope (SPEC §7). A client that goes away mid-request is one log line.
"""

from __future__ import annotations

import json
import socketserver
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from nmshd_tokens.domain.api_keys import ApiKey, ApiKeys
from nmshd_tokens.domain.clock import utc_now
from nmshd_tokens.domain.errors import DomainError, ErrorKind, error_envelope
from nmshd_tokens.domain.route_scopes import required_scope

from .framing import BadFraming, read_body
from .functions import LocalFunction
from .gateway import (
    HttpRequest,
    HttpResponse,
    MalformedLambdaResponse,
    build_event,
    envelope_response,
    render_response,
)
from .page import PAGE_HEADERS, QR_IMAGE_PATH
from .routes import ApiSpec, MethodNotAllowed, RouteMatch

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
LOOPBACK_HOST_NAMES = ("127.0.0.1", "localhost")
# Connections the kernel queues while the accept loop is busy (socketserver's default is 5: a burst of clients
# beyond that has its SYNs dropped and waits for TCP's retransmit, a second or more).
LISTEN_BACKLOG = 1024
Log = Callable[[str], None]
# The answers of the HTTP layer itself, before any route is known. The Connector has no code for them (Node's
# parser answers plain text), so these are the local server's own, in the same envelope. The messages are fixed:
# the parser's own would quote the request line, and with it a backbone query's password hash.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("error.connector.http.malformedRequest", "The request is not well-formed HTTP/1.1."),
    414: ("error.connector.http.uriTooLong", "The request line is longer than 65536 bytes."),
    421: ("error.connector.http.misdirectedRequest", "This local server answers only for {names}."),
    431: ("error.connector.http.headersTooLarge", "The request has too many header fields or one is too long."),
    505: ("error.connector.http.versionNotSupported", "Only HTTP/1.0 and HTTP/1.1 are supported."),
}


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def host_name(host_header: str | None) -> str | None:
    """`LocalHost:3000` → `localhost`; None when the Host header is missing or not a host[:port]."""
    if not host_header:
        return None
    try:
        parts = urlsplit(f"//{host_header.strip()}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname


def http_error(status: int, detail: str | None = None, **values: str) -> HttpResponse:
    """An answer of the HTTP layer (HTTP_ERRORS) in the error envelope; `detail` is a sentence of our own."""
    code, message = HTTP_ERRORS.get(status, HTTP_ERRORS[400])
    message = message.format(**values)
    if detail:
        message = f"{message[:-1]}: {detail}."
    body = json.dumps(error_envelope(code, message), separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, [("Content-Type", "application/json; charset=utf-8")], body)


class LocalApi:
    """Request in, response out: everything the server does except the sockets."""

    def __init__(
        self,
        api: ApiSpec,
        functions: Mapping[str, LocalFunction],
        api_keys: ApiKeys | str,
        page: Callable[[], str] | None = None,
        log: Log = _stderr,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.api = api
        self.functions = functions
        # A single string: one admin key (no scopes), what `serve` generates without --api-keys.
        self.api_keys = ApiKeys.single(api_keys) if isinstance(api_keys, str) else api_keys
        self._page = page
        self._log = log
        self._clock = clock

    def _caller_key(self, request: HttpRequest) -> ApiKey | None:
        return self.api_keys.authenticate(request.header(self.api_keys.header_name), self._clock())

    def handle(self, request: HttpRequest) -> HttpResponse:
        if self._page is not None and request.method == "GET" and request.path == "/":
            return self._serve_page()
        if self._page is not None and request.method == "POST" and request.path == QR_IMAGE_PATH:
            return self._read_qr_image(request)
        key: ApiKey | None = None
        if self.api.requires_api_key(request.method, request.path):
            key = self._caller_key(request)
            if key is None:
                return envelope_response(ErrorKind.UNAUTHORIZED)
        resolved = self.api.resolve(request.method, request.path)
        if resolved is None:
            return envelope_response(ErrorKind.ROUTE_NOT_FOUND)
        if isinstance(resolved, MethodNotAllowed):
            return envelope_response(ErrorKind.METHOD_NOT_ALLOWED, headers=[("Allow", ", ".join(resolved.allowed))])
        if not self._in_scope(key, resolved):
            return envelope_response(ErrorKind.FORBIDDEN)
        function = self.functions[resolved.route.function.logical_id]
        request_id = str(uuid.uuid4())
        event = build_event(
            request, resolved, self.api.binary_media_types, stage=self.api.stage, request_id=request_id, caller=key
        )
        try:
            result = function.invoke(event, request_id)
            return render_response(result, request.header("accept"), self.api.binary_media_types, request_id)
        except MalformedLambdaResponse as exc:
            self._log(f"{function.spec.logical_id} returned a malformed response ({exc}): 502")
        except Exception as exc:  # a crashing function is the gateway's 502, never the server's death
            # Type and frames only: an exception's message may carry request data.
            frames = traceback.extract_tb(exc.__traceback__)[-3:]
            where = "; ".join(f"{frame.filename}:{frame.lineno} {frame.name}" for frame in frames)
            self._log(f"{function.spec.logical_id} crashed with {type(exc).__name__} at {where}: 502")
        return envelope_response(ErrorKind.UNEXPECTED, status=502)

    @staticmethod
    def _in_scope(key: ApiKey | None, resolved: RouteMatch) -> bool:
        """As the authorizer's policy: a keyed route's scope must be covered by the caller's key."""
        if not resolved.route.api_key_required or key is None:
            return True
        scope = required_scope(resolved.route.path)
        return scope is None or key.allows(scope)

    def _read_qr_image(self, request: HttpRequest) -> HttpResponse:
        """The page's QR image upload: the text of the one QR code in the image (local only, the API key needed)."""
        from .errors import CommandError
        from .peer import decode_qr_bytes

        if self._caller_key(request) is None:
            return envelope_response(ErrorKind.UNAUTHORIZED)
        try:
            text = decode_qr_bytes(request.body)
        except CommandError as exc:
            body = json.dumps(error_envelope(ErrorKind.INVALID_PROPERTY_VALUE.code, str(exc))).encode("utf-8")
            return HttpResponse(400, [("Content-Type", "application/json; charset=utf-8")], body)
        headers = [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")]
        return HttpResponse(200, headers, json.dumps({"reference": text}).encode("utf-8"))

    def _serve_page(self) -> HttpResponse:
        assert self._page is not None
        try:
            html = self._page()
        except DomainError as exc:  # DynamoDB unreachable or throttled
            return envelope_response(exc.kind)
        except Exception as exc:
            self._log(f"the local page failed with {type(exc).__name__}: 500")
            return envelope_response(ErrorKind.UNEXPECTED)
        return HttpResponse(200, list(PAGE_HEADERS), html.encode("utf-8"))


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection may hold a thread
    # Headers and body leave in two writes; with Nagle's algorithm on, the body waits for the client's delayed
    # ACK (about 40 ms) on every request of a keep-alive connection after the first.
    disable_nagle_algorithm = True
    server: LocalHttpServer

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            body = read_body(self.headers, self.rfile, MAX_BODY_BYTES)
        except BadFraming as exc:
            self.close_connection = True  # the rest of the stream cannot be trusted to be a next request
            response = http_error(400, str(exc))
        else:
            response = self._respond(body)
        self._write(response)
        # The path without the query: a backbone query carries a password hash.
        path = self.path.split("?", 1)[0]
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.server.log(f"{self.command} {path} {response.status} {elapsed_ms:.0f} ms")

    def _respond(self, body: bytes | None) -> HttpResponse:
        if not self.server.answers_for(self.headers.get_all("Host") or []):
            return http_error(421, names=" and ".join(sorted(self.server.host_names)))
        if body is None:
            self.close_connection = True
            return envelope_response(ErrorKind.PAYLOAD_TOO_LARGE)
        request = HttpRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        return self.server.local_api.handle(request)

    def _write(self, response: HttpResponse) -> None:
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The HTTP parser's refusals (414, 431, 400, 505) in the envelope, instead of the base class's HTML page."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # a garbled request line: answer with a status line all the same
            self.request_version = "HTTP/1.1"
        response = http_error(code)
        self._write(response)
        self.server.log(f"(malformed request) {response.status}")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        """Silenced: the base class would log the request line, query string (and password hash) included."""

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Any other method (TRACE, CONNECT, QUERY, PROPFIND …) is routed too: 405 + Allow on a known path, else 404.

        BaseHTTPRequestHandler looks up `do_<METHOD>` and answers an HTML 501 when it is missing; API Gateway never
        answers 501 for a method, and a 5xx reads as a server fault.
        """
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        local_api: LocalApi,
        log: Log = _stderr,
        host_names: Collection[str] = LOOPBACK_HOST_NAMES,
    ) -> None:
        self.local_api = local_api
        self.log = log
        self.host_names = frozenset(name.lower() for name in host_names)
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a closed page, curl interrupted) is one line, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            self.log(f"(client went away) {type(error).__name__}")
            return
        super().handle_error(request, client_address)

    def answers_for(self, host_headers: list[str]) -> bool:
        """Exactly one Host header, naming one of our host names (any port)."""
        return len(host_headers) == 1 and host_name(host_headers[0]) in self.host_names

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall for seconds without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
