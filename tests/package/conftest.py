"""The deployment package as `make package` builds it: built once per session, reused while nothing changed."""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployment.lambda_emulator import BUILD_DIR, TWIN_LAYER, built_stack
from deployment.local_aws import LocalAws
from deployment.template_values import Stack
from tests.support import ROOT

BUILD_LOCK = ROOT / ".aws-sam" / ".build.lock"
PACKAGE_DEADLINE_S = 900  # a first build installs the SAM CLI (≈ 1.5 min) and downloads both layers' wheels


def _python313_missing() -> bool:
    found = subprocess.run(
        [str(ROOT / "deployment" / "find-python.sh"), "3.13"], capture_output=True, text=True, check=False
    )
    return not found.stdout.strip()


@pytest.fixture(scope="session")
def package() -> Path:
    """`make package` (a no-op when up to date), one pytest worker at a time; the build folder."""
    if _python313_missing():
        message = "PACKAGE NOT BUILT: Python 3.13 not found; install it (e.g. `pyenv install 3.13`) and run make test"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # A make of our own, not a sub-make of `make test`'s: its jobserver is not ours to use.
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    BUILD_LOCK.parent.mkdir(exist_ok=True)
    with BUILD_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = subprocess.run(
            ["make", "--no-print-directory", "package"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=PACKAGE_DEADLINE_S,
            check=False,
        )
    assert built.returncode == 0, f"make package failed:\n{built.stdout[-4000:]}\n{built.stderr[-4000:]}"
    assert (TWIN_LAYER / "python").is_dir()
    return BUILD_DIR


@pytest.fixture(scope="module")
def stack(package: Path) -> Stack:
    return built_stack(package)


@pytest.fixture
def local_aws(stack: Stack) -> Iterator[LocalAws]:
    """A fresh moto server with the stack's resources and the demo records, as each `make invoke` starts one."""
    with LocalAws(stack) as aws:
        yield aws
