"""The three lock files pin one set of versions: the dev lock (make test) holds everything the run lock (make run)
and the runtime lock (the Lambda layer) install, at the same versions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    found = {package.lower().replace("_", "-"): version for package, version in _PIN.findall(text)}
    assert found, f"{name} pins nothing"
    return found


@pytest.mark.parametrize("subset", ["requirements-run.lock", "requirements.lock"])
def test_every_pin_is_the_dev_locks(subset: str) -> None:
    dev = pins("requirements-dev.lock")
    differing = {
        package: (version, dev.get(package)) for package, version in pins(subset).items() if dev.get(package) != version
    }
    assert differing == {}


def test_the_run_lock_leaves_out_the_test_tools() -> None:
    run = pins("requirements-run.lock")
    assert {"moto", "flask", "zxing-cpp", "aws-sam-translator", "boto3"} <= set(run)
    assert not {"cfn-lint", "sympy", "schemathesis", "hypothesis", "mypy", "ruff", "pytest"} & set(run)
