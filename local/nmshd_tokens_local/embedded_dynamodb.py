"""An in-process DynamoDB for `serve`: moto's ThreadedMotoServer on a loopback port, for SDKs only.

moto answers any Origin with permissive CORS, so any web page could read the tables (keys, passwords) or reset a
lockout counter through a visitor's browser. Here it refuses every browser request (an SDK never sends Origin or
Sec-Fetch-*) and every Host that is not a loopback name (DNS rebinding), and sends no CORS headers at all.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from .aws_env import local_endpoint
from .errors import CommandError

HOST = "127.0.0.1"
LOOPBACK_HOST_NAMES = frozenset({"127.0.0.1", "localhost"})
_BROWSER_HEADERS = ("HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_MODE")


def check_port_free(port: int, what: str, option: str) -> None:
    """Fail with a message that says which port is taken and how to choose another one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves bind: connections of a previous run in TIME_WAIT do not count as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"{what} port {HOST}:{port} is already in use (another `nmshd-tokens serve`?); "
                    f"choose another with {option}"
                ) from None
            raise CommandError(f"cannot use {what} port {HOST}:{port}: {exc.strerror}") from None


class _OneRequestAtATime:
    """WSGI wrapper: moto's backend is not thread-safe, so requests are served one at a time.

    Without it, concurrent writes break it: TransactWriteItems deep-copies a table while a PutItem changes it
    ("dictionary changed size during iteration", a 500 that reaches the caller as an unexpected error), and a
    conditional put or an `ADD` counter update is a read-modify-write that two threads can interleave, which
    real DynamoDB never does. The body is read inside the lock, so no response is produced from a changing table.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def _host_name(environ: dict[str, Any]) -> str | None:
    try:
        return urlsplit(f"//{environ.get('HTTP_HOST', '')}").hostname
    except ValueError:  # e.g. an unbalanced "[" in the Host header
        return None


class _SdkClientsOnly:
    """WSGI wrapper: 403 for browsers and foreign Host names; no Access-Control-* header ever leaves."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if any(name in environ for name in _BROWSER_HEADERS) or _host_name(environ) not in LOOPBACK_HOST_NAMES:
            body = b"The embedded DynamoDB answers SDK clients on loopback only.\n"
            start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            return start_response(status, kept, *args)

        return self._app(environ, without_cors)


def _snapshot_only_touched_items() -> None:
    """Make moto's TransactWriteItems cost what the transaction touches, not what the tables hold.

    moto snapshots every table a transaction names with copy.deepcopy, for a rollback: O(table size) per
    transaction, so under load each persistent token took longer than the last (80 ms at 800 items, growing).
    Here the snapshot is of the named items only, restored the same way on failure; with one request at a time
    (_OneRequestAtATime) nothing else changes the tables in between. Installed once per process.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "_snapshots_touched_items", False):
        return
    original = backend.transact_write_items
    real_copy = models.copy  # type: ignore[attr-defined]

    class _CopyDuringTransaction:
        """What moto's module sees as `copy`: a table is "copied" as itself while a transaction runs."""

        active = False

        def __getattr__(self, name: str) -> Any:
            return getattr(real_copy, name)

        def deepcopy(self, value: Any, *args: Any) -> Any:
            if self.active and isinstance(value, Table):
                return value
            return real_copy.deepcopy(value, *args)

    shim = _CopyDuringTransaction()

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for entry in transact_items:
            for op_type, op in entry.items():
                table = self.tables.get(op.get("TableName"))
                if table is None or op_type == "ConditionCheck":
                    continue
                if op_type == "Put":
                    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
                    key = {name: op["Item"][name] for name in names if name in op.get("Item", {})}
                else:
                    key = op.get("Key") or {}
                try:
                    item = self.get_item(op["TableName"], key)
                except Exception:  # noqa: S112 - a malformed key: moto's own call below reports it
                    continue
                touched.append(
                    (op["TableName"], key, real_copy.deepcopy(item.to_json()["Attributes"]) if item else None)
                )
        shim.active = True
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(touched):
                if attributes is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            raise
        finally:
            shim.active = False

    transact_write_items._snapshots_touched_items = True  # type: ignore[attr-defined]
    setattr(models, "copy", shim)  # noqa: B010 - moto's module attribute, replaced on purpose
    setattr(backend, "transact_write_items", transact_write_items)  # noqa: B010


class EmbeddedDynamoDB:
    """moto's DynamoDB over HTTP in a background thread; the data lives in this process's memory."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return local_endpoint(self.port)

    def start(self) -> str:
        check_port_free(self.port, "DynamoDB", "--dynamodb-port")
        # werkzeug logs every request moto serves; the server's own output is what the user needs to see.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        class SerialisedMotoServer(ThreadedMotoServer):
            def _server_entry(self) -> None:  # moto's own, with the application wrapped
                app = _SdkClientsOnly(_OneRequestAtATime(DomainDispatcherApplication(create_backend_app)))
                self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
                self._server_ready_event.set()
                self._server.serve_forever()

        _snapshot_only_touched_items()
        self._server = SerialisedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        self._server.start()
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
