"""The main changes under the real Pulumi CLI on a version with the chunking reset (9.1.0) and on
one whose ``_update`` takes everything (9.5.0): each step previews the version's plan, applies it,
ends with the state equal to the cluster, and ``preview --expect-no-changes`` passes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab, lab_servers
from harness.pulumi_cli import PulumiProject
from tests.e2e.test_faults import state_matches_cluster

pytestmark = pytest.mark.e2e

SENTENCE_200 = {"strategy": "sentence", "max_chunk_size": 200, "sentence_overlap": 1}
WORD_100 = {"strategy": "word", "max_chunk_size": 100, "overlap": 20}


def document(lab: Lab, *, rpm: int = 3000, chunking: dict[str, Any], top_n: int, path: str) -> Any:
    key = {"secret": "hfApiKey"}
    return {
        "elasticsearch": {"endpoints": [lab.es_url]},
        "endpoints": [
            {
                "inference_id": "hf-minilm",
                "task_type": "text_embedding",
                "service": "hugging_face",
                "secret_rotation": "update",
                "service_settings": {
                    "url": f"{lab.hf_url}/embed",
                    "api_key": key,
                    "rate_limit": {"requests_per_minute": rpm},
                },
                "chunking_settings": chunking,
            },
            {
                "inference_id": "hf-rerank",
                "task_type": "rerank",
                "service": "hugging_face",
                "service_settings": {"url": f"{lab.hf_url}{path}", "api_key": key},
                "task_settings": {"return_documents": True, "top_n": top_n},
            },
        ],
    }


@pytest.fixture(params=["9.1.0", "9.5.0"], ids=lambda v: f"Elasticsearch {v}")
def versioned(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Lab, Any]]:
    with lab_servers(es_version=request.param) as lab:
        project = PulumiProject(
            tmp_path, env={"ES_INFERENCE_RETRY_DEADLINE": "5", "ES_INFERENCE_TIMEOUT": "10"}
        )
        project.set_secret("hfApiKey", HF_KEY)
        yield request.param, lab, project
        everything = project.all_output()
        assert HF_KEY not in everything and HF_KEY_ROTATED not in everything


def ops(steps: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: step["op"] for name, step in steps.items()}


def test_the_main_changes_end_with_state_equal_to_the_cluster(
    versioned: tuple[str, Lab, PulumiProject],
) -> None:
    version, lab, project = versioned
    in_place = version == "9.5.0"
    project.write_stack(document(lab, chunking=SENTENCE_200, top_n=3, path="/rerank"))
    project.up()
    state_matches_cluster(project, lab, HF_KEY)

    # A task_settings change (in place everywhere), a rate_limit and a chunking change (in place
    # from 9.5: elastic/elasticsearch#147143, #149723).
    project.write_stack(document(lab, rpm=600, chunking=WORD_100, top_n=5, path="/rerank"))
    steps = project.preview_steps()
    assert ops(steps) == {"hf-minilm": "update" if in_place else "replace", "hf-rerank": "update"}
    project.up()
    state_matches_cluster(project, lab, HF_KEY)
    assert project.preview("--expect-no-changes", check=False).returncode == 0

    # A key rotation in both modes, and a url change.
    project.set_secret("hfApiKey", HF_KEY_ROTATED)
    project.write_stack(document(lab, rpm=600, chunking=WORD_100, top_n=5, path="/rerank?v=2"))
    preview = project.preview()
    steps = project.preview_steps()
    assert ops(steps) == {"hf-minilm": "update" if in_place else "replace", "hf-rerank": "replace"}
    if not in_place:
        assert (
            "es-inference: hf-minilm: replace (delete, then re-create with the same id) because "
            "chunking_settings (Elasticsearch 9.1.0 resets chunking_settings to word/250/100 on "
            "every _update (elastic/elasticsearch#139574), so the in-place change of "
            "service_settings.api_key re-creates the endpoint)"
        ) in preview.output
    project.up()
    state_matches_cluster(project, lab, HF_KEY_ROTATED)
    assert project.preview("--expect-no-changes", check=False).returncode == 0
