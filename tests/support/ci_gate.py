"""In CI nothing may quietly not run: a skipped (or expected-to-fail) test fails the session.

Missing components skip tests on a developer's machine; under a truthy `CI` the same skip would
hide that CI tested less than it claims. This plugin lists every skip and xfail with its reason
and turns the exit status into a failure. tests/conftest.py loads it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.support.processes import in_ci


def skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@dataclass(eq=False)  # hashable: pluggy keeps plugins in sets
class CiGate:
    """What was skipped or xfailed in this session, with the reason pytest gave."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    xfailed: list[tuple[str, str]] = field(default_factory=list)

    def record(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if not report.skipped:
            return
        if hasattr(report, "wasxfail"):
            self.xfailed.append((report.nodeid, str(report.wasxfail) or "xfail"))
        else:
            self.skipped.append((report.nodeid, skip_reason(report)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.record(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.record(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if (self.skipped or self.xfailed) and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not (self.skipped or self.xfailed):
            return
        terminalreporter.section("not run although CI is set: the session fails", sep="=", red=True, bold=True)
        for kind, entries in (("SKIPPED", self.skipped), ("XFAIL", self.xfailed)):
            for nodeid, reason in entries:
                terminalreporter.line(f"{kind} {nodeid}: {reason}", red=True)
        terminalreporter.line("Every test must run in CI: install what is missing (scripts/install-deps) or unset CI.")


def pytest_configure(config: pytest.Config) -> None:
    """The gate only exists under a truthy `CI`; its state lives on this session's plugin."""
    if in_ci():
        config.pluginmanager.register(CiGate(), "ci_gate_session")
