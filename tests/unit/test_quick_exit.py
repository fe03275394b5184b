"""The engine's Python processes end at once after a successful run, and as before otherwise.

``providers/quick_exit.py`` skips the interpreter's teardown in Pulumi's program runner and
dynamic-provider host. Here each runs for real: Pulumi's host (``python -m pulumi.dynamic``, stopped
with SIGINT as the engine stops it), and a script under the name of Pulumi's program runner
(``pulumi-language-python-exec``) that ends as that script ends, with its ``exit_code`` and
``sys.exit``. An exit handler registered before ours stands for the teardown: it runs only when the
process ends the ordinary way. ``tests/e2e/test_engine.py`` checks both under the real engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.provider_host import ProviderHost
from harness.pulumi_cli import REPO
from providers.quick_exit import PROGRAM, PROVIDER_HOST, QUICK_EXIT, engine_process

# Runs a program and ends as Pulumi's pulumi-language-python-exec (sdk 3.259) does: the program
# through runpy.run_path (which makes it sys.modules["__main__"] meanwhile) with sys.argv set to
# the program's folder, then exit_code, then sys.exit(exit_code).
RUNNER = textwrap.dedent(
    """
    import atexit, logging, logging.handlers, runpy, sys
    marker, log_file, ending, program = sys.argv[1:5]
    atexit.register(lambda: open(marker, "a").write("teardown\\n"))
    buffered = logging.handlers.MemoryHandler(100, target=logging.FileHandler(log_file))
    logging.getLogger("runner").addHandler(buffered)
    logging.getLogger("runner").warning("a buffered record")
    exit_code = 1
    sys.argv = ["."]
    runpy.run_path(program, run_name="__main__")
    if ending == "unhandled":
        exit_code = 0
        raise RuntimeError("failed after the run")
    if ending == "success":
        exit_code = 0
    sys.exit(exit_code)
    """
)
PROGRAM_FILE = """
from providers.quick_exit import arm_quick_exit
print("armed" if arm_quick_exit() else "not armed", end="")
"""


def _run(
    tmp_path: Path, name: str, ending: str, *, starter: bool = False, **env: str
) -> tuple[subprocess.CompletedProcess[str], str, str]:
    script, program = tmp_path / name, tmp_path / "__main__.py"
    script.write_text(RUNNER)
    program.write_text(PROGRAM_FILE)
    marker, log_file = tmp_path / "teardown", tmp_path / "log"
    # As scripts/pulumi-python runs the runner: python -m providers.provider_start <runner> ...
    through = ["-m", "providers.provider_start"] if starter else ["-u"]
    done = subprocess.run(
        [sys.executable, *through, str(script), str(marker), str(log_file), ending, str(program)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_environment(), **env},
    )
    teardown = marker.read_text() if marker.exists() else ""
    return done, teardown, log_file.read_text() if log_file.exists() else ""


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != QUICK_EXIT}


@pytest.mark.parametrize(
    "starter", [False, True], ids=["python <runner>", "python -m providers.provider_start <runner>"]
)
def test_the_program_runner_ends_at_once_after_a_successful_run(
    tmp_path: Path, starter: bool
) -> None:
    done, teardown, log = _run(tmp_path, "pulumi-language-python-exec", "success", starter=starter)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "armed"  # buffered output is flushed
    assert log == "a buffered record\n"  # logging is shut down, as its own exit handler would
    assert teardown == ""


@pytest.mark.parametrize(
    ("ending", "name", "env", "stdout", "code"),
    [
        ("failure", "pulumi-language-python-exec", {}, "armed", 1),
        ("failure", "pulumi-language-python-exec", {"starter": True}, "armed", 1),
        ("unhandled", "pulumi-language-python-exec", {}, "armed", 1),
        ("success", "pulumi-language-python-exec", {QUICK_EXIT: "false"}, "not armed", 0),
        ("success", "some-other-program", {}, "not armed", 0),
    ],
    ids=[
        "a failed run",
        "a failed run, through the starter",
        "an exception after the run",
        "turned off",
        "not the engine's process",
    ],
)
def test_otherwise_the_process_ends_as_before_with_its_own_exit_code(
    tmp_path: Path, ending: str, name: str, env: dict[str, Any], stdout: str, code: int
) -> None:
    done, teardown, log = _run(tmp_path, name, ending, **env)

    assert done.returncode == code, done.stderr
    assert done.stdout == stdout
    assert teardown == "teardown\n"
    assert log == "a buffered record\n"
    if ending == "unhandled":
        assert "RuntimeError: failed after the run" in done.stderr


def test_only_the_engines_processes_are_recognised() -> None:
    def main(file: str, spec: str | None = None) -> ModuleType:
        module = ModuleType("__main__")
        module.__file__ = file
        module.__spec__ = ModuleSpec(spec, None) if spec else None
        return module

    host = main("/x/pulumi/dynamic/__main__.py", "pulumi.dynamic.__main__")
    assert engine_process(host) == PROVIDER_HOST
    assert engine_process(main("/bin/pulumi-language-python-exec")) == PROGRAM
    assert engine_process(main("/x/pytest/__main__.py", "pytest.__main__")) is None
    assert engine_process() is None  # this test runner


SITECUSTOMIZE = """
import atexit, os
atexit.register(lambda: open(os.environ["QUICK_EXIT_MARKER"], "a").write("teardown\\n"))
"""


@pytest.mark.parametrize(
    "warm_up", [False, True], ids=["python -m pulumi.dynamic", "through scripts/pulumi-python"]
)
@pytest.mark.parametrize(
    "turned_off", [False, True], ids=["default", "ES_INFERENCE_QUICK_EXIT=false"]
)
def test_the_provider_host_ends_at_once_when_the_engine_stops_it(
    tmp_path: Path, turned_off: bool, warm_up: bool
) -> None:
    # An exit handler registered when the interpreter starts, before the SDK and ours.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    marker = tmp_path / "teardown"
    env = {"PYTHONPATH": str(tmp_path / "site"), "QUICK_EXIT_MARKER": str(marker)}
    if turned_off:
        env[QUICK_EXIT] = "false"
    if warm_up:  # python -m providers.host_warm_up, which runs the host as its __main__
        env["ES_INFERENCE_PYTHON"] = sys.executable
    python = [str(REPO / "scripts" / "pulumi-python")] if warm_up else []
    host = ProviderHost(str(tmp_path), env=env, python=python)
    host.check_in_the_provider()  # unpickling the provider arms the quick exit

    stderr = host.close(as_the_engine=True)

    assert host.process.returncode == 0, stderr
    assert (marker.read_text() if marker.exists() else "") == ("teardown\n" if turned_off else "")
