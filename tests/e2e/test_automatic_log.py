"""scripts/pulumi's ES_INFERENCE_PULUMI_AUTOMATIC_LOG: Pulumi's automatic debug log on or off.

Pulumi 3.259 writes every command's debug log to ``$PULUMI_HOME/logs`` (pulumi/pulumi#23731) and
has no setting for it; ``false`` makes ``logs`` a link to /dev/null, where the CLI cannot make its
directory and so logs nowhere. These tests run the real CLI through the script.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.pulumi_cli import REPO, PulumiProject, pulumi_bin_dir

pytestmark = pytest.mark.e2e


def _pulumi_version(home: Path, setting: str | None) -> subprocess.CompletedProcess[str]:
    pulumi_bin_dir()  # builds the CLI first, if this machine has none yet
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PULUMI_HOME"] = str(home)
    env.pop("ES_INFERENCE_PULUMI_AUTOMATIC_LOG", None)
    if setting is not None:
        env["ES_INFERENCE_PULUMI_AUTOMATIC_LOG"] = setting
    return subprocess.run(
        [str(REPO / "scripts" / "pulumi"), "version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _logs(home: Path) -> list[str]:
    logs = home / "logs"
    return sorted(p.name for p in logs.iterdir()) if logs.is_dir() else []


def test_unset_leaves_pulumis_log_on_and_false_turns_it_off_until_true(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _pulumi_version(home, None).returncode == 0
    assert len(_logs(home)) == 1  # Pulumi's default: one log per command
    for name in _logs(home):
        (home / "logs" / name).unlink()

    off = _pulumi_version(home, "false")
    assert (off.returncode, off.stdout.strip(), off.stderr) == (0, "v3.259.0", "")
    assert (home / "logs").is_symlink() and os.readlink(home / "logs") == os.devnull
    assert _pulumi_version(home, None).returncode == 0  # unset: the home stays as it was
    assert (home / "logs").is_symlink()

    assert _pulumi_version(home, "true").returncode == 0
    assert not (home / "logs").is_symlink()
    assert len(_logs(home)) == 1


def test_false_keeps_earlier_logs_or_a_link_of_the_users_and_says_how_to_turn_the_log_off(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    assert _pulumi_version(home, None).returncode == 0
    kept = _pulumi_version(home, "false")
    assert kept.returncode == 0
    assert "logs is kept" in kept.stderr and "remove it" in kept.stderr
    assert len(_logs(home)) == 2  # nothing of the user's deleted; Pulumi still logs

    linked = tmp_path / "linked"
    linked.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (linked / "logs").symlink_to(tmp_path / "elsewhere")
    assert "logs is kept" in _pulumi_version(linked, "false").stderr
    assert os.readlink(linked / "logs") == str(tmp_path / "elsewhere")


def test_a_value_other_than_true_or_false_is_refused_before_the_cli_runs(tmp_path: Path) -> None:
    refused = _pulumi_version(tmp_path / "home", "off")
    assert refused.returncode == 2
    assert "must be true or false, not 'off'" in refused.stderr
    assert refused.stdout == ""


def test_a_project_of_the_harness_runs_without_the_log_and_keeps_it_when_asked(
    tmp_path: Path,
) -> None:
    quiet = PulumiProject(tmp_path / "quiet")
    quiet.run("stack", "ls")
    assert (quiet.root / "pulumi-home" / "logs").is_symlink()

    logged = PulumiProject(tmp_path / "logged", env={"ES_INFERENCE_PULUMI_AUTOMATIC_LOG": "true"})
    logged.run("stack", "ls")
    assert len(_logs(logged.root / "pulumi-home")) == 2  # stack init, stack ls
