"""A stand-in for a team's Connector, on loopback: the read routes the read-through and `records sync` use
(SPEC §15), for tests, benchmarks and `nmshd-tokens serve --connector standin`.

It answers both generations (Connector 7 under /api/core/v1, Connector 6.36 under /api/v2; `version` decides
what GET /Monitoring/Version says), checks the X-API-KEY header as the Connector does (401 without a valid key;
403 for a key without the route's scope, when `scopes` is set, as Connector 7's scoped keys), and serves FileDTOs and
RelationshipTemplateDTOs with the fields the Connector's OpenAPI document requires. `fail` makes every call
(or, with `fail_ids`, the calls naming those ids) fail: "404", "401", "403", "500", "malformed", "slow", "down".
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from nmshd_tokens.domain.clock import format_timestamp
from nmshd_tokens.domain.files_and_templates import FileRecord, TemplateRecord
from nmshd_tokens.domain.password_protection import indicator_for_output
from nmshd_tokens.domain.references import Reference, SharedPasswordProtection

from .loopback_service import LoopbackService

FAILURES = ("404", "401", "403", "500", "malformed", "slow", "down")
STANDIN_DEVICE_ID = "DVCstandinConnect001"
CREATED_AT = "2026-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class Call:
    method: str
    path: str


def file_dto(record: FileRecord, owner: str, *, truncated: str | None = None, v2: bool = False) -> dict[str, Any]:
    """A Connector FileDTO for the record; `truncated`: its reference as another library made it."""
    reference = truncated or Reference(record.id, record.secret_key).truncated
    dto: dict[str, Any] = {
        "id": record.id,
        "filename": f"{record.id}.pdf",
        "filesize": 1024,
        "createdAt": CREATED_AT,
        "createdBy": owner,
        "createdByDevice": STANDIN_DEVICE_ID,
        "expiresAt": format_timestamp(record.expires_at) if record.expires_at else None,
        "mimetype": "application/pdf",
        "isOwn": True,
        "owner": owner,
        "title": record.id,
        "reference": {"truncated": reference, "url": f"https://backbone.invalid/r/{record.id}"},
    }
    if v2:
        dto["truncatedReference"] = reference
    return dto


def template_dto(
    record: TemplateRecord, owner: str, *, truncated: str | None = None, v2: bool = False
) -> dict[str, Any]:
    """A Connector RelationshipTemplateDTO for the record; `truncated`: its reference as another library made it."""
    protection = record.password_protection
    shared = None
    if protection is not None:
        shared = SharedPasswordProtection(protection.password_type, protection.salt, protection.location_indicator)
    reference = (
        truncated
        or Reference(
            record.id, record.secret_key, None, Reference.truncate_address(record.for_identity), shared
        ).truncated
    )
    dto: dict[str, Any] = {
        "id": record.id,
        "isOwn": record.is_own,
        "createdBy": owner,
        "createdByDevice": STANDIN_DEVICE_ID,
        "createdAt": CREATED_AT,
        "expiresAt": format_timestamp(record.expires_at) if record.expires_at else "9999-12-31T00:00:00.000Z",
        "content": {"@type": "ArbitraryRelationshipTemplateContent", "value": {}},
        "reference": {"truncated": reference, "url": f"https://backbone.invalid/r/{record.id}"},
    }
    if record.for_identity:
        dto["forIdentity"] = record.for_identity
    if protection is not None:
        given: dict[str, Any] = {"password": protection.password}
        if protection.password_type.startswith("pin"):
            given["passwordIsPin"] = True
        if protection.location_indicator is not None:
            given["passwordLocationIndicator"] = indicator_for_output(protection.location_indicator)
        dto["passwordProtection"] = given
    if v2:
        dto["truncatedReference"] = reference
    return dto


class StandinConnector(LoopbackService):
    thread_name = "standin-connector"

    def __init__(
        self,
        address: str,
        *,
        api_key: str | None = None,
        version: str = "7.4.6",
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host, port, "the stand-in Connector listens on loopback only")
        self.address = address
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.version = version
        self.dtos: dict[str, dict[str, Any]] = {}  # id → FileDTO or RelationshipTemplateDTO (Connector 7's shape)
        self.fail: str | None = None
        self.fail_ids: set[str] = set()  # empty: `fail` applies to every call
        self.release = threading.Event()  # ends a "slow" answer early (tests set it when they are done)
        self.slow_seconds = 5.0
        self.calls: list[Call] = []
        # Connector 7's scoped API keys: None allows every route; else a route needs its scope (403 without).
        self.scopes: set[str] | None = None
        self._lock = threading.Lock()

    # --- content -----------------------------------------------------------------------------------

    def add(self, record: FileRecord | TemplateRecord, *, truncated: str | None = None) -> dict[str, Any]:
        """Serve the record as its DTO (from now on); returns the DTO."""
        if isinstance(record, FileRecord):
            dto = file_dto(record, self.address, truncated=truncated)
        else:
            dto = template_dto(record, self.address, truncated=truncated)
        with self._lock:
            self.dtos[record.id] = dto
        return dto

    def remove(self, record_id: str) -> None:
        with self._lock:
            self.dtos.pop(record_id, None)

    def calls_to(self, suffix: str) -> int:
        """How many calls named a path ending in `suffix` (e.g. a record's id)."""
        return sum(1 for call in self.calls if call.path.endswith(suffix))

    # --- life cycle --------------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("_BoundConnectorHandler", (_Handler,), {"standin": self, "timeout": 30.0})

    def stop(self) -> None:
        self.release.set()  # a "slow" answer held open ends with the stand-in
        super().stop()

    # --- answers -----------------------------------------------------------------------------------

    def answer(self, path: str, key: str | None) -> tuple[int, Any]:
        """(status, JSON body) for a GET of `path`; "malformed" answers are handled by the caller."""
        if key is None or not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return 401, _error("error.connector.unauthorized", "Unauthorized.")
        if self.scopes is not None and _scope(path) not in self.scopes:
            return 403, _error("error.connector.forbidden", "You are not allowed to access this endpoint.")
        if path == "/Monitoring/Version":
            return 200, {"build": "0", "commit": "standin", "version": self.version, "date": CREATED_AT}
        prefix = "/api/core/v1" if int(self.version.split(".")[0]) >= 7 else "/api/v2"
        if not path.startswith(prefix + "/"):
            return 404, _error("error.connector.http.routeDoesNotExist", "The requested route does not exist.")
        route = path[len(prefix) :]
        v2 = prefix == "/api/v2"
        if route == "/Account/IdentityInfo":
            return 200, {"result": {"address": self.address, "publicKey": "c3RhbmRpbg"}}
        with self._lock:
            dtos = dict(self.dtos)
        for kind, id_prefix in (("Files", "FIL"), ("RelationshipTemplates", "RLT")):
            if route == f"/{kind}/Own":
                own = [_for_generation(dto, v2) for key_id, dto in sorted(dtos.items()) if key_id.startswith(id_prefix)]
                return 200, {"result": [dto for dto in own if dto.get("isOwn", True)]}
            if route.startswith(f"/{kind}/"):
                record_id = route[len(kind) + 2 :]
                dto = dtos.get(record_id) if record_id.startswith(id_prefix) else None
                if dto is None:
                    name = "File" if kind == "Files" else "RelationshipTemplate"
                    return 404, _error(
                        "error.runtime.recordNotFound",
                        f"{name} not found. Make sure the ID exists and the record is not expired.",
                    )
                return 200, {"result": _for_generation(dto, v2)}
        return 404, _error("error.connector.http.routeDoesNotExist", "The requested route does not exist.")

    def failure_for(self, path: str) -> str | None:
        if self.fail is None:
            return None
        if self.fail_ids and not any(path.endswith("/" + record_id) for record_id in self.fail_ids):
            return None
        return self.fail


def _scope(path: str) -> str:
    """The scope Connector 7 requires for a route (its controllers' @Security, the version route's guard)."""
    if path == "/Monitoring/Version":
        return "monitoring:version"
    for part, scope in (
        ("/Account/", "core:account"),
        ("/Files", "core:files"),
        ("/RelationshipTemplates", "core:relationshipTemplates"),
    ):
        if part in path:
            return scope
    return "*"


def _for_generation(dto: dict[str, Any], v2: bool) -> dict[str, Any]:
    if not v2:
        return dto
    return dto | {"truncatedReference": dto["reference"]["truncated"]}


def _error(code: str, message: str) -> dict[str, Any]:
    now = format_timestamp(datetime.now(UTC))
    return {"error": {"id": "ERRstandin", "code": code, "message": message, "time": now, "docs": ""}}


class _Handler(BaseHTTPRequestHandler):
    standin: StandinConnector
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm holds the body until the client's
        # delayed ACK (40 ms). The Connector (Node.js) sends without delay too.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return None  # quiet: the key is in a header, never logged, and tests read `calls`

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        standin = self.standin
        path = urlsplit(self.path).path
        with standin._lock:
            standin.calls.append(Call("GET", path))
        failure = standin.failure_for(path)
        if failure == "down":
            self.close_connection = True
            self.connection.close()  # no answer at all: the client sees the connection dropped
            return
        if failure == "slow":
            standin.release.wait(standin.slow_seconds)
        status, body = standin.answer(path, self.headers.get("X-API-KEY"))
        if failure in ("404", "401", "403", "500"):
            status, body = int(failure), _error("error.standin.fault", f"the stand-in answers {failure}")
        data = json.dumps(body, separators=(",", ":")).encode()
        if failure == "malformed":
            data = b'{"result": {"id": "not a DTO"}}' if status == 200 else b"<html>not JSON</html>"
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
