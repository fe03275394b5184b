"""Run the real Pulumi CLI (built by scripts/pulumi) on a copy of the project in a temporary folder.

Each project gets its own ``file://`` backend and passphrase secrets provider, as a user's pipeline
would. Every command's output is kept, so a test can assert that no secret was ever printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.signals import default_sigint

__all__ = ["REPO", "PulumiProject", "Result", "engine_env", "pulumi_bin_dir"]

REPO = Path(__file__).resolve().parents[1]
PASSPHRASE = "e2e-passphrase"
# Runs a command as its only child and writes the peak RSS (KB) of that command's process tree
# (every process in it that was waited for: the CLI, its plugins, the program) to argv[1]. The
# caller's own RUSAGE_CHILDREN would also hold every earlier child of the test run.
_PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


@cache
def pulumi_bin_dir() -> Path:
    """The directory holding the CLI and its plugins; builds them on first use (minutes)."""
    done = subprocess.run(
        [str(REPO / "scripts" / "pulumi"), "--print-bin-dir"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/pulumi could not provide the CLI:\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


@cache
def engine_env(command: str = "") -> dict[str, str]:
    """The engine settings scripts/pulumi gives the CLI for ``command`` (users get the same)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["ES_INFERENCE_PYTHON"] = sys.executable
    done = subprocess.run(
        [str(REPO / "scripts" / "pulumi"), "--print-engine-env", command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    pairs = (line.partition("=") for line in done.stdout.splitlines())
    return {key: value for key, _, value in pairs if key}


def _pulumi_home(root: Path, env: Mapping[str, str]) -> Path:
    """The project's own Pulumi home; Pulumi's automatic log off in it, as scripts/demo and the
    pipeline recipes run (scripts/pulumi's ES_INFERENCE_PULUMI_AUTOMATIC_LOG=false: ``logs`` a link
    to /dev/null). ``ES_INFERENCE_PULUMI_AUTOMATIC_LOG=true`` in ``env`` keeps the log."""
    home = root / "pulumi-home"
    home.mkdir()
    if env.get("ES_INFERENCE_PULUMI_AUTOMATIC_LOG") != "true":
        (home / "logs").symlink_to(os.devnull)
    return home


@dataclass
class Result:
    """One CLI run."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.stdout + self.stderr


class PulumiProject:
    """A project folder (Pulumi.yaml, __main__.py, stacks/) with its own backend and stack."""

    def __init__(
        self, root: Path, stack: str = "e2e", env: Mapping[str, str] | None = None
    ) -> None:
        self.root = root
        self.dir = root / "project"
        self.stack = stack
        (self.dir / "stacks").mkdir(parents=True)
        shutil.copy(REPO / "__main__.py", self.dir / "__main__.py")
        project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
        project["runtime"]["options"]["virtualenv"] = str(Path(sys.prefix))
        (self.dir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        (root / "state").mkdir()
        bin_dir = pulumi_bin_dir()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_HOME": str(_pulumi_home(root, env or {})),
            **engine_env(),
            "PULUMI_ACCEPT_TERMS": "true",
            **(env or {}),
        }
        self.pulumi = str(bin_dir / "pulumi")
        self.history: list[Result] = []
        self.run("stack", "init", stack)

    @property
    def stack_file(self) -> Path:
        """``stacks/<stack>.yaml`` of this project."""
        return self.dir / "stacks" / f"{self.stack}.yaml"

    def write_stack(self, document: Mapping[str, Any] | str) -> None:
        """Write the stack file (a mapping is dumped as YAML; a string is written as is)."""
        text = document if isinstance(document, str) else yaml.safe_dump(dict(document))
        self.stack_file.write_text(text)

    def _pulumi(
        self,
        args: list[str],
        *,
        stdin: str | None = None,
        timeout: float = 600,
        wrapper: tuple[str, ...] = (),
    ) -> Result:
        done = subprocess.run(
            [*wrapper, self.pulumi, *args, "--non-interactive"],
            cwd=self.dir,
            env={**engine_env(args[0] if args else ""), **self.env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=default_sigint,
        )
        return Result(args, done.returncode, done.stdout, done.stderr)

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> Result:
        """Run ``pulumi <args> --non-interactive``; raise on failure unless ``check`` is False."""
        result = self._pulumi(list(args), timeout=timeout)
        self.history.append(result)
        if check and result.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.output}"
            )
        return result

    def run_with_peak_memory(self, *args: str) -> tuple[Result, int]:
        """Run ``pulumi <args> --non-interactive`` (failure allowed) and the peak RSS in KB of
        the largest process of that command alone: the CLI, its plugins, the program."""
        peak_file = self.root / "peak-rss-kb"
        wrapper = (sys.executable, "-c", _PEAK_RSS, str(peak_file))
        result = self._pulumi(list(args), wrapper=wrapper)
        self.history.append(result)
        return result, int(peak_file.read_text())

    def set_secret(self, key: str, value: str) -> None:
        """``pulumi config set --secret`` (the value goes through stdin, never argv)."""
        done = self._pulumi(["config", "set", "--secret", key], stdin=value)
        assert done.returncode == 0, done.stderr
        self.history.append(done)

    def up(self, *extra: str, check: bool = True) -> Result:
        """``pulumi up --yes``."""
        return self.run("up", "--yes", "--skip-preview", *extra, check=check)

    def preview(self, *extra: str, check: bool = True) -> Result:
        """``pulumi preview``."""
        return self.run("preview", *extra, check=check)

    def preview_steps(self) -> dict[str, dict[str, Any]]:
        """``pulumi preview --json`` steps of our resources, by resource name."""
        result = self.run("preview", "--json")
        document = json.loads(result.stdout)
        steps = {}
        for step in document.get("steps", []):
            if "InferenceEndpoint" in step.get("urn", ""):
                steps[step["urn"].rsplit("::", 1)[-1]] = step
        return steps

    def refresh(self, *extra: str, check: bool = True) -> Result:
        """``pulumi refresh --yes``."""
        return self.run("refresh", "--yes", "--skip-preview", *extra, check=check)

    def destroy(self, check: bool = True) -> Result:
        """``pulumi destroy --yes``."""
        return self.run("destroy", "--yes", "--skip-preview", check=check)

    def export(self) -> str:
        """The state as ``pulumi stack export`` prints it (secrets stay encrypted)."""
        return self.run("stack", "export").stdout

    def decrypted_resources(self) -> dict[str, dict[str, Any]]:
        """Our resources' outputs by id, secrets decrypted. Not recorded: the leak checks would flag it."""
        done = self._pulumi(["stack", "export", "--show-secrets"])
        assert done.returncode == 0, done.stderr

        def reveal(value: Any) -> Any:
            if isinstance(value, dict) and "plaintext" in value:
                return json.loads(value["plaintext"])
            if isinstance(value, dict):
                return {k: reveal(v) for k, v in value.items()}
            return value

        deployment = json.loads(done.stdout)["deployment"]
        return {
            r["id"]: reveal(r["outputs"])
            for r in deployment.get("resources", [])
            if "InferenceEndpoint" in r["type"]
        }

    def outputs(self) -> dict[str, Any]:
        """The stack outputs."""
        return dict(json.loads(self.run("stack", "output", "--json").stdout))

    def all_output(self) -> str:
        """Everything every command printed so far, plus the files the CLI wrote."""
        texts = [r.output for r in self.history]
        for path in [*self.root.joinpath("state").rglob("*"), *self.dir.rglob("*")]:
            if path.is_file():
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)
