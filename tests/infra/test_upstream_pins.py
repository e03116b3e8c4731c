"""The upstream npm packages the tests compare against are pinned: exact versions, each locked with its hash."""

from __future__ import annotations

import json
import re
from pathlib import Path

UPSTREAM = Path(__file__).resolve().parents[2] / "tests" / "upstream"


def test_upstream_packages_are_pinned_exactly_and_locked() -> None:
    declared = json.loads((UPSTREAM / "package.json").read_text(encoding="utf-8"))["dependencies"]
    lock = json.loads((UPSTREAM / "package-lock.json").read_text(encoding="utf-8"))
    assert {"@nmshd/transport", "@nmshd/crypto", "@nmshd/core-types"} <= declared.keys()
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in declared.values()), declared  # no ranges
    assert lock["packages"][""]["dependencies"] == declared
    for name, version in declared.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    unhashed = [path for path, entry in lock["packages"].items() if path and not entry.get("integrity")]
    assert unhashed == []
