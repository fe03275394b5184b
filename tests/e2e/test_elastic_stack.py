"""Elastic Inference Service endpoints under the real Pulumi CLI: create, no change, replace, destroy.

The lab's cluster (9.1) reaches its EIS stand-in through `xpack.inference.elastic.url`; EIS's
preconfigured endpoints sit beside the stack's and are never touched. An `elastic` endpoint
has no secret, and no setting that changes in place on 9.1: a new model replaces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulators.lab import Lab
from harness.pulumi_cli import PulumiProject
from providers.cli import main

pytestmark = pytest.mark.e2e


def eis_stack(lab: Lab, chat_model: str) -> dict[str, Any]:
    return {
        "elasticsearch": {"endpoints": [lab.es_url]},
        "endpoints": [
            {
                "inference_id": "eis-elser",
                "task_type": "sparse_embedding",
                "service": "elastic",
                "service_settings": {"model_id": "elser_model_2"},
            },
            {
                "inference_id": "eis-embed",
                "task_type": "text_embedding",
                "service": "elastic",
                "service_settings": {"model_id": "multilingual-embed-v1"},
            },
            {
                "inference_id": "eis-chat",
                "task_type": "chat_completion",
                "service": "elastic",
                "service_settings": {"model_id": chat_model},
            },
        ],
    }


def test_an_eis_stack_is_created_replaced_and_destroyed(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    preconfigured = [
        e["inference_id"]
        for e in lab.es.get("/_inference/_all").json()["endpoints"]
        if e["service"] == "elastic"
    ]
    assert ".elser-2-elastic" in preconfigured
    project = PulumiProject(
        tmp_path, env={"ES_INFERENCE_RETRY_DEADLINE": "5", "ES_INFERENCE_TIMEOUT": "10"}
    )
    project.write_stack(eis_stack(lab, "rainbow-sprinkles"))
    assert main(["validate", str(project.stack_file)]) == 0, capsys.readouterr().out

    project.up()
    assert lab.user_endpoint_ids() == ["eis-chat", "eis-elser", "eis-embed"]
    assert lab.endpoint("eis-embed")["service_settings"]["dimensions"] == 16  # type: ignore[index]
    assert project.preview("--expect-no-changes", check=False).returncode == 0
    project.refresh()
    assert project.preview("--expect-no-changes", check=False).returncode == 0

    # A model EIS does not authorize: the plan replaces, the validation call refuses.
    project.write_stack(eis_stack(lab, "gp-llm-v2"))
    steps = project.preview_steps()
    assert {name: step["op"] for name, step in steps.items()} == {"eis-chat": "replace"}
    assert steps["eis-chat"]["replaceReasons"] == ["service_settings.model_id"]
    result = project.up(check=False)
    # EIS does not authorize that model: the validation call fails with ES's message.
    assert result.returncode != 0
    assert "is not authorized for task [chat]" in project.all_output()

    project.write_stack(eis_stack(lab, "rainbow-sprinkles"))
    project.up()
    assert project.preview("--expect-no-changes", check=False).returncode == 0

    project.destroy()
    assert lab.user_endpoint_ids() == []
    after = [
        e["inference_id"]
        for e in lab.es.get("/_inference/_all").json()["endpoints"]
        if e["service"] == "elastic"
    ]
    assert after == preconfigured
