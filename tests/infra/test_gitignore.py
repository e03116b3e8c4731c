"""Tool caches, reports and the local servers' state files never show up as changes in git."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.prerequisites import require
from tests.support import ROOT

IGNORED = [
    ".schemathesis/report.json",
    ".hypothesis/examples/x",
    ".pytest_cache/v/cache/lastfailed",
    ".mypy_cache/3.11/x.json",
    ".ruff_cache/x",
    ".coverage",
    ".coverage.host.123",
    "htmlcov/index.html",
    "tests/artifacts/local-page.png",
    ".nmshd-tokens-serve-3000.json",  # one state file per running server, by API port
    ".nmshd-tokens-serve-3000.jsonk3j2h1",  # a state file's atomic-write temporary
    "tests/upstream/node_modules/x/package.json",
    ".venv/bin/python",
    "shared/nmshd_tokens/__pycache__/cli.cpython-311.pyc",
]
TRACKED = ["template.yaml", "docs/examples/file-dto.json", "tests/e2e/conftest.py"]


@pytest.mark.parametrize("path", IGNORED)
def test_caches_and_state_are_ignored(path: str) -> None:
    assert _ignored(path), f"{path} would show up in `git status`"


@pytest.mark.parametrize("path", TRACKED)
def test_sources_are_not_ignored(path: str) -> None:
    assert not _ignored(path)


def _ignored(path: str) -> bool:
    require(shutil.which("git") is not None, "the .gitignore check asks git", "apt-get install git")
    done = subprocess.run(  # noqa: S603
        ["git", "check-ignore", "--quiet", "--no-index", path],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode == 0
