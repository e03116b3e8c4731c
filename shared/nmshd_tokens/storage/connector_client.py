"""The team's Connector as the source of Files and RelationshipTemplates (SPEC §15): its own REST API, read with
its API key (header X-API-KEY), Connector 7 under /api/core/v1, Connector 6.36 under /api/v2.

Every call has 2 s to answer. The key is never logged; log lines name the route, the status and the record id.
Anything the Connector answers that is not what its OpenAPI document promises is "answered badly" (503), as are
its 5xx; its 401/403 are "refused" (503), its 404 means the record does not exist.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.util import SKIP_HEADER

from ..domain.connector_dtos import DtoError, own_identity, record_from_dto
from ..domain.errors import DomainError, ErrorKind
from ..domain.files_and_templates import FileRecord, TemplateRecord
from ..domain.ids import is_address, is_file_id
from ..usecases.ports import ConnectorCopy
from .secret_text import KeptSecret, SecretUnreadable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

logger = logging.getLogger("nmshd-tokens.connector")

TIMEOUT_SECONDS = 2.0
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # an own list of many thousand DTOs
VERSION_PATH = "/Monitoring/Version"
ROUTE_MISSING = "error.connector.http.routeDoesNotExist"  # the Connector's 404 for a path it does not route
API_PREFIXES = {"v2": "/api/v2", "core/v1": "/api/core/v1"}

Record = FileRecord | TemplateRecord


class ConnectorUnavailable(DomainError):
    """503 error.connector.serviceUnavailable, with a message that says what the Connector did (never the key);
    `refused`: the Connector's 401 or 403, if that was its answer."""

    def __init__(self, message: str, refused: int | None = None) -> None:
        super().__init__(ErrorKind.SERVICE_UNAVAILABLE, message)
        self.refused = refused


def unreachable(base_url: str) -> ConnectorUnavailable:
    return ConnectorUnavailable(
        f"The Connector at {base_url} could not be reached or did not answer within {TIMEOUT_SECONDS:g} s."
        " Please try again later."
    )


def refused(status: int) -> ConnectorUnavailable:
    return ConnectorUnavailable(
        f"The Connector refused this service's API key (HTTP {status}): the key must be valid and allowed to read"
        " Files and RelationshipTemplates.",
        status,
    )


def answered_badly(what: str) -> ConnectorUnavailable:
    return ConnectorUnavailable(f"The Connector answered badly: {what}. Please try again later.")


class ConnectorClient:
    """Reads the Connector's Files, RelationshipTemplates, identity and version.

    `api_key`: called for the key when a call needs it (a Secrets Manager secret is read on first use).
    `api`: "v2" or "core/v1"; None: found once from GET /Monitoring/Version (major version 7 or later: core/v1).
    """

    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str],
        api: str | None = None,
        *,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self._api_key = api_key
        self._prefix = API_PREFIXES[api] if api else None
        self._timeout = timeout
        self._lock = threading.Lock()
        # Certificates and host names are verified (urllib3's default); the Lambda keeps the connection warm.
        self._pool = urllib3.PoolManager(num_pools=1, maxsize=10)

    # --- calls -------------------------------------------------------------------------------------

    def _get(self, path: str) -> tuple[int, Any]:
        """(status, JSON body or None) of one GET; ConnectorUnavailable when there is no usable answer."""
        try:
            response = self._pool.request(
                "GET",
                self.base_url + path,
                headers={"X-API-KEY": self._api_key(), "Accept": "application/json", "User-Agent": SKIP_HEADER},
                timeout=urllib3.Timeout(total=self._timeout),
                retries=False,
                redirect=False,
                preload_content=False,
            )
            try:
                body = response.read(MAX_ANSWER_BYTES + 1)
                if len(body) > MAX_ANSWER_BYTES:
                    response.close()  # and its connection: the rest of the answer is never read
            finally:
                response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # timeouts included
            logger.warning(
                "the connector did not answer", extra={"route": _route(path), "error_type": type(exc).__name__}
            )
            raise unreachable(self.base_url) from None
        status = response.status
        if status in (401, 403):
            logger.error("the connector refused the API key", extra={"route": _route(path), "status": status})
            raise refused(status)
        if len(body) > MAX_ANSWER_BYTES:
            raise answered_badly("an answer larger than 64 MiB")
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError):
            data = None
        if status >= 500 or (status != 404 and status >= 300):
            logger.error("the connector answered with an error", extra={"route": _route(path), "status": status})
            raise answered_badly(f"HTTP {status} for {_route(path)}")
        if status == 404 and _error_code(data) in (None, ROUTE_MISSING):
            # Not the Connector's "no such record": a wrong CONNECTOR_BASE_URL or CONNECTOR_API, or a proxy.
            logger.error("the connector has no such route", extra={"route": _route(path)})
            raise answered_badly(f"HTTP 404 without a Connector error for {_route(path)} (check CONNECTOR_BASE_URL)")
        return status, data

    def prefix(self) -> str:
        """/api/core/v1 or /api/v2: as configured, else asked once."""
        with self._lock:
            if self._prefix is None:
                self._prefix = API_PREFIXES["core/v1" if self._speaks_core_v1() else "v2"]
            return self._prefix

    def _speaks_core_v1(self) -> bool:
        try:
            return self.major_version() >= 7
        except ConnectorUnavailable as exc:
            if exc.refused != 403:
                raise
            # A key that is valid but lacks the scope monitoring:version: only Connector 7 has scoped keys.
            logger.info("the API key may not read the Connector's version: speaking Connector 7's /api/core/v1")
            return True

    def major_version(self) -> int:
        status, data = self._get(VERSION_PATH)
        version = data.get("version") if status == 200 and isinstance(data, dict) else None
        major = version.split(".", 1)[0] if isinstance(version, str) else ""
        if not major.isascii() or not major.isdigit():
            raise answered_badly("GET /Monitoring/Version named no version")
        return int(major)

    def address(self) -> str | None:
        """The Connector identity's address (GET …/Account/IdentityInfo); None when the key lacks the scope
        core:account (403): each own record's owner is then compared instead."""
        try:
            status, data = self._get(self.prefix() + "/Account/IdentityInfo")
        except ConnectorUnavailable as exc:
            if exc.refused != 403:
                raise
            return None
        address = _result(data).get("address") if status == 200 else None
        if not is_address(address):
            raise answered_badly("Account/IdentityInfo named no enmeshed address")
        return str(address)

    def record(self, record_id: str) -> ConnectorCopy | None:
        """The File or RelationshipTemplate with this id; None when the Connector answers 404."""
        kind = "Files" if is_file_id(record_id) else "RelationshipTemplates"
        status, data = self._get(f"{self.prefix()}/{kind}/{quote(record_id, safe='')}")
        if status == 404:
            return None
        copy = _mapped(data, kind)
        if copy.record.id != record_id:
            raise answered_badly(f"GET {kind}/{{id}} answered with another record's DTO")
        return copy

    def own_records(self) -> Iterator[ConnectorCopy]:
        """Every own File, then every own RelationshipTemplate."""
        for kind in ("Files", "RelationshipTemplates"):
            status, data = self._get(f"{self.prefix()}/{kind}/Own")
            items = data.get("result") if status == 200 and isinstance(data, dict) else None
            if not isinstance(items, list):
                raise answered_badly(f"GET {kind}/Own answered no list")
            for item in items:
                yield _mapped({"result": item}, kind)

    def close(self) -> None:
        self._pool.clear()


def _error_code(data: Any) -> str | None:
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _result(data: Any) -> dict[str, Any]:
    result = data.get("result") if isinstance(data, dict) else None
    return result if isinstance(result, dict) else {}


def _mapped(data: Any, kind: str) -> ConnectorCopy:
    dto = _result(data)
    try:
        record = record_from_dto(dto)
    except DtoError as exc:
        logger.error("the connector answered a malformed DTO", extra={"route": kind, "problem": str(exc)})
        raise answered_badly(f"a malformed {kind[:-1]}DTO") from None
    if kind == "Files" and not isinstance(record, FileRecord):
        raise answered_badly("a RelationshipTemplateDTO for a File")
    if kind == "RelationshipTemplates" and not isinstance(record, TemplateRecord):
        raise answered_badly("a FileDTO for a RelationshipTemplate")
    return ConnectorCopy(record, own_identity(dto))


def _route(path: str) -> str:
    """The path with the record id left out (ids are no secret, but a route groups the log lines)."""
    return "/".join("{id}" if part.startswith(("FIL", "RLT")) else part for part in path.split("/"))


class SecretApiKey:
    """The Connector's API key from a Secrets Manager secret (its SecretString is the key): read on first use,
    then kept for the life of the instance."""

    def __init__(self, secret_id: str, client_factory: Callable[[], SecretsManagerClient]) -> None:
        self._secret = KeptSecret(secret_id, client_factory, _api_key_of)

    def get(self) -> str:
        try:
            return self._secret.read()
        except SecretUnreadable as exc:
            logger.error(f"cannot read the Connector's API key secret: {exc.reason}")
            raise ConnectorUnavailable("The Connector's API key could not be read from its secret.") from None


def _api_key_of(text: str) -> str:
    key = text.strip()
    if not key:
        logger.error("CONNECTOR_API_KEY_SECRET_ARN: the secret holds no API key")
        raise ConnectorUnavailable("The Connector's API key secret is empty.")
    return key
