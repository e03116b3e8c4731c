"""Without node or the upstream packages, the upstream checks skip locally but fail in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import upstream_node


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), (None, pytest.skip.Exception)])
def test_missing_node_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr("shutil.which", lambda _: None)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="NOT RUN: `node` is not on PATH. Install Node.js"):
        upstream_node.require_upstream("CHECK")


def test_missing_packages_name_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr("shutil.which", lambda _: "/usr/bin/node")
    original = upstream_node.UPSTREAM_DIR
    monkeypatch.setattr(upstream_node, "UPSTREAM_DIR", tmp_path)
    (tmp_path / "package.json").write_text((original / "package.json").read_text())
    with pytest.raises(pytest.fail.Exception, match="lacks .*@nmshd/core-types.*npm ci --prefix tests/upstream"):
        upstream_node.require_upstream("CHECK")
