"""The pipeline recipes in examples/pipelines/, run step by step as their CI would run them.

Each test reads a recipe file, picks the jobs that run on an event (a change request, a merge to the
default branch, a schedule) and runs their steps in order in a fresh checkout, with the real Pulumi
CLI, the state in a real S3-compatible store on loopback (moto's server) behind Pulumi's DIY
backend and its lock, the emulator as the cluster, and the CI's secret store as the environment.
The comment a change request posts goes to a loopback stand-in for the GitHub or GitLab API.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from werkzeug.wrappers import Request, Response

from emulators import serve
from emulators.lab import HF_KEY, Lab
from harness.pulumi_cli import REPO, engine_env, pulumi_bin_dir
from tests.support.ci_recipes import Ran, Step, github_steps, gitlab_steps, run_steps
from tests.support.object_store import ACCESS_KEY, REGION, SECRET_KEY, ObjectStore, object_store

pytestmark = pytest.mark.e2e

RECIPES = REPO / "examples" / "pipelines"
KINDS = ["github", "gitlab"]
PASSPHRASE = "recipe-passphrase"
PR = 7


class ApiStandIn:
    """Records what a pipeline posts to the GitHub or GitLab API; answers 201."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.posts.append(
                {
                    "path": request.path,
                    "authorization": request.headers.get("Authorization")
                    or request.headers.get("PRIVATE-TOKEN"),
                    "content_type": request.mimetype,
                    "body": request.get_data(as_text=True),
                }
            )
        return Response(json.dumps({"id": len(self.posts)}), 201, mimetype="application/json")(
            environ, start_response
        )

    def comment_bodies(self) -> list[str]:
        """The text of each comment or note posted."""
        out = []
        for post in self.posts:
            if post["content_type"] == "application/json":
                out.append(json.loads(post["body"])["body"])
            else:
                out.extend(parse_qs(post["body"])["body"])
        return out


def _stack(lab: Lab) -> dict[str, Any]:
    # No elasticsearch: block; the cluster and its key come from the CI's secret store.
    return {
        "endpoints": [
            {
                "inference_id": "hf-minilm",
                "task_type": "text_embedding",
                "service": "hugging_face",
                "service_settings": {
                    "url": f"{lab.hf_url}/embed",
                    "api_key": {"env": "HF_API_KEY"},
                },
            },
            {
                "inference_id": "hf-rerank",
                "task_type": "rerank",
                "service": "hugging_face",
                "service_settings": {
                    "url": f"{lab.hf_url}/rerank",
                    "api_key": {"env": "HF_API_KEY"},
                },
                "task_settings": {"return_documents": True, "top_n": 2},
            },
        ]
    }


_MACHINE_ENGINE_SETTINGS = (
    "PULUMI_PYTHON_CMD",
    "ES_INFERENCE_PYTHON",
    "PYTHONDONTWRITEBYTECODE",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
)


class Pipelines:
    """Runs a recipe's jobs for an event in a fresh checkout of the project."""

    def __init__(self, tmp_path: Path, lab: Lab, store: ObjectStore, api_url: str) -> None:
        self.tmp_path = tmp_path
        self.lab = lab
        self.store = store
        self.api_url = api_url
        self.stack = _stack(lab)
        self.runs = 0
        self.secrets = {
            "PULUMI_BACKEND_URL": store.backend_url,
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "STATE_ACCESS_KEY_ID": ACCESS_KEY,
            "STATE_SECRET_ACCESS_KEY": SECRET_KEY,
            "ELASTICSEARCH_ENDPOINTS": lab.es_url,
            "ELASTICSEARCH_API_KEY": "es-key-from-the-secret-store",
            "HF_API_KEY": HF_KEY,
            "GITHUB_TOKEN": "ghs_token_from_the_runner",
        }

    def checkout(self) -> Path:
        """A fresh copy of the project, as a CI checkout of the repository would be."""
        self.runs += 1
        work = self.tmp_path / f"checkout-{self.runs}"
        (work / "stacks").mkdir(parents=True)
        shutil.copy(REPO / "__main__.py", work / "__main__.py")
        project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
        project["runtime"]["options"]["virtualenv"] = sys.prefix
        (work / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        (work / "stacks" / "prod.yaml").write_text(yaml.safe_dump(self.stack, sort_keys=False))
        return work

    def machine(self, work: Path) -> dict[str, str]:
        """What the CI machine sets up before the recipe's commands (see ci_recipes.PROVIDED)."""
        bin_dirs = [str(pulumi_bin_dir()), str(Path(sys.executable).parent)]
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GITHUB_"))},
            "PATH": os.pathsep.join([*bin_dirs, os.environ.get("PATH", "")]),
            # Of scripts/pulumi's engine settings, only what its CLI build needs (its language
            # host) and this machine (no plugin downloads); the rest come from the recipe.
            **{k: v for k, v in engine_env().items() if k in _MACHINE_ENGINE_SETTINGS},
            "PULUMI_HOME": str(work / ".pulumi-home"),
            "ES_INFERENCE_RETRY_DEADLINE": "5",
        }

    def backend(self, url: str | None = None) -> dict[str, str]:
        """The state backend's settings, as the recipes map them from the secrets."""
        return {
            "PULUMI_BACKEND_URL": url or self.store.backend_url,
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        }

    def state_endpoints(self) -> list[str]:
        """The endpoints the stack's state records, read from the bucket by ``pulumi stack export``."""
        work = self.checkout()
        export = Step("state", "export", "pulumi stack export --stack prod --file state.json")
        (ran,) = run_steps([export], work, {**self.machine(work), **self.backend()})
        assert ran.returncode == 0, ran.output
        deployment = json.loads((work / "state.json").read_text())["deployment"]
        return sorted(
            r["id"] for r in deployment.get("resources", []) if "InferenceEndpoint" in r["type"]
        )

    def steps(self, kind: str, event: str, work: Path) -> tuple[list[Step], dict[str, str]]:
        """The recipe's steps for ``event`` and the environment the CI gives them."""
        env = self.machine(work)
        if kind == "github":
            context = {
                "secrets": self.secrets,
                "vars": {"STATE_REGION": REGION},
                "github": {"event": {"pull_request": {"number": PR}}},
            }
            (work / ".github-files").mkdir()
            env.update(
                GITHUB_API_URL=self.api_url,
                GITHUB_REPOSITORY="search-team/endpoints",
                GITHUB_STEP_SUMMARY=str(work / ".github-files" / "step-summary.md"),
                GITHUB_PATH=str(work / ".github-files" / "path"),
            )
            return github_steps(RECIPES / "github-actions.yml", event, context), env
        variables = {
            **{k: v for k, v in self.secrets.items() if not k.startswith(("STATE_", "GITHUB_"))},
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "GITLAB_API_TOKEN": "glpat-from-the-variables",
            "CI_API_V4_URL": f"{self.api_url}/api/v4",
            "CI_PROJECT_ID": "42",
            "CI_MERGE_REQUEST_IID": str(PR),
            "CI_COMMIT_BRANCH": "main",
            "CI_DEFAULT_BRANCH": "main",
        }
        return gitlab_steps(RECIPES / "gitlab-ci.yml", event, variables), env

    def run(self, kind: str, event: str) -> list[Ran]:
        """Run the pipeline for ``event`` in a fresh checkout; stops at the first failing step."""
        work = self.checkout()
        steps, env = self.steps(kind, event, work)
        return run_steps(steps, work, env)


@pytest.fixture
def store() -> Iterator[ObjectStore]:
    """An empty bucket in a real S3-compatible store on loopback."""
    with object_store() as running:
        yield running


@pytest.fixture
def api() -> Iterator[tuple[ApiStandIn, str]]:
    """A loopback stand-in for the code host's API."""
    app = ApiStandIn()
    with serve(app) as server:
        yield app, server.url


@pytest.fixture
def pipelines(
    tmp_path: Path, lab: Lab, store: ObjectStore, api: tuple[ApiStandIn, str]
) -> Pipelines:
    """Pipelines of one repository sharing one state bucket and one cluster."""
    return Pipelines(tmp_path, lab, store, api[1])


def _passed(ran: list[Ran]) -> None:
    failed = [r for r in ran if r.returncode != 0]
    assert not failed, f"{failed[0].step.name} failed ({failed[0].returncode}):\n{failed[0].output}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_request_validates_previews_and_posts_the_summary_without_touching_the_cluster(
    kind: str, pipelines: Pipelines, lab: Lab, store: ObjectStore, api: tuple[ApiStandIn, str]
) -> None:
    ran = pipelines.run(kind, "change_request")

    _passed(ran)
    (body,) = api[0].comment_bodies()
    assert body.startswith("### es-inference: stack `prod`: changes, nothing blocks them\n")
    assert "| `hf-minilm` | **create** |" in body
    assert "| `hf-rerank` | **create** |" in body
    (post,) = api[0].posts
    if kind == "github":
        assert post["path"] == f"/repos/search-team/endpoints/issues/{PR}/comments"
        assert post["authorization"] == "Bearer ghs_token_from_the_runner"
    else:
        assert post["path"] == f"/api/v4/projects/42/merge_requests/{PR}/notes"
        assert post["authorization"] == "glpat-from-the-variables"
    assert lab.mutations() == []
    assert store.list_keys(".pulumi/locks/") == []
    # The recipes write the state zstd-compressed (PULUMI_DIY_BACKEND_ZSTD).
    assert ".pulumi/stacks/es-inference/prod.json.zst" in store.list_keys()
    # and turn off Pulumi's automatic log: its directory is a link to /dev/null, no log written.
    logs = pipelines.tmp_path / f"checkout-{pipelines.runs}" / ".pulumi-home" / "logs"
    assert logs.is_symlink() and os.readlink(logs) == os.devnull


@pytest.mark.parametrize("kind", KINDS)
def test_the_scheduled_check_fails_when_declared_endpoints_are_missing(
    kind: str, pipelines: Pipelines
) -> None:
    ran = pipelines.run(kind, "schedule")

    last = ran[-1]
    assert last.returncode == 3, last.output
    assert (
        "missing    hf-minilm: declared in stacks/prod.yaml but not on the cluster" in last.output
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_merge_applies_the_stack_then_smoke_tests_what_changed(
    kind: str, pipelines: Pipelines, lab: Lab, store: ObjectStore
) -> None:
    first = pipelines.run(kind, "merge")
    again = pipelines.run(kind, "merge")

    _passed(first)
    assert "ok     hf-minilm (text_embedding): 384 dimensions" in first[-1].output
    assert "ok     hf-rerank (rerank)" in first[-1].output
    assert lab.user_endpoint_ids() == ["hf-minilm", "hf-rerank"]
    assert pipelines.state_endpoints() == ["hf-minilm", "hf-rerank"]
    assert store.list_keys(".pulumi/locks/") == []
    _passed(again)
    assert "no endpoint to test" in again[-1].output


@pytest.mark.parametrize("kind", KINDS)
def test_the_scheduled_check_passes_after_a_merge_and_fails_on_drift_naming_the_field(
    kind: str, pipelines: Pipelines, lab: Lab
) -> None:
    _passed(pipelines.run(kind, "merge"))
    in_sync = pipelines.run(kind, "schedule")
    lab.patch("hf-rerank", {"task_settings": {"top_n": 9}})
    drifted = pipelines.run(kind, "schedule")

    _passed(in_sync)
    assert "2 endpoints in sync" in in_sync[-1].output
    assert drifted[-1].returncode == 3
    assert "hf-rerank: differs from stacks/prod.yaml: task_settings.top_n" in drifted[-1].output


def test_a_change_request_that_would_delete_a_used_endpoint_posts_why_and_fails(
    pipelines: Pipelines, lab: Lab, api: tuple[ApiStandIn, str]
) -> None:
    _passed(pipelines.run("github", "merge"))
    lab.put_pipeline("ingest-docs", "hf-minilm")
    pipelines.stack["endpoints"] = pipelines.stack["endpoints"][1:]

    ran = pipelines.run("github", "change_request")

    assert (ran[-1].step.name, ran[-1].returncode) == ("Fail unless it can be applied", 1)
    (body,) = api[0].comment_bodies()
    assert body.startswith("### es-inference: stack `prod`: blocked")
    assert "| `hf-minilm` | **delete** |" in body
    assert "ingest pipelines ingest-docs (set `force: true` to go ahead)" in body
    assert lab.user_endpoint_ids() == ["hf-minilm", "hf-rerank"]


def test_two_deploys_racing_on_one_stack_the_lock_holds_the_loser_fails_clearly_nothing_is_lost(
    pipelines: Pipelines, lab: Lab, store: ObjectStore
) -> None:
    # The first deploy's creates take seconds, so the second starts while it holds the lock.
    lab.fault(method="PUT", path="/_inference/*", action="delay", seconds=3, times=2)
    results: dict[str, list[Ran]] = {}
    winner = threading.Thread(target=lambda: results.update(first=pipelines.run("github", "merge")))
    winner.start()
    for _ in range(600):
        if store.list_keys(".pulumi/locks/") or not winner.is_alive():
            break
        threading.Event().wait(0.05)
    assert store.list_keys(".pulumi/locks/"), "the first deploy never took the lock"
    loser = pipelines.run("github", "merge")
    winner.join(timeout=300)

    _passed(results["first"])
    assert (loser[-1].step.name, loser[-1].returncode) == ("Apply", 1)
    assert (
        "error: the stack is currently locked by 1 lock(s). Either wait for the other "
        "process(es) to end or delete the lock file with `pulumi cancel`."
    ) in loser[-1].output
    assert store.list_keys(".pulumi/locks/") == []
    assert lab.user_endpoint_ids() == ["hf-minilm", "hf-rerank"]
    assert pipelines.state_endpoints() == ["hf-minilm", "hf-rerank"]
    retried = pipelines.run("github", "merge")
    _passed(retried)
    assert "no endpoint to test" in retried[-1].output


def test_the_v1_style_backend_url_still_reaches_the_bucket(
    tmp_path: Path, store: ObjectStore, pipelines: Pipelines
) -> None:
    # Pulumi 3.259 rewrites disableSSL and a scheme-less endpoint (translateLegacyS3Params).
    host = store.endpoint.removeprefix("http://")
    legacy = f"s3://{store.bucket}?endpoint={host}&disableSSL=true&s3ForcePathStyle=true"
    work = pipelines.checkout()
    env = {**pipelines.machine(work), **pipelines.backend(legacy)}
    step = Step("legacy", "init", "pulumi stack init legacy --non-interactive")

    (ran,) = run_steps([step], work, env)

    assert ran.returncode == 0, ran.output
    assert ".pulumi/stacks/es-inference/legacy.json" in store.list_keys()


@pytest.mark.parametrize(
    ("recipe", "section"), [("github-actions.yml", "env"), ("gitlab-ci.yml", "variables")]
)
def test_each_recipe_sets_the_engine_settings_of_scripts_pulumi(recipe: str, section: str) -> None:
    # The recipes run a stock CLI, not scripts/pulumi: what the machine does not provide here,
    # they must set themselves, with the same values, or users' pipelines are slower than measured.
    wanted = {k: v for k, v in engine_env().items() if k not in _MACHINE_ENGINE_SETTINGS}
    declared = yaml.safe_load((RECIPES / recipe).read_text())[section]

    assert wanted
    assert {k: str(declared.get(k)) for k in wanted} == wanted
