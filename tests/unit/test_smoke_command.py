"""``es-inference smoke`` against the emulator, which calls the Hugging Face test server for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.lab import HF_KEY, Lab
from providers.cli import main

PATHS = {
    "text_embedding": "/embed",
    "sparse_embedding": "/sparse",
    "rerank": "/rerank",
    "completion": "/v1/chat/completions",
    "chat_completion": "/v1/chat/completions",
}


def _declare(lab: Lab, task_type: str, inference_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "inference_id": inference_id,
        "task_type": task_type,
        "service": "hugging_face",
        "service_settings": {"url": lab.hf_url + PATHS[task_type], "api_key": {"env": "HF"}},
        **extra,
    }


def _create(lab: Lab, declared: dict[str, Any]) -> None:
    body: dict[str, Any] = {
        "service": "hugging_face",
        "service_settings": {**declared["service_settings"], "api_key": HF_KEY},
    }
    if declared.get("task_settings"):
        body["task_settings"] = declared["task_settings"]
    path = f"/_inference/{declared['task_type']}/{declared['inference_id']}"
    lab.es.put(path, json=body).raise_for_status()


def _stack(tmp_path: Path, lab: Lab, endpoints: list[dict[str, Any]], **top: Any) -> Path:
    path = tmp_path / "prod.yaml"
    document = {"elasticsearch": {"endpoints": [lab.es_url]}, **top, "endpoints": endpoints}
    path.write_text(yaml.safe_dump(document))
    return path


def _smoke(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, str, str]:
    status = main(["smoke", "--stack-file", str(path), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_task_type_that_serves_passes_and_the_embedding_size_is_checked(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoints = [
        _declare(lab, "text_embedding", "hf-minilm"),
        _declare(lab, "rerank", "hf-rerank", task_settings={"return_documents": True, "top_n": 1}),
        _declare(lab, "completion", "hf-complete"),
        _declare(lab, "chat_completion", "hf-chat"),
    ]
    endpoints[2]["service_settings"]["model_id"] = "tgi"
    for endpoint in endpoints:
        _create(lab, endpoint)
    path = _stack(tmp_path, lab, endpoints, smoke_test=True)
    lab.clear_log()

    status, out, err = _smoke(capsys, path)

    assert status == 0, out
    assert out.splitlines() == [
        "ok     hf-minilm (text_embedding): 384 dimensions (the endpoint's "
        "service_settings.dimensions)",
        "ok     hf-rerank (rerank)",
        "ok     hf-complete (completion)",
        "ok     hf-chat (chat_completion)",
    ]
    assert err == "es-inference smoke: 4 passed, 0 failed\n"
    assert [c for c in lab.calls() if c.startswith("POST")] == [
        "POST /_inference/text_embedding/hf-minilm",
        "POST /_inference/rerank/hf-rerank",
        "POST /_inference/completion/hf-complete",
        "POST /_inference/chat_completion/hf-chat/_stream",
    ]


def test_a_semantic_text_field_that_expects_another_size_fails_the_run_naming_it(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = _declare(lab, "text_embedding", "hf-minilm", smoke_test=True)
    _create(lab, endpoint)
    mapping = {
        "type": "semantic_text",
        "inference_id": "hf-minilm",
        "model_settings": {
            "task_type": "text_embedding",
            "dimensions": 768,
            "similarity": "cosine",
        },
    }
    lab.es.put("/docs", json={"mappings": {"properties": {"body": mapping}}}).raise_for_status()

    status, out, _ = _smoke(capsys, _stack(tmp_path, lab, [endpoint]), "--format", "json")

    document = json.loads(out)
    assert (status, document["status"]) == (3, "failed")
    assert document["endpoints"] == [
        {
            "inference_id": "hf-minilm",
            "task_type": "text_embedding",
            "passed": False,
            "problems": [
                "the embedding has 384 dimensions but model_settings of semantic_text field "
                "docs.body says 768"
            ],
            "checked": [
                "384 dimensions (the endpoint's service_settings.dimensions)",
                "768 dimensions (model_settings of semantic_text field docs.body)",
            ],
        }
    ]


def test_an_endpoint_whose_service_fails_fails_the_run_with_elasticsearchs_reason(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = _declare(lab, "text_embedding", "hf-minilm", smoke_test=True)
    _create(lab, endpoint)
    lab.hf_fault(path="/embed", action="status", status=401, times=10)

    status, out, err = _smoke(capsys, _stack(tmp_path, lab, [endpoint]))

    assert status == 3
    assert out.startswith(
        "FAILED hf-minilm (text_embedding): POST /_inference/text_embedding/hf-minilm failed: "
        "401 status_exception: Received an authentication error status code for request from "
        "inference entity id [hf-minilm] status [401]"
    )
    assert err == "es-inference smoke: 0 passed, 1 failed\n"


def test_a_declared_endpoint_that_is_not_there_fails(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = _declare(lab, "rerank", "hf-rerank", smoke_test=True)

    status, out, _ = _smoke(capsys, _stack(tmp_path, lab, [endpoint]))

    assert (status, out) == (
        3,
        "FAILED hf-rerank (rerank): not on the cluster (did pulumi up fail?)\n",
    )


def test_it_is_opt_in_and_changes_limits_it_to_what_pulumi_up_changed(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = _declare(lab, "text_embedding", "hf-kept")
    changed = _declare(lab, "rerank", "hf-changed")
    off = _declare(lab, "rerank", "hf-off", smoke_test=False)
    for endpoint in (kept, changed, off):
        _create(lab, endpoint)
    path = _stack(tmp_path, lab, [kept, changed, off])
    urn = "urn:pulumi:prod::es-inference::pulumi-python:dynamic/elasticsearch:InferenceEndpoint::"
    events = tmp_path / "up.json"
    events.write_text(
        "\n".join(
            json.dumps({"resOutputsEvent": {"metadata": {"op": op, "urn": urn + name}}})
            for op, name in (("same", "hf-kept"), ("update", "hf-changed"), ("update", "hf-off"))
        )
    )

    nothing = _smoke(capsys, path)
    all_changed = _smoke(capsys, path, "--all", "--changes", str(events))

    assert nothing == (
        0,
        "",
        "es-inference smoke: no endpoint to test (none changed, or smoke_test is off)\n",
    )
    assert all_changed[:2] == (0, "ok     hf-changed (rerank)\n")
