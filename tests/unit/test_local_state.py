"""The state files of running `serve`s (local/nmshd_tokens_local/state.py): one per API port, written whole, read
back, stale or foreign ones ignored; with several running, the commands name one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nmshd_tokens_local.errors import CommandError, InputError
from nmshd_tokens_local.state import (
    STATE_DIR_VARIABLE,
    ServeState,
    find_server,
    remove_state,
    running_servers,
    state_path,
    write_state,
)


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sub"
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(path))
    return path


def state(pid: int, port: int = 3001) -> ServeState:
    base = f"http://127.0.0.1:{port}"
    return ServeState(pid, base, f"{base}/backbone", f"{base}/", f"http://127.0.0.1:{port + 5000}")


def test_written_then_read_back(state_dir: Path) -> None:
    notes: list[str] = []
    assert write_state(state(os.getpid())) == state_dir / ".nmshd-tokens-serve-3001.json"
    assert find_server(notes.append) == state(os.getpid())
    assert find_server(notes.append, 3001) == state(os.getpid())
    assert notes == []
    assert [path.name for path in state_dir.iterdir()] == [".nmshd-tokens-serve-3001.json"]  # no temporary left


def test_no_file_is_no_server_and_no_message(state_dir: Path) -> None:
    notes: list[str] = []
    assert find_server(notes.append) is None
    assert running_servers(notes.append) == []
    assert notes == []


def test_two_servers_keep_two_files_and_stopping_one_leaves_the_other(state_dir: Path) -> None:
    first, second = state(os.getppid(), 3000), state(os.getpid(), 3001)  # two live processes
    write_state(first)
    write_state(second)
    assert running_servers(print) == [first, second]
    remove_state(second)
    assert running_servers(print) == [first]
    assert find_server(print) == first


def test_with_several_running_the_commands_must_name_one(state_dir: Path) -> None:
    first, second = state(os.getppid(), 3000), state(os.getpid(), 3001)
    write_state(second)
    write_state(first)
    with pytest.raises(InputError) as refused:
        find_server(print)
    assert str(refused.value) == (
        "2 `nmshd-tokens serve` are running; name one: --server 3000 (http://127.0.0.1:3000), "
        "--server 3001 (http://127.0.0.1:3001)"
    )
    assert refused.value.exit_status == 2
    assert find_server(print, 3000) == first
    assert find_server(print, 3001) == second


def test_naming_a_port_where_nothing_runs_says_what_runs(state_dir: Path) -> None:
    write_state(state(os.getpid(), 3001))
    with pytest.raises(CommandError, match=r"^no `nmshd-tokens serve` runs on port 3002 \(running: --server 3001 "):
        find_server(print, 3002)
    remove_state(state(os.getpid(), 3001))
    with pytest.raises(CommandError, match=r"port 3001 \(none runs; start one with `make run`\)$"):
        find_server(print, 3001)


def test_a_file_of_a_process_that_is_gone_is_ignored_with_a_message(state_dir: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    gone.wait(timeout=120)
    write_state(state(gone.pid))
    notes: list[str] = []
    assert find_server(notes.append) is None
    assert notes == [
        f"ignoring {state_path(3001)}: the `nmshd-tokens serve` that wrote it (pid {gone.pid}) is no longer running"
    ]


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"pid": "x"}', json.dumps({**state(0).__dict__}), "\x00"])
def test_a_file_that_is_not_a_state_file_is_ignored_with_a_message(state_dir: Path, text: str) -> None:
    state_dir.mkdir(parents=True)
    state_path(3001).write_text(text, encoding="utf-8")
    (state_dir / "unrelated.json").write_text(text, encoding="utf-8")  # not one of ours by its name: not read
    notes: list[str] = []
    assert find_server(notes.append) is None
    assert notes == [f"ignoring {state_path(3001)}: it is not a state file of `nmshd-tokens serve`"]


def test_only_the_writer_removes_it(state_dir: Path) -> None:
    write_state(state(os.getpid()))
    remove_state(state(os.getpid() + 1))  # a server that had the port earlier and stops now
    assert state_path(3001).is_file()
    remove_state(state(os.getpid()))
    assert not state_path(3001).exists()
    remove_state(state(os.getpid()))  # already gone: nothing to do
