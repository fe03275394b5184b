"""Faults under the real engine (issue 5): every fault heals or stops clearly, and a re-run converges."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab
from harness.pulumi_cli import PulumiProject, engine_env
from harness.signals import default_sigint

pytestmark = pytest.mark.e2e


def _endpoint(lab: Lab, index: int) -> dict[str, Any]:
    return {
        "inference_id": f"bulk-{index:03d}",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": {"secret": "hfApiKey"}},
        "task_settings": {"top_n": 1 + index % 5},
    }


def state_matches_cluster(project: PulumiProject, lab: Lab, api_key: str) -> None:
    """Every endpoint in the state exists in Elasticsearch as recorded, and nothing else does."""
    recorded = project.decrypted_resources()
    assert sorted(recorded) == lab.user_endpoint_ids()
    for inference_id, outputs in recorded.items():
        live = lab.endpoint(inference_id)
        assert live is not None
        settings = dict(outputs["service_settings"])
        assert settings.pop("api_key") == api_key
        assert settings == live["service_settings"]
        assert outputs.get("task_settings") == live.get("task_settings")
        assert outputs.get("chunking_settings") == live.get("chunking_settings")
        assert lab.key_hash(inference_id) == hashlib.sha256(api_key.encode()).hexdigest()


def test_fifty_endpoints_apply_with_default_parallelism_against_a_rate_limiting_emulator(
    project: PulumiProject, lab: Lab
) -> None:
    project.env["ES_INFERENCE_RETRY_DEADLINE"] = "120"
    project.write_stack(
        {
            "elasticsearch": {"endpoints": [lab.es_url]},
            "endpoints": [_endpoint(lab, i) for i in range(50)],
        }
    )
    # Over kept-alive connections the provider is fast enough to stay under a looser limit.
    lab.rate_limit(requests_per_second=10, burst=1)

    result = project.up()

    throttled = [r for r in lab.requests() if r["status"] == 429]
    assert throttled, "the emulator never rate-limited, so this test proved nothing"
    # The limit off first: this test's own look right after the up would be throttled too.
    lab.clear_faults()
    assert len(lab.user_endpoint_ids()) == 50
    assert "Retry-After" not in result.output or "retrying" in result.output
    assert project.preview("--expect-no-changes", check=False).returncode == 0
    state_matches_cluster(project, lab, HF_KEY)


def test_a_create_whose_response_was_lost_is_adopted_in_the_same_run(
    project: PulumiProject, lab: Lab
) -> None:
    lab.fault(method="PUT", path="/_inference/text_embedding/hf-minilm", action="commit_then_drop")

    result = project.up()

    # On 9.1 an _update would reset hf-minilm's chunking (#139574), so adoption re-creates it.
    assert "'hf-minilm' already existed with the declared settings; " in result.output
    assert (
        "so it was re-created with the stack's api_key; this stack now manages it" in result.output
    )
    assert lab.user_endpoint_ids() == ["hf-minilm", "hf-rerank"]
    assert project.preview("--expect-no-changes", check=False).returncode == 0
    state_matches_cluster(project, lab, HF_KEY)


def test_a_replacement_whose_re_create_fails_says_the_endpoint_is_gone_and_the_next_up_restores_it(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    project.set_secret("hfApiKey", HF_KEY_ROTATED)
    lab.hf_fault(
        method="POST",
        path="/embed",
        action="status",
        status=401,
        times=1,
        body={"error": "Invalid credentials in Authorization header"},
    )

    failed = project.up(check=False)

    assert failed.returncode != 0
    assert (
        "PUT /_inference/text_embedding/hf-minilm failed: 400 status_exception: Could not complete "
        "inference endpoint creation as validation call to service threw an exception.; caused by "
        "status_exception: Received an authentication error status code for request from "
        "inference entity id [hf-minilm] status [401]. Error message: [Invalid credentials in "
        "Authorization header]. The replacement already deleted the previous endpoint "
        "'hf-minilm', so Elasticsearch has none now; fix the cause and run pulumi up to create it"
    ) in failed.output
    assert "Traceback" not in failed.output
    assert lab.endpoint("hf-minilm") is None
    # Pulumi records that the old endpoint is gone; the next up only creates it.
    assert '"pendingReplacement": true' in project.export()
    lab.clear_log()

    project.up()

    assert [c for c in lab.calls() if "hf-minilm" in c] == [
        "PUT /_inference/text_embedding/hf-minilm"
    ]

    assert project.preview("--expect-no-changes", check=False).returncode == 0
    state_matches_cluster(project, lab, HF_KEY_ROTATED)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (the CLI puts its plugins in their own process groups)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def test_a_destroy_killed_halfway_is_converged_by_the_next_destroy(
    project: PulumiProject, lab: Lab
) -> None:
    # scripts/pulumi sets PULUMI_SKIP_CHECKPOINTS for destroy: a killed destroy leaves the state it
    # started from, while Elasticsearch has already lost some endpoints. The next destroy must
    # take the missing ones as deleted and delete the rest.
    destroy_env = {**engine_env("destroy"), **project.env}
    assert destroy_env.get("PULUMI_SKIP_CHECKPOINTS") == "true"
    endpoints = [_endpoint(lab, i) for i in range(8)]
    project.write_stack({"elasticsearch": {"endpoints": [lab.es_url]}, "endpoints": endpoints})
    project.up()
    # Two endpoints' deletes hang (the reference check, then the delete): fewer than the four
    # calls the provider host serves at once, so the other six never queue behind them and the
    # kill lands while those two are in flight, whatever order the engine sends the deletes in.
    lab.fault(
        method="DELETE", path="/_inference/rerank/bulk-00[6-7]", action="delay", seconds=2, times=4
    )
    destroy = subprocess.Popen(
        [project.pulumi, "destroy", "--yes", "--skip-preview", "--non-interactive"],
        cwd=project.dir,
        env=destroy_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while len(lab.user_endpoint_ids()) > 2 and destroy.poll() is None:
        assert time.monotonic() < deadline, "destroy deleted nothing"
        time.sleep(0.05)
    assert destroy.poll() is None, "destroy ended before it could be killed"
    for pid in _descendants(destroy.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    destroy.wait()
    time.sleep(2.5)  # the delayed requests the killed provider sent still complete
    lab.clear_faults()
    assert len(project.decrypted_resources()) > len(lab.user_endpoint_ids()), "nothing to converge"
    project.run("cancel", "--yes")  # the killed command's lock on the stack

    project.destroy()

    assert lab.user_endpoint_ids() == []
    assert project.decrypted_resources() == {}


_FAULTS: list[dict[str, Any]] = [
    {"action": "status", "status": 429, "retry_after": "1"},
    {"action": "status", "status": 502},
    {"action": "status", "status": 503},
    {"action": "status", "status": 504},
    {"action": "drop"},
    {"action": "commit_then_drop"},
    {"action": "delay", "seconds": 3},
]
_ROUTES = [
    ("PUT", "/_inference/*"),
    ("DELETE", "/_inference/*"),
    ("GET", "/_inference/*"),
    ("GET", "/"),
]


def test_soak_random_faults_across_up_refresh_and_preview_cycles_end_with_state_equal_to_cluster(
    tmp_path: Path, lab: Lab
) -> None:
    """A bounded soak: 8 cycles (or 150 s), each a random change plus random faults, then heal."""
    seed = 20261123
    rng = random.Random(seed)
    project = PulumiProject(
        tmp_path,
        env={
            "ES_INFERENCE_RETRY_DEADLINE": "6",
            "ES_INFERENCE_TIMEOUT": "2",
            "ES_INFERENCE_RETRY_MAX_BACKOFF": "0.5",
            "ES_INFERENCE_RETRY_MAX_RETRY_AFTER": "1",
        },
    )
    key = HF_KEY
    project.set_secret("hfApiKey", key)
    endpoints = [_endpoint(lab, i) for i in range(4)]
    document = {"elasticsearch": {"endpoints": [lab.es_url]}, "endpoints": endpoints}
    project.write_stack(document)
    project.up()
    injected = converged = 0
    started = time.monotonic()
    for cycle in range(8):
        if time.monotonic() - started > 150:
            break
        change = rng.choice(["top_n", "rotate", "add", "remove", "oob_delete", "oob_edit"])
        if change == "top_n":
            target = rng.choice(endpoints)
            target["task_settings"] = {"top_n": rng.randint(1, 9)}
        elif change == "rotate":
            key = HF_KEY_ROTATED if key == HF_KEY else HF_KEY
            project.set_secret("hfApiKey", key)
        elif change == "add":
            endpoints.append(_endpoint(lab, 10 + cycle))
        elif change == "remove" and len(endpoints) > 1:
            endpoints.pop(rng.randrange(len(endpoints)))
        elif change == "oob_delete":
            lab.delete_out_of_band(rng.choice(endpoints)["inference_id"])
        elif change == "oob_edit":
            lab.patch(rng.choice(endpoints)["inference_id"], {"task_settings": {"top_n": 42}})
        project.write_stack(document)
        for _ in range(rng.randint(1, 3)):
            method, path = rng.choice(_ROUTES)
            lab.fault(method=method, path=path, times=rng.randint(1, 2), **rng.choice(_FAULTS))
            injected += 1
        project.run("up", "--yes", "--skip-preview", "--refresh", check=False)
        lab.clear_faults()
        healed = project.run("up", "--yes", "--skip-preview", "--refresh", check=False)
        assert healed.returncode == 0, f"cycle {cycle} ({change}, seed {seed}) did not converge"
        assert project.preview("--expect-no-changes", check=False).returncode == 0
        state_matches_cluster(project, lab, key)
        converged += 1
    assert converged >= 3
    print(f"soak: seed {seed}, {injected} faults injected, {converged} cycles converged")
