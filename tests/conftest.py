"""Fixtures shared by every tier: a clean environment and a fresh lab on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from emulators.lab import Lab, lab_servers
from providers import session
from tests.support.environment import OWN_ENV_PREFIXES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Elasticsearch or Pulumi settings."""
    for name in list(os.environ):
        if name.startswith(OWN_ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    """No test sees the sessions, deleted ids or caches an earlier test left in this process."""
    yield
    session.reset()


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A fresh Elasticsearch emulator (9.1.0) and Hugging Face server for one test."""
    with lab_servers() as running:
        yield running


_SKIPPED_BUT_REQUIRED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every skip or xfail outside the opt-in acceptance tier."""
    if report.skipped and "acceptance" not in report.keywords:
        _SKIPPED_BUT_REQUIRED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that skips a test it must run fails, like one that finds no test at all."""
    if _SKIPPED_BUT_REQUIRED and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the tests that were skipped but must run."""
    if _SKIPPED_BUT_REQUIRED:
        terminalreporter.section("skipped tests that must run (the run fails)", red=True)
        for nodeid in _SKIPPED_BUT_REQUIRED:
            terminalreporter.write_line(nodeid, red=True)
