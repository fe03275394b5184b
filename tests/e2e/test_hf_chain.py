"""The Hugging Face endpoint chained into Elasticsearch under the real Pulumi CLI (issue 12).

The seed tutorial's path, declared: a sentence-embeddings model on a CPU instance, its URL fed
into a text_embedding endpoint. No test token may appear in any output or state file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.huggingface.endpoints_api import Timing
from emulators.lab import HF_KEY, HF_NAMESPACE, Lab, lab_servers
from harness.pulumi_cli import PulumiProject, Result
from providers.cli import main

pytestmark = pytest.mark.e2e

FAST = Timing(pending=0.05, initializing=0.2, updating=0.05, cold_start=0.05)


def chained(lab: Lab, **hf: Any) -> dict[str, Any]:
    endpoint = {
        "name": "minilm",
        "namespace": HF_NAMESPACE,
        "repository": "sentence-transformers/all-MiniLM-L6-v2",
        "task": "sentence-embeddings",
        "accelerator": "cpu",
        "vendor": "aws",
        "region": "us-east-1",
        "instance_type": "intel-spr",
        "instance_size": "x2",
        "type": "private",
        "token": {"secret": "hfToken"},
        **hf,
    }
    return {
        "elasticsearch": {"endpoints": [lab.es_url]},
        "huggingface": {
            "api_url": lab.endpoints_api,
            "hub_url": lab.endpoints_url,
            "poll_interval": 0.05,
        },
        "huggingface_endpoints": [endpoint],
        "endpoints": [
            {
                "inference_id": "es-minilm",
                "task_type": "text_embedding",
                "service": "hugging_face",
                "service_settings": {
                    "url": {"huggingface_endpoint": "minilm"},
                    "api_key": {"secret": "hfToken"},
                },
            }
        ],
    }


@pytest.fixture
def lab() -> Iterator[Lab]:
    with lab_servers(endpoints_api=FAST) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, lab: Lab) -> Iterator[PulumiProject]:
    created = PulumiProject(
        tmp_path, env={"ES_INFERENCE_RETRY_DEADLINE": "5", "ES_INFERENCE_TIMEOUT": "10"}
    )
    created.write_stack(chained(lab))
    created.set_secret("hfToken", HF_KEY)
    yield created
    assert HF_KEY not in created.all_output(), "the HF token was printed or stored in plaintext"


def ops(project: PulumiProject) -> dict[str, str]:
    return {name: step["op"] for name, step in project.preview_steps().items()}


def summary_rows(
    project: PulumiProject, capsys: pytest.CaptureFixture[str]
) -> dict[str, tuple[str, str, list[tuple[str, str]]]]:
    """``es-inference summary --format json`` of a real preview: action, service, field effects."""
    preview = project.root / "preview.json"
    preview.write_text(project.run("preview", "--json").stdout)
    capsys.readouterr()
    main(
        [
            "summary",
            "--preview",
            str(preview),
            "--stack-file",
            str(project.stack_file),
            "--format",
            "json",
            "--no-references",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    return {
        row["inference_id"]: (
            row["action"],
            row["service"],
            [(c["field"], c["effect"]) for c in row["changes"]],
        )
        for row in document["endpoints"]
    }


def test_up_creates_hf_first_then_es_with_its_url_and_changes_cascade_only_on_a_new_url(
    project: PulumiProject, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert summary_rows(project, capsys) == {
        "minilm": ("create", "huggingface_endpoint", []),
        "es-minilm": ("create", "hugging_face", []),
    }
    preview = project.preview()
    assert "cost: minilm: aws-us-east-1-intel-spr-x2 at $0.033/h" not in preview.output
    assert "cost: minilm: aws-us-east-1-intel-spr-x2 at $0.066/h per replica" in preview.output
    assert "about $48.18/month at min_replica 1" in preview.output
    assert lab.hf_endpoint_names() == []

    up = project.up()
    hf = lab.hf_endpoint("minilm")
    assert hf is not None and hf["status"]["state"] == "running"
    assert "huggingface endpoint 'minilm': running after" in up.output
    es = lab.endpoint("es-minilm")
    assert es is not None and es["service_settings"]["url"] == hf["status"]["url"]
    assert project.preview("--expect-no-changes", check=False).returncode == 0

    # in place: the URL stays, so the Elasticsearch endpoint has no step
    project.write_stack(chained(lab, instance_size="x4"))
    assert ops(project) == {"minilm": "update"}
    assert summary_rows(project, capsys) == {
        "minilm": ("update", "huggingface_endpoint", [("instance_size", "in place")]),
    }
    project.up()
    assert (lab.hf_endpoint("minilm") or {})["compute"]["instanceSize"] == "x4"
    assert (lab.endpoint("es-minilm") or {})["service_settings"]["url"] == hf["status"]["url"]

    # another region: a new endpoint, a new URL, so the Elasticsearch endpoint is replaced too
    project.write_stack(chained(lab, instance_size="x4", region="eu-west-1"))
    preview = project.preview()
    assert "replace because region" in preview.output
    assert "the Elasticsearch endpoints es-minilm that use it are replaced too" in preview.output
    assert ops(project) == {"minilm": "replace", "es-minilm": "replace"}
    rows = summary_rows(project, capsys)
    assert rows["minilm"] == ("replace", "huggingface_endpoint", [("region", "replace")])
    assert rows["es-minilm"][:2] == ("replace", "hugging_face")
    project.up()
    moved = lab.hf_endpoint("minilm")
    assert moved is not None and moved["provider"]["region"] == "eu-west-1"
    assert moved["status"]["url"] != hf["status"]["url"]
    assert (lab.endpoint("es-minilm") or {})["service_settings"]["url"] == moved["status"]["url"]

    project.destroy()
    assert lab.user_endpoint_ids() == []
    assert lab.hf_endpoint_names() == []


def test_over_quota_hardware_is_refused_at_preview_before_anything_is_created(
    project: PulumiProject, lab: Lab
) -> None:
    project.write_stack(
        chained(
            lab, accelerator="gpu", instance_type="nvidia-t4", instance_size="x1", max_replica=3
        )
    )
    result = project.preview(check=False)
    assert result.returncode != 0
    assert (
        "$.huggingface_endpoints[0]: max_replica 3 of aws-us-east-1-nvidia-t4-x1 needs 3 "
        "accelerators but the namespace's quota allows 2 and 0 are in use"
    ) in result.output
    assert "Traceback" not in result.output
    assert lab.hf_endpoint_names() == []


def _replace_the_es_endpoint_of_a_scaled_to_zero_one(
    project: PulumiProject, lab: Lab, cold_start: float
) -> Result:
    """Scale the HF endpoint to zero, then ``up`` a change that re-creates its ES endpoint."""
    project.write_stack(chained(lab, min_replica=0, scale_to_zero_timeout=15))
    project.up()
    lab.hf_action("minilm", "scale-to-zero")
    lab.hfe.put("/_emulator/timing", json={"cold_start": cold_start}).raise_for_status()
    document = chained(lab, min_replica=0, scale_to_zero_timeout=15)
    document["endpoints"][0]["service_settings"]["similarity"] = "dot_product"  # a replacement
    project.write_stack(document)

    result = project.up()

    es = lab.endpoint("es-minilm")
    assert es is not None and es["service_settings"]["similarity"] == "dot_product"
    assert (lab.hf_endpoint("minilm") or {})["status"]["state"] == "running"
    return result


def test_up_wakes_a_scaled_to_zero_endpoint_before_elasticsearch_validates_against_it(
    project: PulumiProject, lab: Lab
) -> None:
    _replace_the_es_endpoint_of_a_scaled_to_zero_one(project, lab, cold_start=0.3)


def test_up_waits_out_a_cold_start_longer_than_elasticsearchs_own_attempts(
    project: PulumiProject, lab: Lab
) -> None:
    # Elasticsearch's three validation attempts take ~0.02 s here; the cold start takes 1.5 s.
    result = _replace_the_es_endpoint_of_a_scaled_to_zero_one(project, lab, cold_start=1.5)

    # The wait was shown while it lasted: Elasticsearch's cause, and the provider's next try.
    assert "Received a rate limit status code" in result.output
    assert "retrying in" in result.output
    assert project.preview("--expect-no-changes", check=False).returncode == 0
