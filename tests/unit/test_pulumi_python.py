"""scripts/pulumi-python answers the language host's package listing as pip would, and runs Python otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.pulumi_cli import REPO, pulumi_bin_dir

SHIM = REPO / "scripts" / "pulumi-python"
LISTING = ["-m", "pip", "list", "-v", "--format", "json"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ES_INFERENCE_PYTHON": sys.executable}
    return subprocess.run(
        [str(SHIM), *args], capture_output=True, text=True, env=env, check=True, timeout=120
    )


def _packages(listing: str) -> set[tuple[str, str, str]]:
    parsed: list[dict[str, Any]] = json.loads(listing)
    return {(p["name"], p["version"], p["location"]) for p in parsed}


def test_the_listing_names_the_same_packages_versions_and_locations_as_pip() -> None:
    pip = subprocess.run(
        [sys.executable, *LISTING], capture_output=True, text=True, check=True, timeout=120
    )

    ours = _packages(_run(*LISTING).stdout)

    assert ours == _packages(pip.stdout)
    assert any(name == "pulumi" for name, _, _ in ours)


def test_any_other_command_runs_the_configured_interpreter_with_its_arguments() -> None:
    done = _run("-c", "import sys; print(sys.executable, sys.argv[1:])", "pip", "list")

    assert done.stdout.strip() == f"{sys.executable} ['pip', 'list']"


def test_the_plugin_runs_the_same_python_and_a_cached_older_plugin_is_rewritten(
    tmp_path: Path,
) -> None:
    # scripts/pulumi checks the plugin's revision line on every run; an older one (the cache of an
    # earlier checkout) is replaced without rebuilding the CLI.
    real = pulumi_bin_dir()
    bin_dir = tmp_path / real.parent.name / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("pulumi", "pulumi-language-python"):
        (bin_dir / name).symlink_to(real / name)
    plugin = bin_dir / "pulumi-resource-pulumi-python"
    plugin.write_text('#!/bin/sh\nexec python3 -u -m pulumi.dynamic "$@"\n')
    plugin.chmod(0o755)
    cached = {**os.environ, "ES_INFERENCE_CACHE": str(tmp_path)}

    done = subprocess.run(
        [str(REPO / "scripts" / "pulumi"), "--print-bin-dir"],
        capture_output=True,
        text=True,
        env=cached,
        check=True,
        timeout=120,
    )

    assert done.stdout.strip().splitlines()[-1] == str(bin_dir)
    assert plugin.read_text() == (real / "pulumi-resource-pulumi-python").read_text()
    # The host is started with $PULUMI_PYTHON_CMD (scripts/pulumi-python), even in a virtualenv.
    python = tmp_path / "python"
    python.write_text('#!/bin/sh\necho "$@"\n')
    python.chmod(0o755)
    started = subprocess.run(
        [str(plugin), "127.0.0.1:1"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PULUMI_PYTHON_CMD": str(python),
            "PULUMI_RUNTIME_VIRTUALENV": sys.prefix,
        },
        check=True,
        timeout=60,
    )
    assert started.stdout.split() == ["-u", "-m", "pulumi.dynamic", "127.0.0.1:1"]
