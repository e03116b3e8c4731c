"""pytest plugin that .ci/run loads (`-p tests.ci_no_skips`): in CI a skipped test fails the run.

A skip means a check did not run; green with skips would hide the gap. The skip reasons (listed by `-ra`) say
what to install.
"""

from __future__ import annotations

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter.write_line(
            f"CI: {len(skipped)} test(s) skipped, so their checks did not run; the reasons below say what to install",
            red=True,
            bold=True,
        )
