"""The state file of a running `serve` (local/state.py): written whole, read back, stale or foreign ones ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nmshd_tokens_local.state import STATE_VARIABLE, ServeState, read_state, remove_state, write_state


@pytest.fixture
def state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sub" / "serve.json"
    monkeypatch.setenv(STATE_VARIABLE, str(path))
    return path


def state(pid: int) -> ServeState:
    return ServeState(pid, "http://127.0.0.1:3001", "http://127.0.0.1:3001/backbone", "http://127.0.0.1:3001/", None)


def test_written_then_read_back(state_file: Path) -> None:
    notes: list[str] = []
    assert write_state(state(os.getpid())) == state_file
    assert read_state(notes.append) == state(os.getpid())
    assert notes == []
    assert [path.name for path in state_file.parent.iterdir()] == ["serve.json"]  # no temporary left behind


def test_no_file_is_no_server_and_no_message(state_file: Path) -> None:
    notes: list[str] = []
    assert read_state(notes.append) is None
    assert notes == []


def test_a_file_of_a_process_that_is_gone_is_ignored_with_a_message(state_file: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    gone.wait(timeout=120)
    write_state(state(gone.pid))
    notes: list[str] = []
    assert read_state(notes.append) is None
    assert notes == [
        f"ignoring {state_file}: the `nmshd-tokens serve` that wrote it (pid {gone.pid}) is no longer running"
    ]


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"pid": "x"}', json.dumps({**state(0).__dict__}), "\x00"])
def test_a_file_that_is_not_a_state_file_is_ignored_with_a_message(state_file: Path, text: str) -> None:
    state_file.parent.mkdir(parents=True)
    state_file.write_text(text, encoding="utf-8")
    notes: list[str] = []
    assert read_state(notes.append) is None
    assert notes == [f"ignoring {state_file}: it is not a state file of `nmshd-tokens serve`"]


def test_only_the_writer_removes_it(state_file: Path) -> None:
    write_state(state(os.getpid()))
    remove_state(os.getpid() + 1)  # another server that started earlier and stops now
    assert state_file.is_file()
    remove_state(os.getpid())
    assert not state_file.exists()
    remove_state(os.getpid())  # already gone: nothing to do
