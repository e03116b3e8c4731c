"""`nmshd-tokens`: the local API and its tools.

`serve` runs the API locally, `records` manages its Files and RelationshipTemplates, `load` loads a token as a
peer, `status` says where the running servers listen, `address` prints an enmeshed address, `api-keys` shows a
key file's stored form and registers its keys with the deployed stack's usage plan.

Exit status: 0 success, 1 the command failed (unreachable service, refused token, taken port), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .aws_env import DEFAULT_DYNAMODB_PORT
from .errors import CommandError, InputError

DEFAULT_PORT = 3000
EXIT_BROKEN_PIPE = 141  # what a shell reports for a writer ended by SIGPIPE
Command = Callable[[argparse.Namespace], int]


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return int(text)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


# --- commands ----------------------------------------------------------------------------------------


def _env_port(variable: str, default: int) -> int:
    text = os.environ.get(variable) or str(default)
    try:
        return _port(text)
    except argparse.ArgumentTypeError as exc:
        raise InputError(f"{variable}: {exc}") from None


def _serve(args: argparse.Namespace) -> int:
    started_at = time.perf_counter()  # before the imports, which are most of the start-up time
    from .serve_command import ServeOptions, serve

    _use_connector_options(args)

    return serve(
        ServeOptions(
            started_at=started_at,
            port=args.port or _env_port("PORT", DEFAULT_PORT),
            dynamodb_port=args.dynamodb_port or _env_port("DYNAMODB_PORT", DEFAULT_DYNAMODB_PORT),
            embedded_dynamodb=not args.no_embedded_dynamodb,
            seed=not args.no_seed,
            backbone=args.backbone,
            backbone_port=args.backbone_port,
            api_keys_file=args.api_keys,
        )
    )


def _store(args: argparse.Namespace) -> Any:
    from .records_target import RecordsTarget

    return RecordsTarget.configured(args.dynamodb_endpoint, real_aws=args.aws, server=args.server)


def _add_file(args: argparse.Namespace) -> int:
    from .record_forms import new_file, record_to_json

    record = new_file(args.id, args.expires_at)
    _store(args).add(record)
    _print_json(record_to_json(record))
    return 0


def _add_template(args: argparse.Namespace) -> int:
    from .record_forms import new_template, record_to_json

    record = new_template(
        record_id=args.id,
        expires_at=args.expires_at,
        peer=args.peer,
        for_identity=args.for_identity,
        password=args.password,
        pin=args.pin,
        indicator=args.indicator,
    )
    _store(args).add(record)
    _print_json(record_to_json(record))
    return 0


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise InputError(f"{source} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{source} is not JSON: {exc}") from None


def _import(args: argparse.Namespace) -> int:
    from .record_forms import record_from_dto, record_to_json

    record = record_from_dto(_read_json(args.file))
    _store(args).add(record)
    _print_json(record_to_json(record))
    return 0


def _sync(args: argparse.Namespace) -> int:
    from nmshd_tokens.container import connector_client
    from nmshd_tokens.storage.connector_client import ConnectorUnavailable

    from .errors import note
    from .records_sync import sync

    _use_connector_options(args)
    store = _store(args)
    settings = store.settings
    if settings.connector_base_url is None:
        raise InputError(
            "records sync needs a Connector: --connector URL --connector-api-key KEY, or CONNECTOR_BASE_URL"
        )
    connector = connector_client(settings)
    with store.failures():
        try:
            summary = sync(connector, store.repository, settings.service_address, progress=note)
        except ConnectorUnavailable as exc:  # the Connector refused, answered badly or not at all
            raise CommandError(exc.message) from None
    print(f"records sync from {settings.connector_base_url} into {store.where}: {summary.line()}")
    return 0


def _use_connector_options(args: argparse.Namespace) -> None:
    """--connector and --connector-api-key stand for CONNECTOR_BASE_URL and CONNECTOR_API_KEY."""
    if args.connector:
        os.environ["CONNECTOR_BASE_URL"] = args.connector
    if args.connector_api_key:
        os.environ["CONNECTOR_API_KEY"] = args.connector_api_key


def _list(args: argparse.Namespace) -> int:
    from .record_forms import record_to_json

    _print_json([record_to_json(record) for record in _store(args).list()])
    return 0


def _address(args: argparse.Namespace) -> int:
    from nmshd_tokens.domain.ids import is_backbone_address, make_address

    address = make_address(args.host)
    if not is_backbone_address(address):
        raise InputError(f"{args.host!r} is not a host name the Backbone accepts (lower case, dot-separated)")
    print(address)
    return 0


def _load(args: argparse.Namespace) -> int:
    from .peer import load_token, read_reference

    reference = read_reference(args.reference)
    backbone_url = args.backbone_url
    if backbone_url is None and reference.backbone_base_url is None:
        backbone_url = _running_serve_backbone(args.server)
    _print_json(load_token(reference, args.password, identity=args.identity, backbone_url=backbone_url))
    return 0


def _running_serve_backbone(port: int | None) -> str | None:
    """A reference that names no backbone is read from the running `serve`'s backbone."""
    from .errors import note
    from .state import find_server

    state = find_server(note, port)
    return state.backbone_url if state is not None else None


def _status(args: argparse.Namespace) -> int:
    """Where the named server listens; without --server, every running one (a list is no choice to refuse)."""
    from .errors import note
    from .state import find_server, running_servers, state_dir

    servers = [state] if args.server and (state := find_server(note, args.server)) else running_servers(note)
    if not servers:
        raise CommandError(f"no running `nmshd-tokens serve` found (in {state_dir()}); start one with `make run`")
    for index, state in enumerate(servers):
        if index:
            print()
        print(f"API:      {state.api_url}/api/v2/…")
        print(f"backbone: {state.backbone_url}")
        print(f"web page: {state.page_url}")
        print(f"DynamoDB: {state.dynamodb_endpoint or 'AWS (no endpoint override)'}")
        print(f"pid:      {state.pid}")
    return 0


# --- parser ------------------------------------------------------------------------------------------

SERVER_HELP = "the running `serve` on this API port (needed only when several run)"


def connector_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--connector",
        metavar="URL",
        help="the team's Connector, source of Files and RelationshipTemplates (default: $CONNECTOR_BASE_URL)",
    )
    options.add_argument(
        "--connector-api-key", metavar="KEY", help="the Connector's API key (default: $CONNECTOR_API_KEY)"
    )
    return options


def _records_parser(commands: Any) -> None:
    target = argparse.ArgumentParser(add_help=False)
    where = target.add_mutually_exclusive_group()
    where.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="DynamoDB endpoint (default: $AWS_ENDPOINT_URL_DYNAMODB, else the running `serve`'s, else "
        f"http://127.0.0.1:{DEFAULT_DYNAMODB_PORT})",
    )
    where.add_argument("--aws", action="store_true", help="use real AWS (credentials and region from the environment)")
    where.add_argument("--server", metavar="PORT", type=_port, help=f"the DynamoDB of {SERVER_HELP}")
    timing = argparse.ArgumentParser(add_help=False)
    timing.add_argument("--id", help="the record id (default: a fresh random one)")
    timing.add_argument("--expires-at", metavar="ISO8601", help="expiry, e.g. 2030-01-31T12:00:00Z (default: never)")

    records = commands.add_parser("records", help="add, import and list Files and RelationshipTemplates")
    actions = records.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_file = actions.add_parser("add-file", parents=[target, timing], help="add a File with a fresh key")
    add_file.set_defaults(run=_add_file)

    add_template = actions.add_parser(
        "add-template", parents=[target, timing], help="add a RelationshipTemplate with a fresh key"
    )
    add_template.add_argument("--peer", action="store_true", help="a peer's template (tokens are refused for it)")
    add_template.add_argument("--for-identity", metavar="ADDRESS", help="personalise it for this enmeshed address")
    secret = add_template.add_mutually_exclusive_group()
    secret.add_argument("--password", help="protect it with this password")
    secret.add_argument("--pin", help="protect it with this PIN (4-16 digits)")
    add_template.add_argument(
        "--indicator",
        help="password location indicator: Self, Letter, RegistrationLetter, Email, SMS, Website or 50-99",
    )
    add_template.set_defaults(run=_add_template)

    importer = actions.add_parser(
        "import", parents=[target], help="import a Connector FileDTO or RelationshipTemplateDTO (JSON file or -)"
    )
    importer.add_argument("file", help='the DTO as JSON, possibly wrapped in {"result": …}; - reads stdin')
    importer.set_defaults(run=_import)

    syncer = actions.add_parser(
        "sync",
        parents=[target, connector_options()],
        help="read every own File and RelationshipTemplate of the Connector into the table (added, refreshed, removed)",
    )
    syncer.set_defaults(run=_sync)

    lister = actions.add_parser("list", parents=[target], help="print every File and RelationshipTemplate as JSON")
    lister.set_defaults(run=_list)


def _api_keys_stored(args: argparse.Namespace) -> int:
    from nmshd_tokens.domain.api_keys import stored_form

    from .api_keys_file import load_api_keys, read_json

    load_api_keys(args.file)  # the stored form of a configuration the Connector would refuse is no use
    _print_json(stored_form(read_json(args.file)))
    return 0


def _api_keys_register(args: argparse.Namespace) -> int:
    import boto3

    from .api_keys_file import load_api_keys
    from .usage_plan import register_keys

    keys = load_api_keys(args.file)
    registration = register_keys(keys, args.usage_plan_id, boto3.client("apigateway"))
    for key_id in registration.added:
        print(f"added to the usage plan: {key_id}")
    print(registration.summary())
    return 0


def _api_keys_parser(commands: Any) -> None:
    api_keys = commands.add_parser("api-keys", help="API keys: a file's stored form, registration with AWS")
    actions = api_keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    stored = actions.add_parser("stored", help="print the file with each key replaced by its SHA-256 (keySha256)")
    stored.add_argument("file", type=Path, metavar="FILE", help="the Connector's authentication.apiKey JSON")
    stored.set_defaults(run=_api_keys_stored)
    register = actions.add_parser(
        "register",
        help="make the deployed stack's usage plan know each enabled key (AWS credentials and region from the "
        "environment), so that API Gateway lets it through and throttles it; idempotent",
    )
    register.add_argument("file", type=Path, metavar="FILE", help="the keys, as in the stack's API keys secret")
    register.add_argument("--usage-plan-id", required=True, help="the stack's UsagePlanId output")
    register.set_defaults(run=_api_keys_register)


def build_parser() -> argparse.ArgumentParser:
    description = __doc__.split("\n\n", 2)[1].replace("\n", " ")
    parser = argparse.ArgumentParser(prog="nmshd-tokens", description=description)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        parents=[connector_options()],
        help="serve the API on 127.0.0.1 with an embedded DynamoDB (make run)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        help=f"API port (default: $PORT or {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--dynamodb-port",
        type=_port,
        help=f"port of the embedded DynamoDB (default: $DYNAMODB_PORT or {DEFAULT_DYNAMODB_PORT})",
    )
    serve.add_argument(
        "--no-embedded-dynamodb",
        action="store_true",
        help="use $AWS_ENDPOINT_URL_DYNAMODB or real AWS and create no tables",
    )
    serve.add_argument("--no-seed", action="store_true", help="do not add the demo records")
    serve.add_argument(
        "--backbone",
        choices=("embedded", "standin"),
        default="embedded",
        help="where tokens are published: the embedded DynamoDB backbone (default), or a local stand-in of a "
        "real enmeshed Backbone (remote mode, as against pilot.enmeshed.eu)",
    )
    serve.add_argument(
        "--backbone-port", type=_port, default=0, help="port of the stand-in Backbone (default: a free one)"
    )
    serve.add_argument(
        "--api-keys",
        type=Path,
        metavar="FILE",
        help="the API keys, as the Connector's authentication.apiKey JSON (keys with scopes, expiry, enabled); "
        "default: one generated key with every scope ($API_KEY if set)",
    )
    serve.set_defaults(run=_serve)

    _records_parser(commands)

    load = commands.add_parser("load", help="load a token as a peer: fetch it from its backbone and decrypt it")
    load.add_argument("reference", help="a truncated reference, a URL reference, or the path of a QR code PNG")
    load.add_argument("--password", help="the password or PIN of a protected token")
    load.add_argument(
        "--identity",
        metavar="ADDRESS",
        help="your address: a token personalised for another is refused (without it, every personalised token is)",
    )
    load.add_argument(
        "--backbone-url",
        metavar="URL",
        help="fetch from this backbone instead of the reference's (default for a reference that names none: the "
        "running `serve`'s)",
    )
    load.add_argument(
        "--server", metavar="PORT", type=_port, help=f"for a reference that names no backbone: {SERVER_HELP}"
    )
    load.set_defaults(run=_load)

    status = commands.add_parser("status", help="where each running `serve` listens: API, backbone, page, DynamoDB")
    status.add_argument("--server", metavar="PORT", type=_port, help="only the `serve` on this API port")
    status.set_defaults(run=_status)

    address = commands.add_parser(
        "address", help="print a valid enmeshed address (the Backbone checks its checksum), e.g. for forIdentity"
    )
    address.add_argument("--host", default="localhost", help="the address's host (default: localhost)")
    address.set_defaults(run=_address)

    _api_keys_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)  # progress lines show up at once when stdout is a pipe
    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except CommandError as exc:
        print(f"nmshd-tokens: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`records list | head`): stop quietly, as `cat` would. Point stdout at
        # /dev/null so the interpreter's final flush does not raise the same error again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
