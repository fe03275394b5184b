"""The breakdown mode runs end to end (``scripts/bench --breakdown --sizes 1``) and writes its report.

It runs the real Pulumi CLI at N = 1 with the emulator: three rounds of up, preview --refresh and
destroy, one more profiled, in about 15 s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.environment import run_bench

pytestmark = pytest.mark.e2e

COMMANDS = ("up", "preview_refresh", "destroy")


@pytest.fixture(scope="module")
def breakdown_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The output folder of one ``scripts/bench --breakdown --sizes 1`` run."""
    out = tmp_path_factory.mktemp("breakdown")
    run_bench(out, "--breakdown", "--sizes", "1", timeout=900)
    yield out


def _at_one(out: Path) -> dict[str, Any]:
    results = json.loads((out / "breakdown.json").read_text())
    return dict(results["breakdown"]["1"])


def test_each_command_ran_three_times_and_sent_the_requests_of_one_endpoint(
    breakdown_run: Path,
) -> None:
    at = _at_one(breakdown_run)
    for command in COMMANDS:
        assert len(at[command]["samples_s"]) == 3, command
    assert at["up"]["requests"] == 2  # GET / and the PUT
    assert at["preview_refresh"]["requests"] == 2  # GET / and one GET _inference/_all
    assert at["destroy"]["requests"] == 2  # the dry_run reference check, then the delete


def test_each_command_is_split_by_process_and_by_the_clis_own_phases(breakdown_run: Path) -> None:
    at = _at_one(breakdown_run)
    for command in COMMANDS:
        measured = at[command]
        assert measured["cpu_s"]["provider"] > 0, command  # the host was found and measured
        assert measured["trace"]["cli_start"] > 0, command
        assert measured["trace"]["provider_starts"] == 1, command
        assert measured["trace"]["snapshot_read"] > 0, command
    assert at["up"]["cpu_s"]["program"] > 0
    assert at["up"]["trace"]["state_writes"]["count"] > 0
    assert at["up"]["trace"]["provider_calls"]["Create"]["count"] == 1
    assert at["preview_refresh"]["trace"]["provider_calls"]["Read"]["count"] == 1


def test_the_report_has_the_terraform_anchor_the_phases_the_unpickling_and_the_profile(
    breakdown_run: Path,
) -> None:
    report = (breakdown_run / "breakdown.md").read_text()
    # The anchor's N = 1 row beside this run's figure (issue 16's table).
    assert "| apply / up | 1 | 0.39 | 2.32 |" in report
    assert "| plan / preview --refresh | 1 | 0.29 | 2.52 |" in report
    assert "| destroy | 1 | 0.44 | 1.42 |" in report
    assert "| state reads (`file://` backend):" in report
    assert "| state writes (`file://` backend):" in report
    assert "### The provider's unpickling in the host" in report
    unpickling = _at_one(breakdown_run)["provider_unpickling"]
    assert 0 < unpickling["bytes"] < 1024
    assert unpickling["first_ms"] > 0
    assert "## 3. Sampling profile of the Python processes" in report
    assert "## 5. The fixed cost at N = 1: whose is it" in report
    assert (breakdown_run / "terraform.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
