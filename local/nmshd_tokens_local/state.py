"""Where each running `serve` listens, one small file per API port in the checkout, so that `records`, `load` and
`status` find it whatever ports were chosen, and two servers in one checkout (`make run` beside
`serve --backbone standin`) never overwrite or remove each other's. No secrets: URLs, the DynamoDB endpoint and the
process id only (not the API key).

A file whose process is gone (a killed `serve`) is stale: ignored, with a message saying so.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import CommandError, InputError
from .tables import TEMPLATE_PATH

STATE_DIR_VARIABLE = "NMSHD_TOKENS_STATE_DIR"  # another folder for the files (the tests give each server its own)
DEFAULT_STATE_DIR = TEMPLATE_PATH.parent
_PREFIX = ".nmshd-tokens-serve-"
_NAME = re.compile(re.escape(_PREFIX) + r"([0-9]{1,5})\.json")
Warn = Callable[[str], None]


@dataclass(frozen=True)
class ServeState:
    pid: int
    api_url: str  # the base URL: <api_url>/api/v2/…
    backbone_url: str
    page_url: str
    dynamodb_endpoint: str | None  # None: real AWS

    @property
    def port(self) -> int:
        """The API port: what tells two servers apart."""
        return urlsplit(self.api_url).port or 80


def state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_VARIABLE) or DEFAULT_STATE_DIR)


def state_path(port: int) -> Path:
    return state_dir() / f"{_PREFIX}{port}.json"


def write_state(state: ServeState) -> Path:
    """Replace this server's file atomically, so a reader never sees half of it."""
    path = state_path(state.port)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
        json.dump(asdict(state), sink, indent=2)
        sink.write("\n")
    os.replace(temporary, path)
    return path


def remove_state(state: ServeState) -> None:
    """Remove this server's file if this process wrote it (another `serve` may have taken the port since)."""
    path = state_path(state.port)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == state.pid:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def read_state(path: Path, warn: Warn) -> ServeState | None:
    """The state in one file if its server runs; None (after telling `warn` why, unless there is no file) otherwise."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        state = ServeState(
            pid=int(raw["pid"]),
            api_url=str(raw["api_url"]),
            backbone_url=str(raw["backbone_url"]),
            page_url=str(raw["page_url"]),
            dynamodb_endpoint=None if raw["dynamodb_endpoint"] is None else str(raw["dynamodb_endpoint"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        state = None
    if state is None or state.pid <= 0:  # kill(0) or kill(-1) would signal whole process groups
        warn(f"ignoring {path}: it is not a state file of `nmshd-tokens serve`")
        return None
    if not _alive(state.pid):
        warn(f"ignoring {path}: the `nmshd-tokens serve` that wrote it (pid {state.pid}) is no longer running")
        return None
    return state


def running_servers(warn: Warn) -> list[ServeState]:
    """Every running `serve` of this checkout, by API port."""
    try:
        paths = sorted(path for path in state_dir().iterdir() if _NAME.fullmatch(path.name))
    except OSError:  # no such folder: no server
        return []
    found = (read_state(path, warn) for path in paths)
    return sorted((state for state in found if state is not None), key=lambda state: state.port)


def _listing(servers: list[ServeState]) -> str:
    return ", ".join(f"--server {state.port} ({state.api_url})" for state in servers)


def find_server(warn: Warn, port: int | None = None) -> ServeState | None:
    """The `serve` on API port `port`; without a port the only one running (None when none runs).

    Several running and none named is the user's choice to make: an InputError listing them.
    """
    if port is not None:
        state = read_state(state_path(port), warn)
        if state is None:
            others = running_servers(lambda _: None)
            running = f"running: {_listing(others)}" if others else "none runs; start one with `make run`"
            raise CommandError(f"no `nmshd-tokens serve` runs on port {port} ({running})")
        return state
    servers = running_servers(warn)
    if len(servers) > 1:
        raise InputError(f"{len(servers)} `nmshd-tokens serve` are running; name one: {_listing(servers)}")
    return servers[0] if servers else None
