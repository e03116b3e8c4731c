"""Where a running `serve` listens, in a small file in the checkout, so that `records`, `load` and `status` find it
whatever ports were chosen. No secrets: URLs, the DynamoDB endpoint and the process id only (not the API key).

A file whose process is gone (a killed `serve`) is stale: ignored, with a message saying so.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .tables import TEMPLATE_PATH

STATE_VARIABLE = "NMSHD_TOKENS_STATE"  # another path for the file (the tests give each server its own)
DEFAULT_STATE_PATH = TEMPLATE_PATH.parent / ".nmshd-tokens-serve.json"


@dataclass(frozen=True)
class ServeState:
    pid: int
    api_url: str  # the base URL: <api_url>/api/v2/…
    backbone_url: str
    page_url: str
    dynamodb_endpoint: str | None  # None: real AWS


def state_path() -> Path:
    return Path(os.environ.get(STATE_VARIABLE) or DEFAULT_STATE_PATH)


def write_state(state: ServeState) -> Path:
    """Replace the file atomically, so a reader never sees half of it."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
        json.dump(asdict(state), sink, indent=2)
        sink.write("\n")
    os.replace(temporary, path)
    return path


def remove_state(pid: int) -> None:
    """Remove the file if this process wrote it (another `serve` may have started since)."""
    path = state_path()
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
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


def read_state(warn: Callable[[str], None]) -> ServeState | None:
    """The running server's state; None (after telling `warn` why, unless there is no file) otherwise."""
    path = state_path()
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
