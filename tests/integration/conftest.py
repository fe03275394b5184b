"""Fixtures of the integration tier: a lab that records bodies, provider hosts in a project folder.

Every test drives ``InferenceEndpointProvider`` through Pulumi's own dynamic-provider host
(``python -m pulumi.dynamic`` over gRPC) against the loopback emulator. Hosts are closed at
teardown, and their stderr (what the Pulumi CLI would print) must never contain a test api key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.provider_host import ProviderHost
from tests.integration.helpers import SECRETS, TALLIES, Hosts, RecordingLab, recording_lab


@pytest.fixture
def lab() -> Iterator[RecordingLab]:
    """A fresh Elasticsearch 9.1.0 emulator and Hugging Face server; request bodies recorded."""
    with recording_lab() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The Pulumi project folder the hosts run in (their cwd), with an empty ``stacks/``."""
    (tmp_path / "stacks").mkdir()
    return tmp_path


@pytest.fixture
def hosts(project: Path) -> Iterator[Hosts]:
    """Start provider hosts on demand; at teardown, stop them and check their stderr."""
    started = Hosts(project)
    yield started
    stderr = started.close_all()
    leaked = [secret for secret in SECRETS if secret in stderr]
    assert not leaked, "a test api key appeared in the provider host's stderr"


@pytest.fixture
def host(hosts: Hosts) -> ProviderHost:
    """One started and configured provider host."""
    return hosts.start()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per module that injected faults: the figures for the resilience note."""
    for module, tally in sorted(TALLIES.items()):
        if tally.injected:
            terminalreporter.write_line(f"{module}: {tally.summary()}")
