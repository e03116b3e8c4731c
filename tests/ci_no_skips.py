"""pytest plugin that .ci/run loads (`-p tests.ci_no_skips`): in CI every check runs or the run fails.

A skip means a check did not run; an xfail, that a failing check is tolerated (and an xpass, that its mark is
stale); a test module that collects nothing, that its checks are gone (a renamed fixture, a test function that lost
its `test_` prefix). Green with any of these would hide the gap. The skip reasons (listed by `-ra`) say what to
install.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

Wrapped = Generator[None, pytest.CollectReport, pytest.CollectReport]

# What the run's summary counts under these words (the terminal reporter's stats keys).
NOT_RUN = {
    "skipped": "skipped, so their checks did not run; the reasons below say what to install",
    "xfailed": "xfailed: a failing check is not a passing one; fix it or remove the test",
    "xpassed": "xpassed: remove their xfail mark",
}


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Wrapped:
    """A test module or class that collects no test is a collection error (pytest-xdist reports those, too)."""
    report = yield
    if isinstance(collector, pytest.Module | pytest.Class) and report.passed and not report.result:
        report.outcome = "failed"
        report.longrepr = f"CI: {collector.nodeid} collects no test, so none of its checks runs"
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or session.exitstatus != pytest.ExitCode.OK:
        return
    for key, message in NOT_RUN.items():
        reports = reporter.stats.get(key, [])
        if reports:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            reporter.write_line(f"CI: {len(reports)} test(s) {message}", red=True, bold=True)
