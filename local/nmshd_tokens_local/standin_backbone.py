"""A local stand-in for the enmeshed Backbone's device login and token routes, on loopback only.

It behaves as the enmeshed Backbone 7.1.x does (read in its source; the transport library's tests below agree):
`POST /connect/token` (password grant, lockout per device), `POST /api/v2/Tokens`, `GET /api/v2/Tokens/{id}` (the
access decision list, the lock at 100 failures, the one 404 message), `DELETE /api/v2/Tokens/{id}` (the creator
only) and `GET /api/v2/Version`. On the anonymous routes (create, get) a missing, unknown or expired bearer makes
a caller anonymous, never 401; `DELETE` needs a valid one. The upstream transport library (`@nmshd/transport`)
speaks to it in tests/unit/test_upstream_backbone.py. For tests and `nmshd-tokens serve --backbone standin`:

    standin = StandinBackbone(port=0)
    base_url = standin.start()      # http://127.0.0.1:<port>
    os.environ.update(standin.env())  # remote mode against it, with its device's credentials
    ...
    standin.stop()

Test knobs: `add_device` (more devices, other identities), `token_lifetime`, `quota_exhausted`, `major_version`,
`fail_next`, `delay_next`, `hold_next`, `drop_connections`, `revoke_access_tokens`, `reset_failed_attempts`, a
settable `clock`; `tokens`, `calls`, `logins` and `connections_opened` to inspect what arrived (with
`record_wire=True`, each call keeps its headers, query and body too).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from nmshd_tokens.domain.algorithms import secret_texts_equal
from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.encoding import EncodingError, b64_decode, b64url_decode, b64url_encode
from nmshd_tokens.domain.ids import is_backbone_address, make_address

from .loopback_service import LoopbackService

LOGIN_ATTEMPTS_BEFORE_LOCKOUT = 3
LOGIN_LOCKOUT = timedelta(minutes=10)
TOKEN_LOCK_AFTER = 100
ANONYMOUS_MAX_LIFETIME = timedelta(minutes=5)
MAX_CONTENT_BYTES = 10 * 1024 * 1024
MAX_PASSWORD_BYTES = 200
CLEANUP_AFTER_EXPIRY = timedelta(days=30)
NOT_FOUND_MESSAGE = (
    "Token not found. Make sure the ID exists and the record is not expired. "
    "If a password is required to fetch the record, make sure you passed the correct one."
)
_ID_ALPHABET = string.ascii_letters + string.digits
# The transport's PasswordGenerator.createStrongPassword(45, 50) for device passwords: "ease" letters and digits
# plus these specials, at least one of each kind. '#', '+', '?' and ',' must survive the login form's encoding.
_LIBRARY_SPECIALS = "!?-_.:,;#+"
_LIBRARY_LOWER = "abcdefghijkmnpqrstuvwxyz"
_LIBRARY_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_LIBRARY_DIGITS = "123456789"
_ERROR_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ123456789"  # the Backbone's: no I, O or 0
_TOKEN_ID_RE = re.compile(r"TOK[A-Za-z0-9]{1,17}")
_JSON = "application/json; charset=utf-8"
_INVALID_ID = "'id': The ID or Address is not valid. Check length, prefix and the used characters."
_HOLD_LIMIT = 30.0  # a held request waits for its release at most this long (a test that forgot to release it)


class Headers(Protocol):
    """Request headers: http.server's message (case-insensitive) or, in tests, a dict."""

    def get(self, name: str, default: None = None) -> str | None: ...

    def items(self) -> Iterable[tuple[str, str]]: ...


def _random(alphabet: str, length: int = 17) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def device_password() -> str:
    """A device password as the transport library generates one: 45–50 characters, one special at least."""
    kinds = (_LIBRARY_SPECIALS, _LIBRARY_LOWER, _LIBRARY_UPPER, _LIBRARY_DIGITS)
    mixed = _LIBRARY_LOWER + _LIBRARY_UPPER + _LIBRARY_DIGITS + _LIBRARY_SPECIALS
    characters = [secrets.choice(kind) for kind in kinds]
    characters += [secrets.choice(mixed) for _ in range(41 + secrets.randbelow(6))]
    secrets.SystemRandom().shuffle(characters)
    return "".join(characters)


@dataclass(frozen=True)
class StandinDevice:
    """A device that can log in: its OAuth client, its login, and the identity it acts for."""

    client_id: str
    client_secret: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    address: str
    device_id: str

    @classmethod
    def generate(
        cls, client: StandinDevice | None = None, address: str | None = None, password: str | None = None
    ) -> StandinDevice:
        """A new device; with `client`, of the same OAuth client (tenant); with `address`, of that identity."""
        return cls(
            client_id=client.client_id if client else "standin",
            client_secret=client.client_secret if client else secrets.token_urlsafe(24),
            username="USR" + _random(_ID_ALPHABET),
            password=password or device_password(),
            address=address or make_address(),
            device_id="DVC" + _random(_ID_ALPHABET),
        )


@dataclass
class StoredBackboneToken:
    id: str
    created_at: datetime
    expires_at: datetime
    created_by: str | None
    created_by_device: str | None
    for_identity: str | None
    content: bytes | None
    password: bytes | None
    failed_attempts: int = 0
    allocations: set[str] = field(default_factory=set)

    def dto(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "createdBy": self.created_by,
            "createdByDevice": self.created_by_device,
            "forIdentity": self.for_identity,
            "createdAt": format_timestamp(self.created_at),
            "expiresAt": format_timestamp(self.expires_at),
            "content": None if self.content is None else b64url_encode(self.content),
            "isPasswordProtected": bool(self.password),
        }


@dataclass(frozen=True)
class Call:
    """One request as it arrived; `bearer` is none, valid, expired or unknown (never the token itself).

    With `record_wire`, also the headers in arrival order (the bearer replaced by its state), the raw query and
    the body, so tests can compare clients on the wire; they may hold test credentials, so they never print.
    """

    method: str
    path: str
    bearer: str
    caller: str | None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    query: str = field(default="", repr=False)
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = _JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Session:
    address: str
    device_id: str
    expires_at: datetime


@dataclass
class _Fault:
    remaining: int
    route: str | None
    status: int | None = None
    delay: float = 0.0
    hold: threading.Event | None = None
    body: bytes | None = None


def _json_reply(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode("utf-8"), headers=headers or {})


class StandinBackbone(LoopbackService):
    thread_name = "standin-backbone"

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        device: StandinDevice | None = None,
        token_lifetime: int = 300,
        clock: Callable[[], datetime] | None = None,
        idle_timeout: float = 30.0,
        record_wire: bool = False,
    ) -> None:
        super().__init__(host, port, "the stand-in listens on loopback only: it has no real authentication")
        self.device = device or StandinDevice.generate()  # the one `env()` hands to remote mode
        self.devices: dict[str, StandinDevice] = {self.device.username: self.device}
        self.record_wire = record_wire
        self.token_lifetime = token_lifetime  # `expires_in` of the next logins
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.quota_exhausted = False
        self.major_version = "7"  # what GET /api/v2/Version answers, as a string
        self.tokens: dict[str, StoredBackboneToken] = {}
        self.calls: list[Call] = []
        self.logins = 0
        self._idle_timeout = idle_timeout
        self._sessions: dict[str, _Session] = {}
        self._login_failures: dict[str, int] = {}  # per username: the Backbone locks a device, not a tenant
        self._locked_until: dict[str, datetime] = {}
        self._faults: list[_Fault] = []
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.RLock()

    # --- life cycle --------------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("_BoundHandler", (_Handler,), {"standin": self, "timeout": self._idle_timeout})

    def env(self) -> dict[str, str]:
        """The environment for remote mode against this stand-in, as its device."""
        return {
            "BACKBONE_MODE": "remote",
            "BACKBONE_BASE_URL": self.base_url,
            "BACKBONE_CLIENT_ID": self.device.client_id,
            "BACKBONE_CLIENT_SECRET": self.device.client_secret,
            "BACKBONE_USERNAME": self.device.username,
            "BACKBONE_PASSWORD": self.device.password,
            "SERVICE_ADDRESS": self.device.address,
            "SERVICE_DEVICE_ID": self.device.device_id,
        }

    # --- test knobs --------------------------------------------------------------------------------

    def add_device(self, address: str | None = None, password: str | None = None) -> StandinDevice:
        """Another device of the same OAuth client: of identity `address`, by default a new identity."""
        device = StandinDevice.generate(client=self.device, address=address, password=password)
        with self._lock:
            self.devices[device.username] = device
        return device

    def fail_next(self, count: int, status: int = 503, route: str | None = None, body: bytes | None = None) -> None:
        """The next `count` requests (to `route`: "login" or "tokens"; None: any) answer `status` (with `body`)."""
        with self._lock:
            self._faults.append(_Fault(count, route, status=status, body=body))

    def delay_next(self, count: int, seconds: float, route: str | None = None) -> None:
        """The next `count` requests wait `seconds` before they are handled (client timeouts)."""
        with self._lock:
            self._faults.append(_Fault(count, route, delay=seconds))

    def hold_next(self, count: int, route: str | None = None) -> threading.Event:
        """The next `count` requests (to `route`) wait until the returned event is set, then are handled."""
        release = threading.Event()
        with self._lock:
            self._faults.append(_Fault(count, route, hold=release))
        return release

    def drop_connections(self) -> None:
        """Closes every open connection, as a server does with kept-alive connections that were idle too long."""
        if self._server is not None:
            self._server.close_connections()

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted since the start."""
        return self._server.opened if self._server is not None else 0

    def revoke_access_tokens(self) -> None:
        """Every issued access token becomes unknown, as after a change of the Backbone's signing keys."""
        with self._lock:
            self._sessions.clear()

    def reset_failed_attempts(self, token_id: str) -> None:
        """What the admin tooling's ResetAccessFailedCountOfToken does."""
        with self._lock:
            self.tokens[token_id].failed_attempts = 0

    # --- requests ----------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Headers, body: bytes) -> Reply:
        """One request, without sockets: routing, faults, then the route's behaviour."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        lower = path.lower()
        route = "login" if lower == "/connect/token" else "tokens" if lower.startswith("/api/v2/tokens") else None
        with self._lock:
            session, bearer = self._caller(headers)
            self.calls.append(self._call(method, parts.query, path, bearer, session, headers, body))
            fault = self._take_fault(route)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.hold is not None:
            fault.hold.wait(_HOLD_LIMIT)
        correlation = (headers.get("X-Correlation-ID") or secrets.token_hex(16))[:100]
        if fault is not None and fault.status is not None:
            reply = self._fault_reply(fault.status, fault.body)
        else:
            with self._lock:
                session, _ = self._caller(headers)  # judged when handled (a delay may have outlived the bearer)
                reply = self._route(method, path, parts.query, session, headers, body)
        reply.headers.setdefault("X-Correlation-ID", correlation)
        return reply

    def _call(
        self, method: str, query: str, path: str, bearer: str, session: _Session | None, headers: Headers, body: bytes
    ) -> Call:
        caller = session.address if session else None
        if not self.record_wire:
            return Call(method, path, bearer, caller)
        recorded = tuple(
            (name, f"{value.partition(' ')[0]} <{bearer}>" if name.lower() == "authorization" else value)
            for name, value in headers.items()
        )
        return Call(method, path, bearer, caller, recorded, query, body)

    def own_hosts(self) -> set[tuple[str, int | None]]:
        """The Host values that name this stand-in: its loopback address or localhost, with its port."""
        names = (
            {self.host.lower(), "localhost", "127.0.0.1"} if self.host in ("127.0.0.1", "localhost") else {self.host}
        )
        return {(name, self.port) for name in names}

    def misdirected_request(self) -> Reply:
        """421 in the Backbone's envelope (the code is the stand-in's own: the Backbone never answers 421)."""
        message = f"This stand-in answers only for {self.host}:{self.port}."
        return self._error(421, "error.standin.misdirectedRequest", message)

    def unparseable_request(self, message: str) -> Reply:
        return self._unparseable(message)

    def _take_fault(self, route: str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.route in (None, route):
                fault.remaining -= 1
                return fault
        return None

    def _fault_reply(self, status: int, body: bytes | None) -> Reply:
        if body is not None:
            return Reply(status, body)
        if status == 500:
            return _json_reply(500, self._envelope("error.platform.unexpected", "An unexpected error occurred."))
        return Reply(status, b"upstream unavailable", "text/plain")  # what a proxy in front would answer

    def _route(
        self, method: str, path: str, query: str, session: _Session | None, headers: Headers, body: bytes
    ) -> Reply:
        lower = path.lower()
        if method == "POST" and lower == "/connect/token":
            return self._login(headers, body)
        if method == "POST" and lower == "/api/v2/tokens":
            return self._create(session, headers, body)
        if method == "GET" and lower.startswith("/api/v2/tokens/") and lower.count("/") == 4:
            return self._get(session, path.rsplit("/", 1)[1], query)
        if method == "DELETE" and lower.startswith("/api/v2/tokens/") and lower.count("/") == 4:
            return self._delete(session, path.rsplit("/", 1)[1])
        if method == "GET" and lower == "/api/v2/version":
            return _json_reply(200, {"result": {"majorVersion": self.major_version}})
        allowed = _allowed_methods(lower)
        if allowed:
            # ASP.NET Core's routing for a route of other methods (no CORS policy answers a preflight): no body.
            return Reply(405, content_type=None, headers={"Allow": ", ".join(allowed)})
        return Reply(404, content_type="text/plain")

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _caller(self, headers: Headers) -> tuple[_Session | None, str]:
        """A missing, unknown or expired bearer: anonymous (the token routes allow anonymous callers)."""
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "none"
        session = self._sessions.get(token.strip())
        if session is None:
            return None, "unknown"
        if self._now() >= session.expires_at:
            return None, "expired"
        return session, "valid"

    def _envelope(self, code: str, message: str, data: Any = None) -> dict[str, Any]:
        return {
            "error": {
                "id": "ERR" + _random(_ERROR_ID_ALPHABET),
                "code": code,
                "message": message,
                "docs": "",
                "time": format_timestamp(self._now()),
                "data": data,
            }
        }

    def _error(self, status: int, code: str, message: str, data: Any = None) -> Reply:
        return _json_reply(status, self._envelope(code, message, data))

    def _invalid(self, message: str) -> Reply:
        return self._error(400, "error.platform.validation.invalidPropertyValue", message)

    def _unparseable(self, message: str) -> Reply:
        return self._error(400, "error.platform.inputCannotBeParsed", message)

    # --- POST /connect/token -----------------------------------------------------------------------

    def _login(self, headers: Headers, body: bytes) -> Reply:
        if _media_type(headers) != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "The specified 'Content-Type' header is invalid.")
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "The mandatory 'grant_type' parameter is missing.")
        if grant_type != "password":
            return _oauth_error(400, "unsupported_grant_type", "The specified 'grant_type' is not supported.")
        if not form.get("username") or not form.get("password"):
            return _oauth_error(400, "invalid_request", "The mandatory 'username' and/or 'password' are missing.")
        client = self.device  # one OAuth client: every device shares it
        if not _same(form.get("client_id"), client.client_id) or not _same(
            form.get("client_secret"), client.client_secret
        ):
            return _oauth_error(401, "invalid_client", "The specified client credentials are invalid.")
        device = self.devices.get(form["username"])
        if device is None:
            return _oauth_error(400, "invalid_grant", "The username/password couple is invalid.")
        now = self._now()
        locked_until = self._locked_until.get(device.username)
        if locked_until is not None and now < locked_until:
            return _oauth_error(
                400, "access_denied", "The user is temporarily locked out, please try again in a few minutes."
            )
        if not _same(form.get("password"), device.password):
            failures = self._login_failures.get(device.username, 0) + 1
            self._login_failures[device.username] = failures
            if failures >= LOGIN_ATTEMPTS_BEFORE_LOCKOUT:
                self._locked_until[device.username], self._login_failures[device.username] = now + LOGIN_LOCKOUT, 0
            return _oauth_error(400, "invalid_grant", "The username/password couple is invalid.")
        self._login_failures[device.username] = 0
        self.logins += 1
        lifetime = self.token_lifetime
        access_token = self._jwt(device, now, lifetime)
        self._sessions[access_token] = _Session(device.address, device.device_id, now + timedelta(seconds=lifetime))
        return _json_reply(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime})

    def _jwt(self, device: StandinDevice, now: datetime, lifetime: int) -> str:
        """A signed JWT with the Backbone's claims; the stand-in itself only looks it up in its sessions."""
        header = {"alg": "HS256", "typ": "at+jwt"}
        claims = {
            "sub": device.username,
            "name": device.username,
            "nmshd_address": device.address,
            "device_id": device.device_id,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + lifetime,
            "jti": secrets.token_hex(8),
        }
        signing_input = ".".join(b64url_encode(json.dumps(part).encode()) for part in (header, claims))
        signature = hmac.new(self._signing_key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{b64url_encode(signature)}"

    # --- POST /api/v2/Tokens -----------------------------------------------------------------------

    def _create(self, caller: _Session | None, headers: Headers, body: bytes) -> Reply:
        if _media_type(headers) != "application/json":
            problem = {"title": "Unsupported Media Type", "status": 415}
            return Reply(415, json.dumps(problem).encode(), "application/problem+json; charset=utf-8")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deeper than the parser goes
            return self._unparseable("'$': The request body is not valid JSON.")
        if not isinstance(data, dict):
            return self._unparseable("'$': The JSON value could not be converted to CreateTokenRequest.")
        fields = {key.lower(): value for key, value in data.items()}  # names match case-insensitively
        if "expiresat" not in fields:
            return self._unparseable(
                "'$': JSON deserialization was missing required properties including: 'expiresAt'."
            )
        expires_at = _parse_date(fields["expiresat"])
        if expires_at is None:
            return self._unparseable("'$.expiresAt': The JSON value could not be converted to System.DateTime.")
        decoded: dict[str, bytes | None] = {}
        for name in ("content", "password"):
            try:
                decoded[name] = _body_bytes(fields.get(name))
            except EncodingError:
                return self._unparseable(f"'$.{name}': The JSON value could not be converted to System.Byte[].")
        content, password = decoded["content"], decoded["password"]
        for_identity = fields.get("foridentity")
        if for_identity is not None and not isinstance(for_identity, str):
            return self._unparseable("'$.forIdentity': The JSON value could not be converted to System.String.")
        failure = self._validate_create(caller, expires_at, for_identity, content, password)
        if failure is not None:
            return self._invalid(failure)
        now = self._now()
        if caller is not None and self.quota_exhausted:  # anonymous callers skip quotas
            until = format_timestamp(now + timedelta(hours=1))
            return self._error(
                429,
                "error.platform.quotaExhausted",
                "You cannot do this because your quota for this action is exhausted.",
                [{"metricKey": "NumberOfTokens", "isExhaustedUntil": until}],
            )
        token = StoredBackboneToken(
            id="TOK" + _random(_ID_ALPHABET),
            created_at=now.replace(microsecond=now.microsecond // 1000 * 1000),
            expires_at=expires_at,
            created_by=caller.address if caller else None,
            created_by_device=caller.device_id if caller else None,
            for_identity=for_identity,
            content=content,
            password=password,
        )
        self.tokens[token.id] = token
        result = {"id": token.id, "createdAt": format_timestamp(token.created_at)}
        return _json_reply(201, {"result": result}, {"Location": f"/api/v2/Tokens/{token.id}"})

    def _validate_create(
        self,
        caller: _Session | None,
        expires_at: datetime,
        for_identity: str | None,
        content: bytes | None,
        password: bytes | None,
    ) -> str | None:
        """The validator's rules in order; only the first failure counts."""
        now = self._now()
        if for_identity is not None and not is_backbone_address(for_identity):
            return "'forIdentity': The ID or Address is not valid. Check length, prefix and the used characters."
        if password is not None and not 1 <= len(password) <= MAX_PASSWORD_BYTES:
            return f"'password' must be between 1 and 200 bytes long. You entered {len(password)} bytes."
        if expires_at <= now:
            return "'expiresAt' must be in the future."
        if caller is None:
            if content is not None:
                return "'content' must be empty."
            if expires_at >= now + ANONYMOUS_MAX_LIFETIME:
                return f"'expiresAt' must be less than '{format_timestamp(now + ANONYMOUS_MAX_LIFETIME)}'."
        elif content is not None and len(content) > MAX_CONTENT_BYTES:
            return f"'content' must be between 0 and {MAX_CONTENT_BYTES} bytes long. You entered {len(content)} bytes."
        return None

    # --- GET /api/v2/Tokens/{id} -------------------------------------------------------------------

    def _get(self, caller: _Session | None, token_id: str, query: str) -> Reply:
        raw = next((values[0] for key, values in parse_qs(query).items() if key.lower() == "password"), "")
        password: bytes | None = None
        if raw:  # empty means absent
            try:
                password = _query_bytes(raw)
            except EncodingError:
                return self._unparseable("'password': The value is not valid.")
        if not _TOKEN_ID_RE.fullmatch(token_id) or len(token_id) > 20:
            return self._invalid(_INVALID_ID)
        if password is not None and len(password) > MAX_PASSWORD_BYTES:
            return self._invalid(f"'password' must be between 1 and 200 bytes long. You entered {len(password)} bytes.")
        token = self.tokens.get(token_id)
        now = self._now()
        if (
            token is None or now - CLEANUP_AFTER_EXPIRY > token.expires_at
        ):  # housekeeping deleted it (no overflow at 9999)
            return self._not_found()
        return self._access(token, caller, password, now)

    def _access(
        self, token: StoredBackboneToken, caller: _Session | None, password: bytes | None, now: datetime
    ) -> Reply:
        """The Backbone's `Token.TryToAccess`, in its order."""
        address = caller.address if caller else None
        if token.created_by == address:  # the owner; anonymous matches anonymous
            return self._found(token)
        if address is not None and address in token.allocations:
            return self._found(token)
        if token.expires_at < now:
            return self._not_found()
        if token.failed_attempts >= TOKEN_LOCK_AFTER:
            return self._locked()
        if token.for_identity is not None and token.for_identity != address:
            return self._not_found()  # not counted as a failed attempt
        if token.password and (password is None or not hmac.compare_digest(token.password, password)):
            token.failed_attempts += 1
            return self._locked() if token.failed_attempts >= TOKEN_LOCK_AFTER else self._not_found()
        if address is not None:
            token.allocations.add(address)
        return self._found(token)

    # --- DELETE /api/v2/Tokens/{id} ----------------------------------------------------------------

    def _delete(self, caller: _Session | None, token_id: str) -> Reply:
        """The creator's hard delete, even of an expired or locked token (the DeleteToken handler)."""
        if caller is None:
            # The route is not anonymous: the authorization middleware challenges before the handler runs.
            return Reply(401, content_type=None, headers={"WWW-Authenticate": "Bearer"})
        if not _TOKEN_ID_RE.fullmatch(token_id) or len(token_id) > 20:
            return self._invalid(_INVALID_ID)  # '{PropertyName}', camel-cased: the same text as for GET
        token = self.tokens.get(token_id)
        if token is None or self._now() - CLEANUP_AFTER_EXPIRY > token.expires_at:
            return self._not_found()
        if token.created_by != caller.address:  # an anonymous token's creator is null: nobody may delete it
            return self._error(
                403,
                "error.platform.forbidden",
                "You are not allowed to perform this action due to insufficient privileges.",
            )
        del self.tokens[token_id]
        return Reply(204, content_type=None)

    def _found(self, token: StoredBackboneToken) -> Reply:
        return _json_reply(200, {"result": token.dto()})

    def _not_found(self) -> Reply:
        return self._error(404, "error.platform.recordNotFound", NOT_FOUND_MESSAGE)

    def _locked(self) -> Reply:
        return self._error(
            400,
            "error.platform.token.tooManyFailedPasswordAttempts",
            "Too many wrong password attempts, the token is locked.",
        )


def _allowed_methods(lower_path: str) -> tuple[str, ...]:
    """The methods of the route at `lower_path`; () for a path the Backbone has no route for."""
    if lower_path in ("/connect/token", "/api/v2/tokens"):
        return ("POST",)
    if lower_path.startswith("/api/v2/tokens/") and lower_path.count("/") == 4:
        return ("GET", "DELETE")
    if lower_path == "/api/v2/version":
        return ("GET",)
    return ()


def _content_length(values: list[str]) -> int | None:
    """The one Content-Length, 0 without one; None when it is repeated or not a decimal number."""
    if not values:
        return 0
    if len(values) > 1 or not values[0].strip().isascii() or not values[0].strip().isdecimal():
        return None
    return int(values[0].strip())


def _host_and_port(host_header: str) -> tuple[str, int | None] | None:
    """`LocalHost:8090` → ("localhost", 8090); None when it is not a host[:port]."""
    try:
        parts = urlsplit(f"//{host_header.strip()}")
        port = parts.port
    except ValueError:
        return None
    if parts.hostname is None or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname, port


def _media_type(headers: Headers) -> str:
    return (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and secret_texts_equal(given, expected)


def _oauth_error(status: int, error: str, description: str) -> Reply:
    """OpenIddict's error format, not the Backbone envelope."""
    return _json_reply(status, {"error": error, "error_description": description})


def _parse_date(value: object) -> datetime | None:
    """`DateTime.Parse(s).ToUniversalTime()`; a string without a zone is server-local time, here UTC."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _body_bytes(value: object) -> bytes | None:
    """JSON byte arrays: base64url (padding optional), else standard base64 (Base64Helper)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise EncodingError("not a string")
    try:
        return b64url_decode(value)
    except EncodingError:
        return b64_decode(value)


def _query_bytes(value: str) -> bytes:
    """`Convert.FromBase64String`: standard alphabet with padding; white space (an unescaped '+') is skipped."""
    compact = re.sub(r"[ \t\r\n]", "", value)
    if len(compact) % 4:
        raise EncodingError("not base64")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise EncodingError("not base64") from None


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every answer has a Content-Length."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    standin: StandinBackbone  # set on the subclass that `start` creates

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Every method is routed (OPTIONS, PUT, …): 405 + Allow on a known path, else 404, never an HTML 501."""
        if name.startswith("do_"):
            return lambda: self._serve(self.command)
        raise AttributeError(name)

    def _serve(self, method: str) -> None:
        reply = self._misdirected()
        length = _content_length(self.headers.get_all("Content-Length") or [])
        if reply is None and length is None:
            reply = self.standin.unparseable_request("The 'Content-Length' header is not valid.")
        if reply is not None:
            self.close_connection = True  # the body's end is unknown (or not ours to read)
        else:
            body = self.rfile.read(length) if length else b""
            reply = self.standin.handle(method, self.path, self.headers, body)
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        if reply.status != 204:  # a 204 has no body and no Content-Length (RFC 9110, 8.6)
            self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

    def _misdirected(self) -> Reply | None:
        """421 unless there is exactly one Host header and it names this stand-in: its loopback host and port.

        As the local server: a DNS-rebinding web page gets no answer from a server without real authentication.
        """
        hosts = self.headers.get_all("Host") or []
        standin = self.standin
        if len(hosts) == 1 and _host_and_port(hosts[0]) in standin.own_hosts():
            return None
        return standin.misdirected_request()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry password hashes in their query."""
