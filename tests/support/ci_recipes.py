"""Read the pipeline recipes in ``examples/pipelines/`` and run their steps in order, as the CI would.

The commands come from the recipe files themselves, so a recipe cannot rot: a renamed command, a
new step or a changed condition is what the test runs. What a CI machine provides before the
recipe's own commands (a checkout, Python, the Pulumi CLI, the package) this machine already has;
those steps are listed in ``PROVIDED`` by their exact text, so changing one fails the test until
the table says how it is provided here. Anything else a recipe does runs for real in bash.

Expressions are evaluated only in the forms the recipes use (GitHub ``${{ secrets.X }}``,
``${{ vars.X }}``, ``${{ github.… }}`` in ``env:``, ``github.event_name == '…'`` in ``if:``;
GitLab ``$VAR == "…"`` and ``$A == $B`` joined by ``&&`` in ``rules:``): any other form fails.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.signals import default_sigint

__all__ = [
    "EVENTS",
    "PROVIDED",
    "Ran",
    "Step",
    "github_steps",
    "gitlab_steps",
    "run_steps",
]

# The three moments of the recipes, in the words of each CI.
EVENTS = {
    "change_request": {"github": "pull_request", "gitlab": "merge_request_event"},
    "merge": {"github": "push", "gitlab": "push"},
    "schedule": {"github": "schedule", "gitlab": "schedule"},
}
_GITHUB_INSTALL = (
    'python -m venv .venv\n.venv/bin/pip install -q -e .\necho "$PWD/.venv/bin" >> "$GITHUB_PATH"\n'
)
_GITLAB_INSTALL = [
    "curl -fsSL https://get.pulumi.com | sh -s -- --version 3.259.0",
    'export PATH="$HOME/.pulumi/bin:$PATH"',
    "python -m venv .venv && .venv/bin/pip install -q -e .",
    'export PATH="$PWD/.venv/bin:$PATH"',
]
# Steps the test machine provides itself, by their exact text, and how.
PROVIDED: dict[str, str] = {
    "uses: actions/checkout@v4": "the test writes the project folder before the run",
    "uses: actions/setup-python@v5": "the test's own Python runs the program",
    "uses: pulumi/actions@v6": "the CLI built by scripts/pulumi is on PATH",
    f"run: {_GITHUB_INSTALL}": "the package is installed in the test's virtualenv, on PATH",
    "before_script: " + "\n".join(_GITLAB_INSTALL): "the CLI and the package are on PATH",
}
_GITHUB_EXPRESSION = re.compile(r"^\$\{\{\s*([a-z_]+(?:\.[A-Za-z0-9_]+)+)\s*\}\}$")
_GITHUB_EVENT_IS = re.compile(r"^github\.event_name == '([a-z_]+)'$")
_GITLAB_EQUALS = re.compile(r'^\$([A-Z_]+) == (?:"([^"]*)"|\$([A-Z_]+))$')


@dataclass(frozen=True)
class Step:
    """One step a CI would run: its job, a name, the bash script and the step's environment."""

    job: str
    name: str
    script: str
    env: dict[str, str] = field(default_factory=dict)
    provided: str = ""


@dataclass(frozen=True)
class Ran:
    """A step that ran."""

    step: Step
    returncode: int
    output: str


def _lookup(context: Mapping[str, Any], dotted: str) -> str:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"the recipe uses ${{{{ {dotted} }}}}, which the test does not provide")
        value = value[part]
    return str(value)


def _github_env(raw: Mapping[str, Any] | None, context: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (raw or {}).items():
        text = str(value)
        found = _GITHUB_EXPRESSION.match(text)
        if found:
            out[name] = _lookup(context, found[1])
        elif "${{" in text:
            raise ValueError(f"env {name}: unsupported expression {text!r}")
        else:
            out[name] = text
    return out


def _github_runs(condition: str | None, event: str) -> bool:
    if condition is None:
        return True
    alternatives = [c.strip() for c in condition.split("||")]
    matches = [_GITHUB_EVENT_IS.match(c) for c in alternatives]
    if not all(matches):
        raise ValueError(f"unsupported if: {condition!r}")
    return any(m is not None and m[1] == event for m in matches)


def github_steps(path: Path, event: str, context: Mapping[str, Any]) -> list[Step]:
    """The steps a GitHub Actions workflow runs on ``event``, job by job in file order."""
    workflow = yaml.safe_load(path.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert EVENTS[event]["github"] in triggers, f"{path} does not run on {event}"
    top = _github_env(workflow.get("env"), context)
    steps: list[Step] = []
    for job_name, job in workflow["jobs"].items():
        if not _github_runs(job.get("if"), EVENTS[event]["github"]):
            continue
        job_env = {**top, **_github_env(job.get("env"), context)}
        for index, raw in enumerate(job["steps"]):
            name = str(raw.get("name") or raw.get("uses") or f"step {index}")
            key = f"uses: {raw['uses']}" if "uses" in raw else f"run: {raw['run']}"
            if "uses" in raw and key not in PROVIDED:
                raise ValueError(f"{path}: {job_name}: {key} is neither run here nor in PROVIDED")
            script = "" if key in PROVIDED else str(raw["run"])
            assert "${{" not in script, f"{name}: pass expressions through env:, not into run:"
            env = {**job_env, **_github_env(raw.get("env"), context)}
            steps.append(Step(job_name, name, script, env, PROVIDED.get(key, "")))
    return steps


def _gitlab_runs(rules: Sequence[Mapping[str, Any]], variables: Mapping[str, str]) -> bool:
    for rule in rules:
        clauses = [c.strip() for c in str(rule["if"]).split("&&")]
        results = []
        for clause in clauses:
            found = _GITLAB_EQUALS.match(clause)
            if found is None:
                raise ValueError(f"unsupported rule: {clause!r}")
            left = variables.get(found[1], "")
            right = found[2] if found[2] is not None else variables.get(found[3], "")
            results.append(left == right)
        if all(results):
            return True
    return False


def gitlab_steps(path: Path, event: str, variables: Mapping[str, str]) -> list[Step]:
    """The jobs a GitLab pipeline runs on ``event``, by stage, each job's script as one step."""
    pipeline = yaml.safe_load(path.read_text())
    stages = list(pipeline.get("stages") or ["test"])
    top = {k: str(v) for k, v in (pipeline.get("variables") or {}).items()}
    source = {**variables, "CI_PIPELINE_SOURCE": EVENTS[event]["gitlab"]}
    jobs = []
    for name, job in pipeline.items():
        if name.startswith(".") or not isinstance(job, dict) or "script" not in job:
            continue
        merged: dict[str, Any] = {}
        for template in [job.get("extends")] if isinstance(job.get("extends"), str) else []:
            merged.update(pipeline[template])
        merged.update(job)
        if _gitlab_runs(merged.get("rules") or [{"if": '$CI_PIPELINE_SOURCE == "push"'}], source):
            jobs.append((stages.index(merged.get("stage", "test")), name, merged))
    steps: list[Step] = []
    for _, name, job in sorted(jobs, key=lambda j: j[0]):
        env = {**top, **{k: str(v) for k, v in (job.get("variables") or {}).items()}, **source}
        # The before_script's install lines are provided here; what follows them runs for real.
        lines = [str(line) for line in job.get("before_script") or []]
        before = "before_script: " + "\n".join(lines[: len(_GITLAB_INSTALL)])
        if lines:
            if before not in PROVIDED:
                raise ValueError(f"{path}: {name}: its before_script is not in PROVIDED")
            steps.append(Step(name, f"{name}: before_script", "", env, PROVIDED[before]))
        script = [*lines[len(_GITLAB_INSTALL) :], *job["script"]]
        steps.append(Step(name, f"{name}: script", "\n".join(script), env))
    return steps


def run_steps(
    steps: Sequence[Step], cwd: Path, env: Mapping[str, str], timeout: float = 600
) -> list[Ran]:
    """Run each step's script with ``bash -eo pipefail`` in ``cwd``; stop after the first failure."""
    ran: list[Ran] = []
    for step in steps:
        if step.provided:
            ran.append(Ran(step, 0, f"(provided: {step.provided})"))
            continue
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.script],
            cwd=cwd,
            env={**env, **step.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=default_sigint,  # the CLI stops its plugins with SIGINT, as on a runner
        )
        ran.append(Ran(step, done.returncode, done.stdout + done.stderr))
        if done.returncode != 0:
            break
    return ran
