"""State written by an earlier release still refreshes, updates and destroys, with no diff.

``tests/fixtures/release_state`` is what ``pulumi up`` recorded with the release before the
provider split (see its README). Every resource's ``__provider`` pickles
``providers.inference_endpoint.InferenceEndpointProvider`` by reference, so that import path and
what the class unpickles from must keep working.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.lab import HF_KEY, Lab
from harness.pulumi_cli import PulumiProject

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release_state"


def _filled(text: str, lab: Lab) -> str:
    return (
        text.replace("{es_url}", lab.es_url)
        .replace("{hf_url}", lab.hf_url)
        .replace("{hf_key}", HF_KEY)
    )


def _put_as_the_release_did(lab: Lab, declared: dict[str, Any]) -> None:
    for endpoint in declared["endpoints"]:
        body = {
            "service": endpoint["service"],
            "service_settings": {**endpoint["service_settings"], "api_key": HF_KEY},
        }
        for optional in ("task_settings", "chunking_settings"):
            if optional in endpoint:
                body[optional] = endpoint[optional]
        path = f"/_inference/{endpoint['task_type']}/{endpoint['inference_id']}"
        lab.es.put(path, json=body).raise_for_status()


@pytest.fixture
def imported(tmp_path: Path, lab: Lab) -> PulumiProject:
    """A stack holding the release's state, over a cluster holding what that release created."""
    project = PulumiProject(
        tmp_path,
        env={
            "ELASTICSEARCH_ENDPOINTS": lab.es_url,
            "ES_INFERENCE_RETRY_DEADLINE": "5",
            "ES_INFERENCE_TIMEOUT": "10",
        },
    )
    (project.dir / "Pulumi.e2e.yaml").write_text((FIXTURE / "Pulumi.e2e.yaml").read_text())
    declared = yaml.safe_load(_filled((FIXTURE / "stack.yaml").read_text(), lab))
    project.write_stack(declared)
    _put_as_the_release_did(lab, declared)
    state = tmp_path / "release.json"
    state.write_text(_filled((FIXTURE / "deployment.json").read_text(), lab))
    project.run("stack", "import", "--file", str(state))
    lab.clear_log()
    return project


def _providers(project: PulumiProject) -> set[str]:
    deployment = json.loads(project.export())["deployment"]
    return {
        r["outputs"]["__provider"]
        for r in deployment["resources"]
        if "InferenceEndpoint" in r["type"]
    }


def test_the_release_state_refreshes_and_previews_with_no_changes(
    imported: PulumiProject, lab: Lab
) -> None:
    before = _providers(imported)

    refreshed = imported.refresh("--expect-no-changes", check=False)
    previewed = imported.preview("--expect-no-changes", check=False)

    assert refreshed.returncode == 0, refreshed.output
    assert previewed.returncode == 0, previewed.output
    assert _providers(imported) == before
    assert [r["method"] for r in lab.mutations()] == []


def test_the_release_state_updates_in_place_then_destroys(
    imported: PulumiProject, lab: Lab
) -> None:
    declared = yaml.safe_load(imported.stack_file.read_text())
    declared["endpoints"][1]["task_settings"]["top_n"] = 5
    imported.write_stack(declared)

    imported.up()

    assert lab.calls() == ["GET /", "PUT /_inference/rerank/hf-rerank/_update"]
    assert (lab.endpoint("hf-rerank") or {}).get("task_settings") == {
        "return_documents": True,
        "top_n": 5,
    }
    assert imported.preview("--expect-no-changes", check=False).returncode == 0
    imported.destroy()
    assert lab.user_endpoint_ids() == []
