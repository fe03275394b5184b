"""``es-inference check`` and ``smoke`` unchanged against a real cluster (opt-in; see conftest.py).

The cluster comes from ELASTICSEARCH_ENDPOINTS and the other ELASTICSEARCH_* variables, as in a
pipeline. With the validation call switched off no Hugging Face endpoint is needed to create one,
so the smoke test's call fails there, and the test asserts that it says so, naming the endpoint.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from providers.cli import main
from tests.acceptance.conftest import CLUSTER_ENV


@pytest.fixture
def endpoint(cluster: httpx.Client) -> Iterator[str]:
    """A rerank endpoint on the cluster, under a random id; deleted afterwards."""
    inference_id = f"test-inference-{secrets.token_hex(4)}"
    body = {
        "service": "hugging_face",
        "service_settings": {"url": "https://hf.invalid/rerank", "api_key": "hf_acceptance"},
        "task_settings": {"return_documents": True, "top_n": 3},
    }
    cluster.put(f"/_inference/rerank/{inference_id}", json=body).raise_for_status()
    try:
        yield inference_id
    finally:
        cluster.delete(f"/_inference/{inference_id}", params={"force": "true"})


@pytest.fixture
def stacks(tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stacks/ folder declaring the endpoint, the cluster named only by the environment."""
    for name, value in CLUSTER_ENV.items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "stacks"
    folder.mkdir()
    declared = {
        "inference_id": endpoint,
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": "https://hf.invalid/rerank", "api_key": {"env": "HF_KEY"}},
        "task_settings": {"return_documents": True, "top_n": 3},
        "smoke_test": True,
    }
    (folder / "acc.yaml").write_text(yaml.safe_dump({"endpoints": [declared]}))
    return folder


def test_check_finds_the_endpoint_in_sync_then_reports_drift(
    stacks: Path, endpoint: str, cluster: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    in_sync = main(["check", "--stack", "acc", "--stacks-dir", str(stacks), "--verbose"])
    first = capsys.readouterr().out
    body = {"task_settings": {"top_n": 1}}
    cluster.put(f"/_inference/rerank/{endpoint}/_update", json=body).raise_for_status()
    drifted = main(["check", "--stack", "acc", "--stacks-dir", str(stacks)])
    second = capsys.readouterr().out

    assert in_sync in (0, 4), first  # other endpoints on a shared cluster are undeclared here
    assert f"in sync    {endpoint}: in sync with" in first
    assert drifted == 3
    assert f"{endpoint}: differs from {stacks}/acc.yaml: task_settings.top_n" in second


def test_smoke_calls_the_endpoint_for_real_and_names_it_when_it_cannot_serve(
    stacks: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["smoke", "--stack-file", str(stacks / "acc.yaml")])

    assert status == 3
    assert capsys.readouterr().out.startswith(
        f"FAILED {endpoint} (rerank): POST /_inference/rerank/{endpoint} failed:"
    )
