"""The `nmshd-tokens serve` command: the local stack started and stopped in order (SPEC §12).

The embedded DynamoDB, the stand-in Backbone if asked for, the functions, the HTTP server (http_server.py) on
127.0.0.1, the demo records and the banner; Ctrl-C stops them all.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from nmshd_tokens.config import ConfigError, Settings
from nmshd_tokens.storage.aws_clients import aws_client
from nmshd_tokens.storage.records_table import DynamoRecordsRepository

from .api_keys_file import PLACEHOLDER, LocalKeys, local_keys
from .aws_env import ENDPOINT_VARIABLE, use_endpoint
from .embedded_dynamodb import HOST, EmbeddedDynamoDB, check_port_free
from .errors import CommandError
from .functions import LocalFunction
from .http_server import LocalApi, LocalHttpServer
from .page import render_page
from .records_target import RecordsTarget
from .routes import (
    BACKBONE_TOKEN_PATH,
    FILE_TOKEN_PATH,
    KEPT_TOKEN_PATH,
    OWN_TOKENS_PATH,
    TEMPLATE_TOKEN_PATH,
    ApiSpec,
    RouteMatch,
    TemplateError,
    api_from_template,
)
from .seed import DEMO_PASSWORD, FILE_ID, PASSWORD_TEMPLATE_ID, DemoRecord, seed
from .standin_backbone import StandinBackbone
from .state import ServeState, remove_state, write_state
from .tables import TEMPLATE_PATH, create_tables, load_template

# Where the printed example commands write their files: not the checkout (curl creates the folder).
EXAMPLES_DIR = Path(tempfile.gettempdir()) / "nmshd-tokens"


@dataclass(frozen=True)
class ServeOptions:
    port: int
    dynamodb_port: int
    embedded_dynamodb: bool = True
    seed: bool = True
    template_path: Path = TEMPLATE_PATH
    backbone: str = "embedded"  # or "standin": remote mode against a local stand-in of the real Backbone
    backbone_port: int = 0
    api_keys_file: Path | None = None  # --api-keys: the Connector's key configuration; None: one generated key
    started_at: float = field(default_factory=time.perf_counter)  # for "ready in X s"


def say(line: str = "") -> None:
    """stdout is the user's view: the banner, then one access line per request."""
    print(line, flush=True)


def send_json_logs_to_stderr() -> None:
    """The functions' JSON log lines go to stderr, so that stdout shows the banner and the access lines cleanly.

    Powertools writes them to stdout (in Lambda both streams end in CloudWatch); every stream handler that writes
    to stdout, of whichever logger the functions created at import, is pointed at stderr instead.
    """
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)


def _load_api(template_path: Path) -> tuple[ApiSpec, dict[str, Any]]:
    if not template_path.is_file():
        raise CommandError(f"{template_path} not found: serve reads the routes and tables from it")
    template = load_template(template_path)
    try:
        api = api_from_template(template, template_path.parent)
    except TemplateError as exc:
        raise CommandError(f"template.yaml: {exc}") from None
    for method, path in (
        ("POST", FILE_TOKEN_PATH),
        ("POST", TEMPLATE_TOKEN_PATH),
        ("GET", BACKBONE_TOKEN_PATH),
        ("GET", OWN_TOKENS_PATH),
        ("GET", KEPT_TOKEN_PATH),
        ("DELETE", KEPT_TOKEN_PATH),
    ):
        if not isinstance(api.resolve(method, path.replace("{id}", "X")), RouteMatch):
            raise CommandError(f"template.yaml routes no {method} {path}")
    return api, template


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


def _curl(url: str, api_key: str, accept: str, body: str | None = None, output: Path | None = None) -> str:
    parts = ["curl", "-s", "-X", "POST", url, "-H", f"x-api-key: {api_key}", "-H", f"Accept: {accept}"]
    if body is not None:
        parts += ["-H", "Content-Type: application/json", "-d", body]
    if output is not None:
        parts += ["--create-dirs", "-o", str(output)]
    return " ".join(shlex.quote(part) for part in parts)


def program() -> str:
    """How the user called us, quoted for a shell, so that the printed and shown `load` and `records` lines work
    when pasted (`.venv/bin/nmshd-tokens` …)."""
    invoked = sys.argv[0] if sys.argv else ""
    return shlex.quote(invoked) if Path(invoked).name == "nmshd-tokens" else "nmshd-tokens"


def shell_variables(api_key: str, api_url: str) -> str:
    """`K=<key> B=<base URL>`, quoted for a POSIX shell: the variables the README's examples use."""
    return f"K={shlex.quote(api_key)} B={shlex.quote(api_url)}"


def _banner(keys: LocalKeys, demos: list[DemoRecord], state: ServeState, state_file: Path | None) -> None:
    if demos:
        say("demo records:")
        for demo in demos:
            say(f"  {demo.record.id}  {demo.label}" + (f" ({demo.hint})" if demo.hint else ""))
        say()
    if keys.source is None:
        say(f"API key: {keys.shown}")
    else:
        ids = ", ".join(key.id for key in keys.keys.keys)
        say(f"API keys: {ids} from {keys.source} (header {keys.keys.header_name})")
        if keys.shown is None:
            say("          the web page and the examples below use $API_KEY when it is one of them")
    api_key = keys.shown or PLACEHOLDER
    say(f"API:      {state.api_url}/api/v2/… (Connector 6) and {state.api_url}/api/core/v1/… (Connector 7)")
    say(f"backbone: {state.backbone_url}")
    say(f"web page: {state.page_url}")
    say(f"DynamoDB: {state.dynamodb_endpoint or 'AWS (no endpoint override)'}")
    if state_file is not None:
        say(f"state:    {state_file} (records, load and status find it; --server {state.port} when several run)")
    say(f"shell:    {shell_variables(api_key, state.api_url)}   (paste it: the README's examples use $K and $B)")
    if not demos:
        return
    file_url = state.api_url + FILE_TOKEN_PATH.replace("{id}", FILE_ID)
    template_url = state.api_url + TEMPLATE_TOKEN_PATH.replace("{id}", PASSWORD_TEMPLATE_ID)
    body = json.dumps({"passwordProtection": {"password": DEMO_PASSWORD}}, separators=(",", ":"))
    token_png, template_png = EXAMPLES_DIR / "token.png", EXAMPLES_DIR / "template-token.png"
    say()
    say("try:")
    say("  " + _curl(file_url, api_key, "application/json"))
    say("  " + _curl(file_url, api_key, "image/png", output=token_png))
    say(f"  {program()} load {shlex.quote(str(token_png))}")
    say("  " + _curl(template_url, api_key, "image/png", body=body, output=template_png))
    say(f"  {program()} load {shlex.quote(str(template_png))} --password {shlex.quote(DEMO_PASSWORD)}")


def _record_state(state: ServeState) -> Path | None:
    try:
        return write_state(state)
    except OSError as exc:  # a read-only checkout: the other commands then need their options
        print(f"cannot write the state file: {exc.strerror}", file=sys.stderr, flush=True)
        return None


class _StopSignal:
    """SIGINT and SIGTERM end `serve` the same way: an orderly shutdown and exit status 0."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()


def _check_connector(settings: Settings) -> None:
    """With a Connector configured, SERVICE_ADDRESS must be its identity's address: a mismatch refuses to start,
    an unreachable Connector is a warning (the read-through checks again before its first read)."""
    if settings.connector_base_url is None:
        return
    from nmshd_tokens.container import connector_client
    from nmshd_tokens.domain.errors import DomainError
    from nmshd_tokens.usecases.read_through import address_mismatch_message

    connector = connector_client(settings)
    try:
        address = connector.address()
    except DomainError as exc:
        say(f"warning: {exc.message} Tokens for records only the Connector has are refused (503) until it answers.")
        return
    finally:
        connector.close()
    if address is None:
        say(
            "warning: the Connector's API key may not read its identity (scope core:account): the owner of each"
            " record read from it is compared with SERVICE_ADDRESS instead"
        )
        return
    if address != settings.service_address:
        raise CommandError(address_mismatch_message(settings.service_address, address))
    say(f"Connector {settings.connector_base_url} (identity {address}): Files and templates are read through")


def _start_dynamodb(options: ServeOptions) -> tuple[EmbeddedDynamoDB | None, str | None]:
    """The embedded DynamoDB, unless an endpoint is configured or the user asked for real AWS."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if not options.embedded_dynamodb or endpoint:
        return None, endpoint
    say(f"starting DynamoDB (moto) on {HOST}:{options.dynamodb_port}…")
    database = EmbeddedDynamoDB(options.dynamodb_port)
    return database, database.start()


def _start(
    options: ServeOptions,
    api: ApiSpec,
    template: dict[str, Any],
    settings: Settings,
    records: DynamoRecordsRepository,
    keys: LocalKeys,
    embedded_endpoint: str | None,
) -> LocalHttpServer:
    """Tables (in the embedded DynamoDB only), the functions, and the bound (not yet serving) HTTP server."""
    if embedded_endpoint is not None:
        names = {"RecordsTable": settings.records_table, "BackboneTable": settings.backbone_table}
        created = create_tables(aws_client("dynamodb", settings.region), names, template)
        say(f"created tables {', '.join(created) or '(none: they exist)'}")
    say(f"loading functions {', '.join(api.functions)}…")
    functions = {logical_id: LocalFunction.load(spec) for logical_id, spec in api.functions.items()}
    send_json_logs_to_stderr()
    page_key = keys.shown or ""
    called_as = program()
    local_api = LocalApi(
        api, functions, keys.keys, page=lambda: render_page(records.list_own_records(), page_key, called_as)
    )
    try:
        return LocalHttpServer((HOST, options.port), local_api, log=say)
    except OSError as exc:
        raise CommandError(f"cannot listen on {HOST}:{options.port}: {exc.strerror}") from None


def _start_standin(options: ServeOptions) -> StandinBackbone | None:
    """Remote mode against a local stand-in of the real Backbone: the handlers log in and POST to it."""
    if options.backbone != "standin":
        return None
    standin = StandinBackbone(options.backbone_port)
    try:
        standin.start()
    except OSError as exc:
        raise CommandError(f"cannot start the stand-in Backbone: {exc.strerror}") from None
    os.environ.update(standin.env())
    say(f"stand-in Backbone on {standin.base_url} (remote mode; identity {standin.device.address})")
    return standin


def serve(options: ServeOptions) -> int:
    stop = _StopSignal()
    stop.install()
    api, template = _load_api(options.template_path)
    base_url = f"http://{HOST}:{options.port}"
    standin = _start_standin(options)
    try:
        return _serve(options, api, template, base_url, stop)
    finally:
        if standin is not None:
            standin.stop()


def _serve(options: ServeOptions, api: ApiSpec, template: dict[str, Any], base_url: str, stop: _StopSignal) -> int:
    os.environ.setdefault("BACKBONE_BASE_URL", f"{base_url}/backbone")
    # The functions' metrics are CloudWatch EMF lines on stdout: in AWS they become metrics, here only noise
    # between the banner and the access lines. POWERTOOLS_METRICS_DISABLED=false shows them.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    keys = local_keys(options.api_keys_file, os.environ.get("API_KEY"))  # a refused file fails before anything starts
    settings = _settings()  # a wrong setting fails before anything starts
    _check_connector(settings)  # and so does a Connector of another identity
    check_port_free(options.port, "API", "--port or PORT")  # and so does a taken port
    database, endpoint = _start_dynamodb(options)
    try:
        use_endpoint(endpoint)
        store = RecordsTarget(endpoint, settings)
        embedded_endpoint = endpoint if database is not None else None
        server = _start(options, api, template, settings, store.repository, keys, embedded_endpoint)
        with store.failures():
            demos = seed(store.repository) if options.seed else []
    except BaseException:
        if database is not None:
            database.stop()
        raise
    thread = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    thread.start()
    state = ServeState(
        pid=os.getpid(),
        api_url=base_url,
        backbone_url=os.environ.get("BACKBONE_BASE_URL") or f"{base_url}/backbone",
        page_url=f"{base_url}/",
        dynamodb_endpoint=endpoint,
    )
    try:
        _banner(keys, demos, state, _record_state(state))
        say()
        say(f"ready in {time.perf_counter() - options.started_at:.1f} s: Ctrl-C stops")
        stop.event.wait()
        say("stopping…")
    finally:
        remove_state(state)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        if database is not None:
            database.stop()
    say("stopped")
    return 0
