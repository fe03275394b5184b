"""scripts/pulumi-python answers the language host's package listing as pip would, and runs Python otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from harness.pulumi_cli import REPO

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
