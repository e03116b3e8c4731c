"""In CI nothing is skipped silently: .ci/run refuses to start without a prerequisite, a test whose prerequisite
is missing fails, and a skip that happens anyway fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.prerequisites import require
from tests.support import ROOT

TIMEOUT_S = 300  # a safety net: each run below takes a second or two


def _fake_path(tmp_path: Path, *commands: str) -> str:
    """A PATH with only these commands (symlinks to the real ones) and bash's own needs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in (*commands, "bash", "id", "dirname", "printf"):
        real = next((Path(d) / name for d in os.environ["PATH"].split(os.pathsep) if (Path(d) / name).is_file()), None)
        if real is not None:
            (folder / name).symlink_to(real)
    return str(folder)


def test_ci_run_names_what_to_install_and_runs_nothing(tmp_path: Path) -> None:
    path = _fake_path(tmp_path, "make", "python3", "curl")  # no node, npm, chromium (and no apt-get to get them)
    done = subprocess.run(  # noqa: S603 - the repository's own script
        ["bash", str(ROOT / ".ci" / "run")],  # noqa: S607
        env={"PATH": path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 1
    assert "node (the upstream cross-check): apt-get install nodejs" in done.stderr
    assert "chromium (the browser test of the local demo page): apt-get install chromium" in done.stderr
    assert "make (" not in done.stderr and "curl (" not in done.stderr
    assert "==> installing the pinned dependencies" not in done.stdout  # stopped before `make test`


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_prerequisite_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="NOT RUN: the thing. Install it: apt-get install thing"):
        require(False, "the thing", "apt-get install thing")
    require(True, "the thing", "apt-get install thing")  # present: nothing happens


def run_pytest(folder: Path, *plugin: str) -> subprocess.CompletedProcess[str]:
    """The venv's pytest on the sample files in `folder`, with the given plugin arguments."""
    return subprocess.run(  # noqa: S603 - the venv's pytest on sample files
        [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", "-p", "no:xdist", *plugin, str(folder)],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_a_skip_fails_the_run_with_the_ci_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\ndef test_runs():\n    pass\n\ndef test_skips():\n    pytest.skip('needs a thing')\n",
        encoding="utf-8",
    )
    assert run_pytest(tmp_path).returncode == 0
    gated = run_pytest(tmp_path, "-p", "tests.ci_no_skips")
    assert gated.returncode == 1, gated.stdout
    assert "1 test(s) skipped" in gated.stdout and "needs a thing" in gated.stdout


XFAIL = "import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_known():\n    assert False\n"
XPASS = "import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_known():\n    pass\n"
NO_TEST = "def check_something():  # lost its test_ prefix\n    assert True\n"
EMPTY_CLASS = "class TestNothing:\n    def check(self):\n        pass\n"


@pytest.mark.parametrize(
    ("sample", "said"),
    [
        (XFAIL, "CI: 1 test(s) xfailed"),
        (XPASS, "CI: 1 test(s) xpassed"),
        (NO_TEST, "CI: test_sample.py collects no test"),
        (EMPTY_CLASS, "CI: test_sample.py::TestNothing collects no test"),
    ],
    ids=["xfail", "xpass", "module without tests", "class without tests"],
)
def test_an_xfail_or_a_test_file_without_tests_fails_the_run_with_the_ci_plugin(
    tmp_path: Path, sample: str, said: str
) -> None:
    (tmp_path / "test_runs.py").write_text("def test_runs():\n    pass\n", encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(sample, encoding="utf-8")
    assert run_pytest(tmp_path).returncode == 0
    gated = run_pytest(tmp_path, "-p", "tests.ci_no_skips")
    assert gated.returncode != 0, gated.stdout
    assert said in gated.stdout, gated.stdout


def test_the_ci_plugin_passes_a_run_where_every_check_ran(tmp_path: Path) -> None:
    (tmp_path / "test_runs.py").write_text(
        "import pytest\n\nclass TestGroup:\n    def test_one(self):\n        pass\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\ndef test_each(n):\n    assert n\n",
        encoding="utf-8",
    )
    gated = run_pytest(tmp_path, "-p", "tests.ci_no_skips")
    assert gated.returncode == 0, gated.stdout
    assert "3 passed" in gated.stdout
