"""`make run` as a newcomer meets it: any ports, a banner whose lines work as pasted, a clean stdout, and the other
commands finding the running server through its state file."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nmshd_tokens.domain.references import Reference, parse_reference
from nmshd_tokens_local import seed

from tests.e2e.conftest import (
    API_KEY,
    START_DEADLINE_S,
    STOP_DEADLINE_S,
    Served,
    clean_env,
    executable,
    free_port,
    start_serve,
)
from tests.e2e.test_serve import FILE_PATH, TEMPLATE_PATH, create_json, request
from tests.prerequisites import require
from tests.support import ROOT, decode_qr

COMMAND_TIMEOUT_S = 120  # a safety net: each command takes 1-3 s


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*extra: str, split_streams: bool = False) -> Served:
        server = start_serve(tmp_path, *extra, split_streams=split_streams)
        started.append(server)
        return server

    yield start
    for server in started:
        assert server.stop(signal.SIGINT) == 0, server.output[-2000:]


def command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`nmshd-tokens …` with no endpoint and no port configured: only a state file can tell it where to go."""
    return subprocess.run(  # noqa: S603 - our own console script
        [*executable(), *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        cwd=ROOT,
        check=False,
    )


# --- the state file -------------------------------------------------------------------------------------------


def test_the_state_file_says_where_the_server_listens_and_holds_no_secret(served: Served) -> None:
    text = served.state_file.read_text(encoding="utf-8")
    assert API_KEY not in text
    state = json.loads(text)
    assert state == {
        "pid": served.process.pid,
        "api_url": served.base,
        "backbone_url": f"{served.base}/backbone",
        "page_url": f"{served.base}/",
        "dynamodb_endpoint": f"http://127.0.0.1:{served.dynamodb_port}",
    }
    assert f"state:    {served.state_file}" in served.output


def test_records_find_the_server_through_the_state_file(served: Served) -> None:
    added = command("records", "add-file", NMSHD_TOKENS_STATE_DIR=str(served.state_dir))
    assert added.returncode == 0, added.stderr
    file_id = json.loads(added.stdout)["id"]
    status, _, _ = request(served, "POST", FILE_PATH.format(file_id), accept="application/json")
    assert status == 201  # the record landed in the DynamoDB this server uses


def test_load_reads_a_reference_without_backbone_from_the_running_server(served: Served) -> None:
    token = create_json(served, FILE_PATH.format(seed.FILE_ID))
    reference = parse_reference(token["reference"]["truncated"])
    bare = Reference(reference.id, reference.key).truncated  # names no backbone
    done = command("load", bare, NMSHD_TOKENS_STATE_DIR=str(served.state_dir))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["fileId"] == seed.FILE_ID


def test_status_prints_where_the_server_listens(served: Served) -> None:
    done = command("status", NMSHD_TOKENS_STATE_DIR=str(served.state_dir))
    assert done.returncode == 0, done.stderr
    assert f"web page: {served.base}/" in done.stdout
    assert f"DynamoDB: http://127.0.0.1:{served.dynamodb_port}" in done.stdout
    assert API_KEY not in done.stdout


def test_a_stale_state_file_is_ignored_with_a_clear_message(served: Served, tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603 - a process that is gone at once
    gone.wait(timeout=COMMAND_TIMEOUT_S)
    stale = tmp_path / "stale" / served.state_file.name
    stale.parent.mkdir()
    state = json.loads(served.state_file.read_text(encoding="utf-8")) | {"pid": gone.pid}
    stale.write_text(json.dumps(state), encoding="utf-8")  # a live server's endpoints, a dead writer
    message = f"ignoring {stale}: the `nmshd-tokens serve` that wrote it (pid {gone.pid}) is no longer running"

    status = command("status", NMSHD_TOKENS_STATE_DIR=str(stale.parent))
    assert status.returncode == 1
    assert message in status.stderr and "no running `nmshd-tokens serve` found" in status.stderr

    marker = json.loads(served.cli("records", "add-file").stdout)["id"]
    listed = command("records", "list", NMSHD_TOKENS_STATE_DIR=str(stale.parent))
    assert message in listed.stderr
    assert marker not in listed.stdout  # the stale file's endpoint was not used


def test_the_state_file_goes_when_the_server_stops(serve: Callable[..., Served]) -> None:
    server = serve("--no-seed")
    assert server.state_file.is_file()
    assert server.stop(signal.SIGINT) == 0
    assert not server.state_file.exists()


def test_two_servers_in_one_checkout_keep_their_own_state_and_the_commands_ask_which(tmp_path: Path) -> None:
    """`make run` beside `serve --backbone standin`: both findable, neither overwrites or removes the other's state."""
    shared = tmp_path / "checkout"
    first = start_serve(tmp_path, state_dir=shared)
    second = start_serve(tmp_path, "--no-seed", state_dir=shared)
    try:
        in_checkout = {"NMSHD_TOKENS_STATE_DIR": str(shared)}
        status = command("status", **in_checkout)
        assert status.returncode == 0, status.stderr
        assert f"web page: {first.base}/" in status.stdout and f"web page: {second.base}/" in status.stdout

        refused = command("records", "list", **in_checkout)
        assert refused.returncode == 2
        assert refused.stderr.strip() == (
            "nmshd-tokens: error: 2 `nmshd-tokens serve` are running; name one: "
            + ", ".join(f"--server {s.port} ({s.base})" for s in sorted((first, second), key=lambda s: s.port))
        )
        added = command("records", "add-file", "--server", str(second.port), **in_checkout)
        assert added.returncode == 0, added.stderr
        file_id = json.loads(added.stdout)["id"]
        assert request(second, "POST", FILE_PATH.format(file_id), accept="application/json")[0] == 201
        assert request(first, "POST", FILE_PATH.format(file_id), accept="application/json")[0] == 404

        token = create_json(first, FILE_PATH.format(seed.FILE_ID))
        reference = parse_reference(token["reference"]["truncated"])
        bare = Reference(reference.id, reference.key).truncated  # names no backbone: the server's is asked
        assert command("load", bare, **in_checkout).returncode == 2
        loaded = command("load", bare, "--server", str(first.port), **in_checkout)
        assert loaded.returncode == 0, loaded.stderr

        assert second.stop(signal.SIGINT) == 0
        assert first.state_file.is_file() and not second.state_file.exists()
        status = command("status", **in_checkout)
        assert status.returncode == 0 and f"web page: {first.base}/" in status.stdout, status.stderr
        assert second.base not in status.stdout
        assert command("records", "list", **in_checkout).returncode == 0  # the only one left is found
    finally:
        second.stop(signal.SIGINT)
        first.stop(signal.SIGINT)


def test_the_sample_dtos_of_the_readme_import_and_take_tokens(served: Served) -> None:
    for name in ("relationship-template-dto.json", "file-dto.json"):
        done = served.cli("records", "import", f"docs/examples/{name}")
        assert done.returncode == 0, done.stderr
    body = {"passwordProtection": {"password": "example-password", "passwordLocationIndicator": "Email"}}
    token = create_json(served, TEMPLATE_PATH.format("RLTexampleTemplate01"), body)
    done = served.cli("load", token["reference"]["url"], "--password", "example-password")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["templateId"] == "RLTexampleTemplate01"
    assert create_json(served, FILE_PATH.format("FILexampleFile000001"))["id"].startswith("TOK")


# --- output -------------------------------------------------------------------------------------------------


def test_stdout_shows_the_banner_and_access_lines_and_json_logs_go_to_stderr(serve: Callable[..., Served]) -> None:
    server = serve(split_streams=True)
    status, _, _ = request(server, "POST", TEMPLATE_PATH.format(seed.PEER_TEMPLATE_ID), accept="application/json")
    assert status == 400  # the function logs "request refused" as a JSON line
    stdout = _eventually(lambda: server.output, f"POST {TEMPLATE_PATH.format(seed.PEER_TEMPLATE_ID)} 400")
    json_lines = [line for line in server.error_output.splitlines() if line.startswith("{")]
    assert any(json.loads(line)["message"] == "request refused" for line in json_lines), server.error_output
    assert not [line for line in stdout.splitlines() if line.lstrip().startswith("{")], stdout
    assert "API key: " in stdout and "ready in" in stdout


def test_a_client_that_goes_away_is_one_quiet_line_and_no_traceback(serve: Callable[..., Served]) -> None:
    """A browser tab closed while its PNGs load: the connection is reset before the answer is written."""
    server = serve("--no-seed", split_streams=True)
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=COMMAND_TIMEOUT_S)
    head = f"POST {FILE_PATH.format('FILaaaaaaaaaaaaaaaa1')} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
    connection.sendall(head.encode() + b"{")
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    connection.close()
    stdout = _eventually(lambda: server.output, "(client went away) ConnectionResetError")
    assert stdout.count("went away") == 1
    assert "Traceback" not in server.error_output and "Exception occurred" not in server.error_output


def _eventually(read: Callable[[], str], needle: str) -> str:
    """The access line is written after the response: poll the log a bounded number of times."""
    for _ in range(200):
        text = read()
        if needle in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never appeared in:\n{read()[-2000:]}")


def test_every_printed_example_line_works_as_pasted(tmp_path: Path) -> None:
    require(shutil.which("curl") is not None, "the printed example lines use curl", "apt-get install curl")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    server = start_serve(tmp_path, env={"TMPDIR": str(temporary)})
    try:
        lines = server.output.split("\ntry:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert len(lines) == 5, lines
        for line in lines:
            done = subprocess.run(  # noqa: S603 - the banner's own lines
                ["bash", "-c", line.strip()],  # noqa: S607
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                cwd=ROOT,
                env=clean_env(TMPDIR=str(temporary)),
                check=False,
            )
            assert done.returncode == 0, f"{line}\n{done.stderr}"
            if " load " in line:
                assert json.loads(done.stdout)["@type"].startswith("TokenContent")
        assert sorted(path.name for path in (temporary / "nmshd-tokens").iterdir()) == [
            "template-token.png",
            "token.png",
        ]
        assert not list(ROOT.glob("*.png"))  # nothing lands in the checkout
    finally:
        server.stop(signal.SIGINT)


# --- make ----------------------------------------------------------------------------------------------------


def test_make_run_takes_both_ports(tmp_path: Path) -> None:
    require(shutil.which("make") is not None, "`make run` is the README's command", "apt-get install make")
    port, dynamodb_port = free_port(), free_port()
    log = tmp_path / "make-run.log"
    # RUN_STAMP= and BIN= point `make run` at the interpreter running the tests instead of (re)building .venv.
    arguments = ["make", "-s", "run", "RUN_STAMP=", f"BIN={Path(sys.executable).parent}"]
    arguments += [f"PORT={port}", f"DYNAMODB_PORT={dynamodb_port}"]
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(  # noqa: S603 - make with fixed arguments
            arguments,
            cwd=ROOT,
            env=clean_env(API_KEY=API_KEY, NMSHD_TOKENS_STATE_DIR=str(tmp_path / "state")),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches make and serve alike, as in a terminal
        )
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while "ready in" not in log.read_text(encoding="utf-8") and process.poll() is None:
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(0.1)
        output = log.read_text(encoding="utf-8")
        assert f"API:      http://127.0.0.1:{port}/api/v2/" in output, output
        assert f"DynamoDB: http://127.0.0.1:{dynamodb_port}" in output, output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=STOP_DEADLINE_S)
    assert "stopped" in log.read_text(encoding="utf-8")


def test_the_readme_shows_every_command_of_the_cli() -> None:
    done = command("--help")
    assert done.returncode == 0, done.stderr
    commands = re.findall(r"^    (\w+) ", done.stdout.split("positional arguments:", 1)[1], flags=re.MULTILINE)
    assert set(commands) == {"serve", "records", "load", "status", "address"}, done.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in commands:
        assert f"nmshd-tokens {name}" in readme, name


def test_make_help_lists_setup_and_every_test_layer() -> None:
    require(shutil.which("make") is not None, "`make help` is the README's index", "apt-get install make")
    done = subprocess.run(  # noqa: S603
        ["make", "-s", "help"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0
    targets = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("make ")}
    assert {"setup", "run", "test", "unit", "integration", "e2e", "reliability"} <= targets
    assert "DYNAMODB_PORT" in done.stdout


# --- the README's examples ------------------------------------------------------------------------------------

README_OUTPUT_END = "@@end-of-command@@"


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _shell_line(served: Served) -> str:
    """The banner's `K=… B=…` line, as a user pastes it before the README's examples."""
    found = re.search(r"^shell: +(K=\S+ B=\S+) ", served.output, flags=re.MULTILINE)
    assert found, served.output
    return found.group(1)


def _run_as_pasted(script: str, served: Served, tmp_path: Path) -> list[str]:
    """Runs README lines in bash after the banner's `K=… B=…` line; one output per command, in order."""
    script = script.replace("/tmp/nmshd-tokens/", f"{tmp_path}/")  # the README's scratch folder, kept per test
    script = script.replace(".venv/bin/nmshd-tokens", " ".join(executable()))
    script = _shell_line(served) + "\n" + script
    done = subprocess.run(  # noqa: S603 - the README's own lines
        ["bash", "-c", script],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S * 4,
        cwd=ROOT,
        env=clean_env(NMSHD_TOKENS_STATE_DIR=str(served.state_dir)),
        check=False,
    )
    assert done.returncode == 0, f"{script}\n{done.stderr}"
    return [output.strip() for output in done.stdout.split(README_OUTPUT_END)][:-1]


def _one_output_per_command(lines: list[str]) -> str:
    """The lines of a README block with a marker printed after each command (a `\\` continues a command)."""
    script: list[str] = []
    for line in lines:
        script.append(line)
        if not line.rstrip().endswith("\\") and line.strip() and not line.lstrip().startswith("#"):
            script.append(f"echo {README_OUTPUT_END}")
    return "\n".join(script)


def test_the_readmes_kept_token_walkthrough_works_as_pasted(tmp_path: Path) -> None:
    require(shutil.which("curl") is not None, "the README's examples use curl", "apt-get install curl")
    served = start_serve(tmp_path)
    try:
        block = _readme_section("The kept tokens and Connector 7's routes").split("```sh\n", 1)[1].split("```", 1)[0]
        outputs = _run_as_pasted(_one_output_per_command(block.splitlines()), served, tmp_path)
        assert len(outputs) == 10, outputs
        created, read, _, listed, queried, peer, revoked, v2_revoke, health, version = outputs
        assert created == ""  # the assignment of T
        token = json.loads(read)["result"]
        assert token["isEphemeral"] is False and "truncatedReference" not in token
        assert decode_qr((tmp_path / "kept.png").read_bytes()) == token["reference"]["url"]
        assert token["id"] in [entry["id"] for entry in json.loads(listed)["result"]]
        assert all("passwordProtection" not in entry for entry in json.loads(queried)["result"])
        assert json.loads(peer) == {"result": []}
        assert revoked == "204"
        assert v2_revoke.startswith("HTTP/1.1 405")
        assert json.loads(health)["isHealthy"] is True
        assert set(json.loads(version)) >= {"version", "build", "date", "commit", "runtimeVersion", "modules"}
        status, _, _ = request(served, "GET", f"/api/core/v1/Tokens/{token['id']}")
        assert status == 404  # revoked for good
    finally:
        served.stop(signal.SIGINT)


def test_the_readmes_things_to_try_work_as_pasted(tmp_path: Path) -> None:
    require(shutil.which("curl") is not None, "the README's examples use curl", "apt-get install curl")
    served = start_serve(tmp_path)
    try:
        section = _readme_section("What `make run` prints")
        things = section.split("Four things to try", 1)[1]
        commands = [
            command
            for command in re.findall(r"`([^`]+)`", things)
            if command.startswith(("curl ", ".venv/bin/nmshd-tokens "))
        ]
        assert len(commands) == 3, commands
        outputs = _run_as_pasted(_one_output_per_command(commands), served, tmp_path)
        pin_token, imported, example_token = (json.loads(output) for output in outputs)
        assert pin_token["result"]["passwordProtection"]["passwordIsPin"] is True
        assert imported["id"] == "RLTexampleTemplate01"
        assert example_token["result"]["passwordProtection"]["passwordLocationIndicator"] == "Email"
    finally:
        served.stop(signal.SIGINT)
