"""`nmshd-tokens serve` as a user runs it: a subprocess on free loopback ports, driven over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT

API_KEY = "e2e-test-key"
# Safety nets only, far above what they guard: `serve` is ready in 2-4 s on a loaded 2-core machine and stops in
# under 1 s.
START_DEADLINE_S = 180.0
STOP_DEADLINE_S = 60.0
# Settings a developer's shell (or another test) may have set; `serve` must run on its defaults here.
_CLEARED = (
    "AWS_ENDPOINT_URL_DYNAMODB",
    "BACKBONE_BASE_URL",
    "RECORDS_TABLE",
    "BACKBONE_TABLE",
    "QR_FORMAT",
    "PORT",
    "DYNAMODB_PORT",
    "API_KEY",
    "NMSHD_TOKENS_STATE_DIR",
    "CONNECTOR_BASE_URL",
    "CONNECTOR_API_KEY",
    "CONNECTOR_API_KEY_SECRET_ARN",
    "CONNECTOR_API",
    "RECORDS_CACHE_SECONDS",
)


def executable() -> list[str]:
    script = Path(sys.executable).parent / "nmshd-tokens"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "nmshd_tokens_local.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    env.update(extra)
    return env


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int
    dynamodb_port: int
    log: Path  # stdout, and stderr too unless it has its own file
    state_dir: Path  # where this server says where it listens (NMSHD_TOKENS_STATE_DIR), not the checkout
    errors: Path | None = None  # stderr, when kept apart

    @property
    def program(self) -> str:
        """How the server was called: the banner's and the page's commands name it."""
        return " ".join(executable())

    @property
    def state_file(self) -> Path:
        return self.state_dir / f".nmshd-tokens-serve-{self.port}.json"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    @property
    def error_output(self) -> str:
        return self.errors.read_text(encoding="utf-8", errors="replace") if self.errors else ""

    def cli(
        self, *args: str, timeout: float = 120, stdout: int = subprocess.PIPE, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Another `nmshd-tokens` command against this server's DynamoDB (as its banner tells a user) and its state
        files; its output is captured unless `stdout` names another file descriptor."""
        defaults = {
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{self.dynamodb_port}",
            "NMSHD_TOKENS_STATE_DIR": str(self.state_dir),
        }
        environment = clean_env(**(defaults | env))
        return subprocess.run(  # noqa: S603 - our own console script
            [*executable(), *args],
            env=environment,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
        )

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE_S)
            raise


def start_serve(
    tmp: Path,
    *extra: str,
    split_streams: bool = False,
    env: dict[str, str] | None = None,
    state_dir: Path | None = None,
) -> Served:
    """A `serve` on free ports; its state file goes to its own folder unless `state_dir` is shared with another."""
    port, dynamodb_port = free_port(), free_port()
    log = tmp / f"serve-{port}.log"
    errors = tmp / f"serve-{port}.err" if split_streams else None
    state_dir = state_dir or tmp / f"state-{port}"
    with log.open("w", encoding="utf-8") as sink, open(errors or os.devnull, "w", encoding="utf-8") as error_sink:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [*executable(), "serve", "--port", str(port), "--dynamodb-port", str(dynamodb_port), *extra],
            env=clean_env(API_KEY=API_KEY, NMSHD_TOKENS_STATE_DIR=str(state_dir), **(env or {})),
            stdout=sink,
            stderr=error_sink if errors else subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
    served = Served(process, port, dynamodb_port, log, state_dir, errors)
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{served.output}")
        if "ready in" in served.output:
            try:
                with urllib.request.urlopen(f"{served.base}/", timeout=5) as page:  # noqa: S310 - loopback
                    if page.status == 200:
                        return served
            except (urllib.error.URLError, ConnectionError):
                pass
        time.sleep(0.1)
    served.stop(signal.SIGKILL)
    raise AssertionError(f"serve was not ready within {START_DEADLINE_S} s:\n{served.output}")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_serve(tmp_path_factory.mktemp("serve"))
    yield server
    status = server.stop(signal.SIGINT)
    assert status == 0, f"serve did not stop cleanly on SIGINT ({status}):\n{server.output}"
    assert "stopped" in server.output
