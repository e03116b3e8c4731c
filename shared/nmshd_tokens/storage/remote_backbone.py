"""The remote Backbone: tokens published to a real enmeshed Backbone as the service's device.

Wire contract, as the Backbone's source and the Connector's transport library speak it: device login by OAuth
password grant (`/connect/token`), `POST /api/v2/Tokens`, `GET /api/v2/Tokens/{id}` (anonymous for the embedded
backbone's peer route, signed in to load a peer token as the service), the creator's `DELETE /api/v2/Tokens/{id}`
and `GET /api/v2/Version`. tests/unit/test_upstream_wire.py compares these requests with the upstream transport
library's. Credentials, hashes, token content and query strings are never logged: log lines name the route, the
status and the Backbone's error code only.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.util import SKIP_HEADER

from .. import metrics
from ..domain.clock import format_timestamp, parse_iso_datetime, utc_now
from ..domain.encoding import EncodingError, b64_encode, b64url_decode
from ..domain.errors import BackboneRefusal, DomainError, ErrorKind
from ..domain.ids import is_token_id
from ..domain.tokens import Token, TokenDraft
from ..usecases.ports import CommandAlreadyRecorded, TokenWrite
from .secrets import CredentialSource

# A child of the Powertools logger (service "nmshd-tokens"): its JSON lines, with the `extra` keys.
logger = logging.getLogger("nmshd-tokens.remote_backbone")

LOGIN_PATH = "/connect/token"
TOKENS_PATH = "/api/v2/Tokens"
VERSION_PATH = "/api/v2/Version"
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
# A token's content may be 10 MiB (the Backbone's limit), 13.4 MiB in base64: any answer of ours fits in 16 MiB.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_POOL_SIZE = 10  # kept connections: a Lambda uses one; the local server's threads may use more at once
_MIN_ATTEMPT_SECONDS = 0.05  # less time than this left: another attempt cannot succeed
# The Backbone's validation message when it treats the caller as anonymous (see _answered_as_anonymous).
_ANONYMOUS_CONTENT_MESSAGE = "must be empty"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of timeouts, refused connections and 5xx; everything, login included, fits in `budget`.

    The defaults keep a create call (login + POST, each retried) under 7 s, well inside the Lambda's 10 s.
    """

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 1.0
    attempt_timeout: float = 2.5
    budget: float = 7.0

    def delay(self, retry: int) -> float:
        # Full jitter: instances that failed together do not retry together.
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2**retry))  # noqa: S311 - not a secret


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> dict[str, Any]:
        """The body's JSON object; {} for anything else: not JSON, not UTF-8, nested too deep, not an object."""
        try:
            data = json.loads(self.body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return {}
        return data if isinstance(data, dict) else {}

    def error(self) -> tuple[str, str] | None:
        """`(code, message)` from the Backbone's error envelope, if the answer is one."""
        error = self.json().get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return error["code"], str(error.get("message") or "")
        return None


class Unreachable(Exception):
    """No usable HTTP answer: a timeout, a refused or dropped connection, a body over the size limit."""


class Transport(Protocol):
    def request(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer: ...


class PooledTransport:
    """urllib3's connection pool (already loaded by botocore): kept-alive connections, so a warm Lambda skips the
    TCP and TLS handshakes, and a connection the server closed while idle is replaced before it is used.

    One attempt per call, no redirects: retries and the time budget are RemoteBackbone's, not urllib3's `Retry`,
    which logs the URL (a peer load's `?password=` hash) at WARNING on each retry, sleeps with `time.sleep`, has
    no full jitter and no deadline across attempts. An answer is read up to `max_body` bytes; a longer one is cut
    off and the connection dropped.
    """

    def __init__(self, base_url: str, max_body: int = MAX_ANSWER_BYTES) -> None:
        parts = urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")  # a Backbone behind a path prefix
        self._max_body = max_body
        # Certificates and host names are verified (urllib3's default); no User-Agent header, as before.
        self._pool = urllib3.PoolManager(num_pools=1, maxsize=_POOL_SIZE)

    def request(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        try:
            response = self._pool.request(
                method,
                self._origin + self._prefix + target,
                body=body,
                headers={"User-Agent": SKIP_HEADER, **headers},
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # timeouts included
            raise Unreachable(type(exc).__name__) from None
        try:
            data = response.read(self._max_body + 1)
            failure = "AnswerTooLarge" if len(data) > self._max_body else None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure = type(exc).__name__
        if failure is not None:
            response.close()  # the connection too: what is left of the answer is not read (it may be endless)
        response.release_conn()
        if failure is not None:
            raise Unreachable(failure)
        return Answer(response.status, data)

    def close(self) -> None:
        self._pool.clear()


class PublicationRecords(Protocol):
    def write_publication(self, write: TokenWrite, token: Token) -> None:
        """The local part of a publication (the token's record, the command's record), after the Backbone's."""
        ...

    def delete_token(self, token_id: str) -> None:
        """The local part of a revoke, after the Backbone's."""
        ...

    def get_token(self, token_id: str) -> Token | None:
        """A kept token's record (also after it expired, until its retention ends)."""
        ...


@dataclass(frozen=True)
class AccessToken:
    bearer: str = field(repr=False)
    renew_at: float  # on the session clock; past it the token is not used any more
    address: str | None = None
    device_id: str | None = None


def token_request_body(draft: TokenDraft) -> dict[str, Any]:
    """As the transport library's `sendToken` builds it: optional fields are left out, not null."""
    details = draft.details
    body: dict[str, Any] = {"content": draft.content_cipher, "expiresAt": format_timestamp(details.expires_at)}
    if details.for_identity:
        body["forIdentity"] = details.for_identity
    if draft.password_hash is not None:
        body["password"] = b64_encode(draft.password_hash)  # standard base64 with padding, as CoreBuffer writes it
    return body


def jwt_claims(bearer: str) -> dict[str, Any]:
    """A JWT's claims, unverified (only compared with the configuration); {} for an opaque token."""
    parts = bearer.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except (EncodingError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class RemoteBackbone:
    """TokenPublisher and PeerTokenReader against a real Backbone at `base_url`.

    Login: the access token is shared by every call of the process and renewed `min(max_margin, 25 % of its
    lifetime)` before it expires. Renewal must be proactive: the token routes allow anonymous callers, so the
    Backbone silently treats a stale bearer as anonymous instead of answering 401. If that
    happens anyway (say the Backbone's signing keys changed), the create call logs in once more and retries.
    A refused login is not repeated for `refusal_cooldown` seconds: three wrong passwords lock the device,
    which the Connector may share, for ten minutes.

    Non-ephemeral tokens: the record is written only after the Backbone accepted the token, because the id
    comes from the Backbone and there is no transaction across the two. If that write fails, the token exists
    on the Backbone only: the caller gets 503 and may retry (creating a new token). The orphan harms no one:
    its key was never handed out, so nobody can read it; it counts against the identity's token quota until
    the Backbone deletes it, 30 days after its expiresAt (never, in practice, for the 9999-12-31 default).
    """

    def __init__(
        self,
        base_url: str,
        credentials: CredentialSource,
        records: PublicationRecords,
        *,
        transport: Transport | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utc_now,
        max_margin: float = 60.0,
        refusal_cooldown: float = 300.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._records = records
        self._transport = transport or PooledTransport(self.base_url)
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._max_margin = max_margin
        self._refusal_cooldown = refusal_cooldown
        self._token: AccessToken | None = None
        self._refused_until: float | None = None
        self._login_lock = threading.Lock()

    # --- TokenPublisher ----------------------------------------------------------------------------

    def publish(self, write: TokenWrite) -> Token:
        deadline = self._clock() + self._retry.budget
        token = self._create(write.draft, deadline)
        if write.keeps_record or write.command is not None:
            self._write_locally(write, token)
        return token

    def _create(self, draft: TokenDraft, deadline: float) -> Token:
        body = json.dumps(token_request_body(draft), separators=(",", ":")).encode("utf-8")
        token = self._bearer(deadline)
        _check_identity(token, draft)
        answer = self._send("POST", TOKENS_PATH, body, _headers(token, _JSON), deadline, "create token")
        if _answered_as_anonymous(answer):
            logger.warning("the backbone treated the access token as anonymous; logging in again")
            token = self._bearer(deadline, stale=token)
            answer = self._send("POST", TOKENS_PATH, body, _headers(token, _JSON), deadline, "create token")
            if _answered_as_anonymous(answer):
                logger.error("the backbone treats a fresh access token as anonymous")
                raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)
        if answer.status in (200, 201):
            result = answer.json().get("result")
            result = result if isinstance(result, dict) else {}
            created_at = parse_iso_datetime(result.get("createdAt"))
            if is_token_id(result.get("id")) and created_at is not None:
                return Token(str(result["id"]), created_at, draft.details)
        raise _refusal(answer, "create token")

    def _write_locally(self, write: TokenWrite, token: Token) -> None:
        try:
            self._records.write_publication(write, token)
        except CommandAlreadyRecorded:
            raise  # another delivery of the command won; our token is an orphan nobody holds a reference to
        except Exception as exc:
            # The token id alone opens nothing (the key was never handed out); it helps to find the orphan.
            logger.error(
                "token published, but its record was not written",
                extra={"token_id": token.id, "error_type": type(exc).__name__},
            )
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE) from exc

    # --- PeerTokenReader ---------------------------------------------------------------------------

    def fetch_for_peer(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        """Anonymous, as a peer without an account: a bearer would make us the owner and skip every check."""
        deadline = self._clock() + self._retry.budget
        answer = self._send(
            "GET", _token_target(token_id, password_hash), None, {"Accept": _JSON}, deadline, "get token"
        )
        return _backbone_token(answer)

    def fetch_for_service(self, token_id: str, password_hash: bytes | None) -> dict[str, Any]:
        """Signed in as the service's device, as the transport library's TokenClient loads a peer token: the
        Backbone then lets a token personalised for us through and allocates it to us."""
        deadline = self._clock() + self._retry.budget
        answer = self._send_signed_in("GET", _token_target(token_id, password_hash), deadline, "get token")
        return _backbone_token(answer)

    def _send_signed_in(self, method: str, target: str, deadline: float, route: str) -> Answer:
        """A request as the service's device; a 401 (a bearer the Backbone no longer accepts) gets one new login
        and one retry, as the transport library does."""
        token = self._bearer(deadline)
        answer = self._send(method, target, None, _headers(token), deadline, route)
        if answer.status == 401:
            logger.warning("the backbone did not accept the access token; logging in again")
            token = self._bearer(deadline, stale=token)
            answer = self._send(method, target, None, _headers(token), deadline, route)
        return answer

    def exists(self, token_id: str) -> bool:
        """Whether one of our kept tokens, unexpired, has this id: read from our records, never from the Backbone.

        The Backbone cannot answer this without side effects: as the owner it answers 200 for a locked token too;
        as anyone else, a password-protected token counts a failed attempt (100 lock it) and another identity's
        token is allocated to the reader. Ephemeral tokens have no record: they count as absent here (their
        references point to the remote Backbone's own /r/ page, not to ours).
        """
        token = self._records.get_token(token_id)  # a kept peer token is another identity's: not ours
        return token is not None and token.details.is_own and token.details.expires_at > self._now()

    # --- login -------------------------------------------------------------------------------------

    def _bearer(self, deadline: float, stale: AccessToken | None = None) -> AccessToken:
        with self._login_lock:  # single flight: concurrent callers wait for one login
            now = self._clock()
            token = self._token
            if token is not None and token is not stale and now < token.renew_at:
                return token
            if self._refused_until is not None and now < self._refused_until:
                raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)
            self._token = None
            self._token = self._login(deadline)
            return self._token

    def _login(self, deadline: float) -> AccessToken:
        credentials = self._credentials.get()
        form = urlencode(
            {
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "grant_type": "password",
                "username": credentials.username,
                "password": credentials.password,
            },
            quote_via=quote,  # a space as %20, as the transport's qs.stringify writes it (not '+')
        ).encode("ascii")
        started = self._clock()  # the lifetime counts from before the request: errs on the safe side
        answer = self._send("POST", LOGIN_PATH, form, {"Content-Type": _FORM, "Accept": _JSON}, deadline, "login")
        data = answer.json()
        bearer, lifetime = data.get("access_token"), _seconds(data.get("expires_in"))
        if answer.status == 200 and isinstance(bearer, str) and bearer and lifetime is not None:
            renew_at = started + lifetime - min(self._max_margin, lifetime * 0.25)
            claims = jwt_claims(bearer)
            return AccessToken(bearer, renew_at, claims.get("nmshd_address"), claims.get("device_id"))
        if answer.status in (400, 401):
            self._refused_until = self._clock() + self._refusal_cooldown
            self._credentials.forget()  # a rotated secret is read again after the cool-down
            oauth_error = data.get("error")
            logger.error(
                "the backbone refused the device login",
                extra={"status": answer.status, "oauth_error": oauth_error if isinstance(oauth_error, str) else None},
            )
        else:
            logger.error("unexpected answer to the device login", extra={"status": answer.status})
        raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)

    # --- HTTP with retries -------------------------------------------------------------------------

    def _send(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str], deadline: float, route: str
    ) -> Answer:
        """The first answer below 500; timeouts, dropped connections and 5xx are retried within the deadline."""
        started = time.monotonic()
        try:
            for attempt in range(self._retry.attempts):
                if attempt:
                    metrics.count(metrics.BACKBONE_RETRIES, Route=route)
                    self._sleep(min(self._retry.delay(attempt - 1), max(0.0, deadline - self._clock())))
                remaining = deadline - self._clock()
                if remaining < _MIN_ATTEMPT_SECONDS:
                    break
                timeout = min(self._retry.attempt_timeout, remaining)
                try:
                    answer = self._transport.request(method, target, body, headers, timeout)
                except Unreachable as exc:
                    failure = str(exc)
                else:
                    if answer.status < 500:
                        return answer
                    failure = f"HTTP {answer.status}"
                extra = {"route": route, "attempt": attempt + 1, "failure": failure}
                logger.warning("backbone call failed", extra=extra)
            logger.error("backbone unavailable", extra={"route": route})
            metrics.count(metrics.BACKBONE_FAILURES, Route=route)
            raise DomainError(ErrorKind.SERVICE_UNAVAILABLE)
        finally:
            metrics.milliseconds(metrics.BACKBONE_LATENCY, (time.monotonic() - started) * 1000, Route=route)

    # --- TokenRevoker ------------------------------------------------------------------------------

    def revoke(self, token: Token) -> None:
        """The Backbone first, then the record: a refusal keeps the record, so the revoke can be tried again."""
        self.delete_on_backbone(token.id)
        self._records.delete_token(token.id)

    def delete_on_backbone(self, token_id: str) -> None:
        """Deletes our token on the Backbone (`DELETE /api/v2/Tokens/{id}`; only its creator may).

        A 404 with the Backbone's recordNotFound means it already forgot the token (deleted before, or cleaned
        up 30 days after its expiry): done, too. Other refusals pass through with the Backbone's status, code
        and message (403 error.platform.forbidden for another identity's token). Unlike create, the route is
        not anonymous: a bearer the Backbone does not accept gets 401, answered, as the transport library does,
        by one new login and one retry.
        """
        deadline = self._clock() + self._retry.budget
        target = f"{TOKENS_PATH}/{quote(token_id, safe='')}"
        answer = self._send_signed_in("DELETE", target, deadline, "delete token")
        error = answer.error()
        if answer.status in (200, 204):
            return
        if answer.status == 404 and error is not None and error[0] == ErrorKind.TOKEN_NOT_FOUND.code:
            logger.info("the backbone no longer knows the token", extra={"token_id": token_id})
            return
        if answer.status != 401 and 400 <= answer.status < 500 and error is not None:
            logger.warning(
                "the backbone refused to delete the token",
                extra={"status": answer.status, "backbone_error_code": error[0]},
            )
            raise BackboneRefusal(answer.status, error[0], error[1])
        # A 401 after a fresh login, or a 404 without the Backbone's envelope (a wrong base URL or a proxy).
        raise _refusal(answer, "delete token")

    # --- health ------------------------------------------------------------------------------------

    def check_version(self, timeout: float = 2.0) -> bool:
        """The Backbone answers `GET /api/v2/Version` with a major version the transport supports (6 or 7).

        One call, no retry: a health probe must stay cheap and quick.
        """
        try:
            answer = self._transport.request("GET", VERSION_PATH, None, {"Accept": _JSON}, timeout)
        except Unreachable:
            return False
        result = answer.json().get("result")
        major = result.get("majorVersion") if isinstance(result, dict) else None
        return answer.status == 200 and str(major) in ("6", "7")

    def check_login(self, timeout: float = 3.0) -> bool:
        """The device login works: the shared access token is valid or a new login succeeds within `timeout`.

        A refused login is not repeated during its cool-down (three wrong passwords lock the device), so a
        health route polled often cannot lock anyone out.
        """
        try:
            self._bearer(self._clock() + timeout)
        except DomainError:
            return False
        return True


def _token_target(token_id: str, password_hash: bytes | None) -> str:
    target = f"{TOKENS_PATH}/{quote(token_id, safe='')}"
    if password_hash:  # the Backbone reads an empty value as no password
        # The Backbone's Convert.FromBase64String: standard, padded.
        target += "?" + urlencode({"password": b64_encode(password_hash)})
    return target


def _backbone_token(answer: Answer) -> dict[str, Any]:
    """The Backbone's answer to `GET /api/v2/Tokens/{id}`: the token, or its 404, its lock, its other refusals."""
    result = answer.json().get("result")
    if answer.status == 200 and isinstance(result, dict) and is_token_id(result.get("id")):
        # A TokenDTO holds strings, booleans and nulls only: nothing nested goes on to our caller.
        return {key: value for key, value in result.items() if isinstance(value, str | bool | int | float | None)}
    if answer.status == 404:
        raise DomainError(ErrorKind.TOKEN_NOT_FOUND)
    error = answer.error()
    if answer.status == 400 and error is not None and error[0] == ErrorKind.TOKEN_LOCKED.code:
        raise DomainError(ErrorKind.TOKEN_LOCKED)
    raise _refusal(answer, "get token")


def _headers(token: AccessToken, content_type: str | None = None) -> dict[str, str]:
    headers = {"Accept": _JSON, "Authorization": f"Bearer {token.bearer}"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _seconds(value: object) -> float | None:
    """`expires_in`: a positive number of seconds, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf:
        return float(value)
    return None


def _answered_as_anonymous(answer: Answer) -> bool:
    """'content' must be empty: only anonymous callers get this, so our bearer did not count."""
    error = answer.error()
    return (
        answer.status == 400
        and error is not None
        and error[0] == ErrorKind.BACKBONE_VALIDATION.code
        and "content" in error[1].lower()
        and _ANONYMOUS_CONTENT_MESSAGE in error[1].lower()
    )


def _check_identity(token: AccessToken, draft: TokenDraft) -> None:
    """The TokenDTO names the configured identity; the Backbone records the device's. They must agree."""
    if (token.address and token.address != draft.details.created_by) or (
        token.device_id and token.device_id != draft.details.created_by_device
    ):
        logger.warning("SERVICE_ADDRESS or SERVICE_DEVICE_ID differ from the identity the backbone login belongs to")


def _refusal(answer: Answer, route: str) -> DomainError:
    """The Backbone's 400s pass through with its code and message; 429 is quota; anything else is 503."""
    error = answer.error()
    if answer.status == 429:
        return DomainError(ErrorKind.QUOTA_EXHAUSTED, error[1] if error else None, code=error[0] if error else None)
    if answer.status == 400 and error is not None:
        return DomainError(ErrorKind.BACKBONE_VALIDATION, error[1] or None, code=error[0])
    logger.error(
        "unexpected backbone answer",
        extra={"route": route, "status": answer.status, "backbone_error_code": error[0] if error else None},
    )
    return DomainError(ErrorKind.SERVICE_UNAVAILABLE)
