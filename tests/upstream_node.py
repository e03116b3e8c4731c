"""The pinned upstream enmeshed npm packages (tests/upstream, package-lock.json) as seen from the Python tests.

`require_upstream` skips a test when node or the packages are missing, except in CI (`CI=true`), where a
skipped cross-check would hide that nothing was checked, so it fails instead. `UpstreamClient` drives
tests/upstream/backbone_client.mjs: the upstream transport library's Backbone clients, one node process for
many commands.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from nmshd_tokens_local.standin_backbone import StandinBackbone, StandinDevice

UPSTREAM_DIR = Path(__file__).resolve().parent / "upstream"
BACKBONE_CLIENT = UPSTREAM_DIR / "backbone_client.mjs"
ANSWER_TIMEOUT_S = 120.0  # a safety net for a hung node process, not a performance bound


def _missing_upstream() -> str | None:
    if shutil.which("node") is None:
        return (
            "`node` is not on PATH. Install Node.js (>= 18, with npm) and run `make test`, which installs the "
            "pinned packages with `npm ci --prefix tests/upstream`."
        )
    dependencies = json.loads((UPSTREAM_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]
    missing = [name for name in dependencies if not (UPSTREAM_DIR / "node_modules" / name / "package.json").is_file()]
    if missing:
        return (
            f"tests/upstream/node_modules lacks {', '.join(missing)}. Run `make test`, or "
            "`npm ci --prefix tests/upstream` and then pytest."
        )
    return None


def require_upstream(what: str) -> None:
    problem = _missing_upstream()
    if problem is None:
        return
    message = f"{what} NOT RUN: {problem}"
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(message + " (CI=true: a skipped upstream check fails the build)", pytrace=False)
    pytest.skip(message)


def device_json(device: StandinDevice) -> dict[str, str]:
    return {
        "username": device.username,
        "password": device.password,
        "address": device.address,
        "deviceId": device.device_id,
    }


class UpstreamError(AssertionError):
    """The upstream library answered with an error where the test expected a result."""


class UpstreamClient:
    """One node process running backbone_client.mjs; `call` sends a command and waits for its answer."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv
            ["node", str(BACKBONE_CLIENT)],  # noqa: S607 - node from PATH
            cwd=UPSTREAM_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        assert self._process.stdout is not None and self._process.stderr is not None
        threading.Thread(target=self._read_answers, args=(self._process.stdout,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self._process.stderr,), daemon=True).start()

    def _read_answers(self, stream: IO[str]) -> None:
        for line in stream:
            self._answers.put(line)
        self._answers.put(None)

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line)

    def configure(self, standin: StandinBackbone) -> None:
        """Point the library at `standin`, with its OAuth client, forgetting every earlier login."""
        device = standin.device
        self.result("configure", baseUrl=standin.base_url, clientId=device.client_id, clientSecret=device.client_secret)

    def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        """The raw answer: {"result": …} or {"error": {"code", "message", "status"?}}."""
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps({"op": op, **arguments}) + "\n")
            stdin.flush()
        except BrokenPipeError:
            raise AssertionError(f"backbone_client.mjs is gone: {''.join(self._stderr)[-2000:]}") from None
        try:
            line = self._answers.get(timeout=ANSWER_TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"backbone_client.mjs gave no answer to {op!r} in {ANSWER_TIMEOUT_S} s") from None
        if line is None:
            raise AssertionError(f"backbone_client.mjs exited: {''.join(self._stderr)[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def result(self, op: str, **arguments: Any) -> Any:
        answer = self.call(op, **arguments)
        if "error" in answer:
            raise UpstreamError(f"{op}: the upstream library failed with {answer['error']}")
        return answer["result"]

    def error(self, op: str, **arguments: Any) -> dict[str, Any]:
        answer = self.call(op, **arguments)
        if "error" not in answer:
            raise UpstreamError(f"{op}: the upstream library succeeded where an error was expected: {answer}")
        error: dict[str, Any] = answer["error"]
        return error

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=30)


def running_upstream(what: str) -> Iterator[UpstreamClient]:
    """For a module-scoped fixture: the upstream client once node and the packages are there (see require_upstream)."""
    require_upstream(what)
    client = UpstreamClient()
    try:
        yield client
    finally:
        client.close()


def connector_sdk(base_url: str, api_key: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each call through @nmshd/connector-sdk 6.7.0's tokens endpoint (tests/upstream/sdk_tokens.mjs) against a
    running service; the answers as the SDK returns them, `{"result": …}` or `{"error": {code, message}}`."""
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["node", str(UPSTREAM_DIR / "sdk_tokens.mjs"), base_url, api_key],  # noqa: S607 - node from PATH
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        cwd=UPSTREAM_DIR,
        timeout=ANSWER_TIMEOUT_S,
        check=True,
    )
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def standin_beside_upstream(aws: Any, upstream: UpstreamClient, clock: Any) -> Iterator[StandinBackbone]:
    """For a function-scoped fixture: a fresh stand-in Backbone on the test's clock, which the upstream client
    uses too; the embedded backbone's table is gone (remote mode has none), to prove it is not used."""
    from tests.conftest import BACKBONE_TABLE

    with StandinBackbone(clock=clock.now) as backbone:
        aws.delete_table(TableName=BACKBONE_TABLE)
        upstream.configure(backbone)
        yield backbone
