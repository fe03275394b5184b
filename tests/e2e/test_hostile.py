"""Issue 14 under the real engine: hostile stack files, outages, two stacks on one cluster.

Each test is a user's action that used to go wrong, run through the real Pulumi CLI against the
loopback emulator; the conftest checks that no api key was printed or stored in plaintext.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, serve
from emulators.lab import HF_KEY_ROTATED, Lab
from harness.pulumi_cli import PulumiProject
from harness.signals import default_sigint
from tests.e2e.conftest import stack_document

pytestmark = pytest.mark.e2e


def _billion_laughs(lab: Lab) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    anchors = "\n  ".join(lines)
    return f"elasticsearch:\n  endpoints: [{lab.es_url}]\nx:\n  {anchors}\nendpoints: *a9\n"


def test_preview_of_a_billion_laughs_stack_file_fails_at_once_with_a_clear_error(
    project: PulumiProject, lab: Lab
) -> None:
    project.write_stack(_billion_laughs(lab))

    result, peak_kb = project.run_with_peak_memory("preview")

    assert result.returncode != 0
    assert "stacks/e2e.yaml is invalid (1 error):" in result.output
    assert (
        "stacks/e2e.yaml: line 10, column 17: holds more than 500000 values once its aliases are "
        "expanded (an alias bomb?); use fewer aliases, or split the file"
    ) in result.output
    assert "Traceback" not in result.output
    assert lab.requests() == []
    # The largest process the preview started (the CLI, its language host, the program) stayed
    # small; only the preview's own processes are measured, not every earlier child of the run.
    assert peak_kb < 1024 * 1024, f"a process of the preview reached {peak_kb} KB"


# --- row 4: rotated Elasticsearch credentials, for refresh and destroy --------------------------

KEY_OLD = "es_lab_OLD_k3y_5e6f"
KEY_NEW = "es_lab_NEW_k3y_7a8b"


class RotatingCluster:
    """An emulator that keeps its endpoints on disk, restarted on the same port with a new key."""

    def __init__(self, data_dir: Path, hf_url: str, api_key: str | None) -> None:
        self.data_dir, self.hf_url = data_dir, hf_url
        self.server = serve(ElasticsearchEmulator(api_key=api_key, data_dir=data_dir))
        self.url, self.port = self.server.url, self.server.port

    def rotate(self, api_key: str | None) -> None:
        """Revoke the old key: the cluster now accepts only ``api_key``."""
        self.server.close()
        self.restart(api_key)

    def restart(self, api_key: str | None = None) -> None:
        """Start the cluster again on its port, with what it stored."""
        app = ElasticsearchEmulator(api_key=api_key, data_dir=self.data_dir)
        self.server = serve(app, port=self.port)

    def user_endpoints(self, api_key: str) -> list[str]:
        listed = httpx.get(
            f"{self.url}/_inference/_all", headers={"Authorization": f"ApiKey {api_key}"}
        )
        listed.raise_for_status()
        return sorted(
            e["inference_id"] for e in listed.json()["endpoints"] if e["inference_id"][0] != "."
        )


@pytest.fixture
def rotating(tmp_path: Path, lab: Lab) -> Iterator[RotatingCluster]:
    cluster = RotatingCluster(tmp_path / "es-data", lab.hf_url, KEY_OLD)
    yield cluster
    cluster.server.close()


def _up_then_rotate_the_key(project: PulumiProject, lab: Lab, cluster: RotatingCluster) -> None:
    """Up with KEY_OLD in Pulumi config, then rotate the cluster and the config to KEY_NEW."""
    document = stack_document(lab)
    document["elasticsearch"]["endpoints"] = [cluster.url]
    project.write_stack(document)
    project.set_secret("es-inference:apiKey", KEY_OLD)
    project.up()
    cluster.rotate(KEY_NEW)
    project.set_secret("es-inference:apiKey", KEY_NEW)


def test_a_key_rotated_in_pulumi_config_is_used_by_refresh_and_destroy_with_run_program(
    project: PulumiProject, lab: Lab, rotating: RotatingCluster
) -> None:
    _up_then_rotate_the_key(project, lab, rotating)

    stale = project.refresh(check=False)
    refreshed = project.refresh("--run-program", check=False)
    destroyed = project.run("destroy", "--yes", "--skip-preview", "--run-program", check=False)

    # The engine configures refresh and destroy with the config recorded at the last up; the
    # error says so, and how to use the current one.
    assert stale.returncode != 0
    assert (
        "Elasticsearch refused the credentials from Pulumi config es-inference:apiKey (401). "
        "pulumi refresh and pulumi destroy give the provider the Pulumi config recorded at the "
        "last pulumi up: after rotating a credential held in Pulumi config, run them with "
        "--run-program (or run pulumi up first); credentials from the environment are read at "
        "each call"
    ) in stale.output
    assert refreshed.returncode == 0, refreshed.output
    assert destroyed.returncode == 0, destroyed.output
    assert rotating.user_endpoints(KEY_NEW) == []
    assert KEY_OLD not in project.all_output() and KEY_NEW not in project.all_output()


def test_a_key_rotated_in_pulumi_config_is_used_by_preview_and_up_with_refresh(
    project: PulumiProject, lab: Lab, rotating: RotatingCluster
) -> None:
    # scripts/pulumi runs preview and up with PULUMI_RUN_PROGRAM: their refresh reads each
    # endpoint as the program declares it, so with the provider config of this run.
    _up_then_rotate_the_key(project, lab, rotating)

    previewed = project.preview("--refresh", "--expect-no-changes", check=False)
    updated = project.run("up", "--yes", "--skip-preview", "--refresh", check=False)

    assert previewed.returncode == 0, previewed.output
    assert updated.returncode == 0, updated.output
    assert rotating.user_endpoints(KEY_NEW) == sorted(
        e["inference_id"] for e in stack_document(lab)["endpoints"]
    )
    assert KEY_OLD not in project.all_output() and KEY_NEW not in project.all_output()


# --- rows 2 and 7: two stacks on one cluster, and what an interrupted run leaves -----------------


def _second_stack(tmp_path: Path, lab: Lab, name: str = "prod") -> PulumiProject:
    other = PulumiProject(
        tmp_path / name,
        stack=name,
        env={"ES_INFERENCE_RETRY_DEADLINE": "5", "ES_INFERENCE_TIMEOUT": "10"},
    )
    other.write_stack(stack_document(lab))
    other.set_secret("hfApiKey", HF_KEY_ROTATED)
    return other


def _refusal(inference_id: str, task_type: str, stack_file: str) -> str:
    return (
        f"PUT /_inference/{task_type}/{inference_id} failed: 400 "
        f"resource_already_exists_exception: Inference endpoint [{inference_id}] already exists. "
        f"This stack did not create {inference_id!r} (another stack, a person or tool, or an "
        "interrupted run of this stack may have), and it never takes over, re-keys or deletes an "
        "endpoint it did not create; nothing was changed. To manage it from this stack, set "
        f"`adopt: true` on {inference_id} in {stack_file}"
    )


def test_a_second_stack_on_the_same_cluster_takes_over_only_where_it_says_adopt(
    project: PulumiProject, lab: Lab, tmp_path: Path
) -> None:
    project.up()
    key_of_dev = lab.key_hash("hf-rerank")
    prod = _second_stack(tmp_path, lab)
    document = stack_document(lab)
    document["endpoints"][0]["adopt"] = True  # hf-minilm only
    prod.write_stack(document)

    result = prod.up(check=False)
    in_prod = sorted(prod.decrypted_resources())
    destroyed = prod.destroy(check=False)

    assert result.returncode != 0
    assert _refusal("hf-rerank", "rerank", "stacks/prod.yaml") in result.output
    assert "Traceback" not in result.output
    assert "'hf-minilm' already existed with the declared settings and says adopt: true" in (
        result.output
    )
    assert in_prod == ["hf-minilm"]
    # The refused endpoint keeps the first stack's key, and the second stack's destroy deletes
    # only what it adopted.
    assert destroyed.returncode == 0
    assert lab.user_endpoint_ids() == ["hf-rerank"]
    assert lab.key_hash("hf-rerank") == key_of_dev, "the second stack re-keyed the first's endpoint"
    assert HF_KEY_ROTATED not in prod.all_output()


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def _provider_pids(cli_pid: int) -> list[int]:
    pids = []
    for pid in _descendants(cli_pid):
        try:
            if b"pulumi.dynamic" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _up_in_background(project: PulumiProject) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [project.pulumi, "up", "--yes", "--skip-preview", "--non-interactive"],
        cwd=project.dir,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=default_sigint,
    )


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_an_endpoint_left_by_a_killed_provider_is_reported_by_the_next_up_and_adopted_on_request(
    project: PulumiProject, lab: Lab
) -> None:
    lab.fault(method="PUT", path="/_inference/text_embedding/hf-minilm", action="delay", seconds=4)
    running = _up_in_background(project)
    _wait_for(
        lambda: any(r["path"].endswith("/hf-minilm") for r in lab.requests()), "the PUT to start"
    )
    (provider,) = _provider_pids(running.pid)
    os.kill(provider, signal.SIGKILL)
    running.communicate(timeout=120)
    _wait_for(lambda: lab.endpoint("hf-minilm") is not None, "the delayed PUT to land")
    assert running.returncode != 0
    assert "hf-minilm" not in project.decrypted_resources()

    reported = project.up(check=False)
    document = stack_document(lab)
    project.write_stack({**document, "endpoints": document["endpoints"][1:]})
    checked = subprocess.run(
        [str(Path(sys.executable).with_name("es-inference")), "check"],
        cwd=project.dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for entry in document["endpoints"]:
        entry["adopt"] = True  # whatever the killed run left
    project.write_stack(document)
    adopted = project.up()
    project.destroy()

    assert _refusal("hf-minilm", "text_embedding", "stacks/e2e.yaml") in reported.output
    # Once no stack file declares it, the orphan check names it.
    assert "hf-minilm (hugging_face text_embedding): no stack file declares it" in (
        checked.stdout + checked.stderr
    )
    assert "'hf-minilm' already existed with the declared settings" in adopted.output
    assert lab.user_endpoint_ids() == [], "an endpoint of this stack was left behind"


# --- the engine's item: a provider outliving a killed CLI ---------------------------------------


def test_the_provider_process_exits_soon_after_the_cli_is_killed(
    project: PulumiProject, lab: Lab
) -> None:
    lab.fault(method="PUT", path="/_inference/text_embedding/hf-minilm", action="delay", seconds=30)
    running = _up_in_background(project)
    _wait_for(
        lambda: any(r["path"].endswith("/hf-minilm") for r in lab.requests()), "the PUT to start"
    )
    (provider,) = _provider_pids(running.pid)

    running.kill()
    running.communicate(timeout=60)

    # The watch polls twice a second; the bound is generous for a loaded machine.
    _wait_for(lambda: not _alive(provider), "the orphaned provider to exit", seconds=20)


# --- row 3: an outage costs one retry deadline per run ------------------------------------------

OUTAGE_ENDPOINTS = 20
DEADLINE = 2.0
BACKOFF = 0.25
# Attempts one retry loop can make: one per backoff within the deadline, plus the first.
ONE_LOOP = int(DEADLINE / BACKOFF) + 1


def _loops(output: str) -> int:
    return output.count(f"retrying in {BACKOFF:.1f} s (attempt 2)") // 2


def _many(lab: Lab) -> dict[str, Any]:
    return {
        "elasticsearch": {"endpoints": [lab.es_url]},
        "endpoints": [
            {
                "inference_id": f"outage-{i:02d}",
                "task_type": "rerank",
                "service": "hugging_face",
                "service_settings": {
                    "url": f"{lab.hf_url}/rerank",
                    "api_key": {"secret": "hfApiKey"},
                },
            }
            for i in range(OUTAGE_ENDPOINTS)
        ],
    }


def test_an_outage_costs_one_retry_deadline_per_run_not_one_per_endpoint(
    project: PulumiProject, lab: Lab, tmp_path: Path
) -> None:
    cluster = RotatingCluster(tmp_path / "es-data", lab.hf_url, None)
    document = _many(lab)
    document["elasticsearch"]["endpoints"] = [cluster.url]
    project.write_stack(document)
    project.up()
    project.env.update(
        {
            "ES_INFERENCE_RETRY_DEADLINE": str(DEADLINE),
            "ES_INFERENCE_RETRY_INITIAL_BACKOFF": str(BACKOFF),
            "ES_INFERENCE_RETRY_MAX_BACKOFF": str(BACKOFF),
        }
    )
    cluster.server.close()  # the outage: nothing listens on the cluster's port any more

    refreshed = project.refresh(check=False)
    destroyed = project.destroy(check=False)

    assert refreshed.returncode != 0 and destroyed.returncode != 0
    # Each retry loop prints one "(attempt 2)" line, twice (progress and diagnostics). Refresh
    # shares one list call (serialized): one loop. Destroy runs four deletes at once, so at most
    # four loops start before the first gives up. Before the breaker: twenty loops each.
    assert _loops(refreshed.output) == 1, refreshed.output
    assert 1 <= _loops(destroyed.output) <= 4, destroyed.output
    for result in (refreshed, destroyed):
        assert "not sent: an earlier request of this run got no response from" in result.output
        assert "Traceback" not in result.output
    cluster.restart()
    assert project.preview("--expect-no-changes", check=False).returncode == 0
    cluster.server.close()
