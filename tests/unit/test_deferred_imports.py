"""The engine's Python processes import Pulumi's Automation API only if something uses it.

Each runs for real in a process of its own, started as the engine starts it through
``scripts/pulumi-python``: the program's runner (``pulumi-language-python-exec``, here a script under
its name) and the dynamic-provider host (``python -u -m pulumi.dynamic``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.provider_host import ProviderHost
from harness.pulumi_cli import REPO
from providers.deferred_imports import DEFER_SDK_IMPORTS
from providers.provider_start import EXEC_SCRIPT

SHIM = REPO / "scripts" / "pulumi-python"
# A module of the Automation API that its package's own import runs.
INSIDE = "pulumi.automation._local_workspace"

# Imports the SDK as the exec script does, then uses the Automation API, reporting both moments.
PROGRAM = textwrap.dedent(
    f"""
    import json, sys
    import pulumi
    imported = {INSIDE!r} in sys.modules
    workspace = pulumi.automation.LocalWorkspace  # the first use runs the package
    print(json.dumps({{
        "after_import_pulumi": imported,
        "after_use": {INSIDE!r} in sys.modules,
        "used": workspace.__module__,
        "attribute_bound": pulumi.automation is sys.modules["pulumi.automation"],
    }}))
    """
)


def _environment(**env: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != DEFER_SDK_IMPORTS},
        "ES_INFERENCE_PYTHON": sys.executable,
        **env,
    }


def _run_program(tmp_path: Path, **env: str) -> dict[str, Any]:
    script = tmp_path / "bin" / EXEC_SCRIPT
    script.parent.mkdir()
    script.write_text(PROGRAM)
    done = subprocess.run(
        [str(SHIM), str(script), "--engine", "127.0.0.1:1", "."],
        capture_output=True,
        text=True,
        env=_environment(**env),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_the_programs_runner_imports_the_automation_api_on_its_first_use(tmp_path: Path) -> None:
    report = _run_program(tmp_path)

    assert report == {
        "after_import_pulumi": False,
        "after_use": True,
        "used": "pulumi.automation._local_workspace",
        "attribute_bound": True,
    }


@pytest.mark.parametrize("value", ["false", "0"])
def test_turned_off_the_runner_imports_it_with_the_sdk_as_before(
    tmp_path: Path, value: str
) -> None:
    report = _run_program(tmp_path, **{DEFER_SDK_IMPORTS: value})

    assert report["after_import_pulumi"] is True
    assert report["used"] == "pulumi.automation._local_workspace"


def _host_import_log(tmp_path: Path, **env: str) -> str:
    environment = {**_environment(**env), "PYTHONPROFILEIMPORTTIME": "1"}
    host = ProviderHost(str(tmp_path), env=environment, python=[str(SHIM)])
    try:
        host.check_in_the_provider()
    finally:
        stderr = host.close(as_the_engine=True)
    assert host.process.returncode == 0, stderr
    return stderr


def _imported(log: str, module: str) -> bool:
    return any(line.rpartition("|")[2].strip() == module for line in log.splitlines())


def test_the_provider_host_serves_its_calls_without_importing_the_automation_api(
    tmp_path: Path,
) -> None:
    log = _host_import_log(tmp_path)

    assert _imported(log, "pulumi.automation")  # its module object, bound where it was imported
    assert not _imported(log, INSIDE)
    assert _imported(log, "providers.inference_endpoint")  # the log is the host's own


def test_turned_off_the_provider_host_imports_it_as_before(tmp_path: Path) -> None:
    log = _host_import_log(tmp_path, **{DEFER_SDK_IMPORTS: "false"})

    assert _imported(log, INSIDE)
