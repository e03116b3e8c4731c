"""Tests whose real check needs something from outside the venv (a browser, node, the upstream documents).

Locally a missing prerequisite skips the test with a message saying what to install; in CI (CI=true) it fails the
test with the same message, so that a gap is never hidden by a green run.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str, install: str) -> None:
    """Skip (locally) or fail (CI=true) unless `available`; `what` says what is missing, `install` how to get it."""
    if available:
        return
    message = f"NOT RUN: {what}. Install it: {install}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing prerequisite fails the run)", pytrace=False)
    pytest.skip(message)
