"""``es-inference check``: drift, missing and undeclared endpoints against the emulator, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.lab import HF_KEY, Lab
from providers.cli import main


def _rerank(lab: Lab, inference_id: str = "hf-rerank", top_n: int = 3) -> dict[str, Any]:
    return {
        "inference_id": inference_id,
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": {"secret": "hfApiKey"}},
        "task_settings": {"return_documents": True, "top_n": top_n},
    }


def _embed(lab: Lab, inference_id: str = "hf-minilm") -> dict[str, Any]:
    return {
        "inference_id": inference_id,
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/embed", "api_key": {"env": "HF_API_KEY"}},
    }


def _put(lab: Lab, declared: dict[str, Any]) -> None:
    body = {
        "service": declared["service"],
        "service_settings": {**declared["service_settings"], "api_key": HF_KEY},
    }
    if "task_settings" in declared:
        body["task_settings"] = declared["task_settings"]
    path = f"/_inference/{declared['task_type']}/{declared['inference_id']}"
    lab.es.put(path, json=body).raise_for_status()


def _stacks(tmp_path: Path, lab: Lab, **files: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "stacks"
    folder.mkdir(exist_ok=True)
    for name, endpoints in files.items():
        document = {"elasticsearch": {"endpoints": [lab.es_url]}, "endpoints": endpoints}
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document))
    return folder


def _check(capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> tuple[int, str, str]:
    status = main(["check", "--stacks-dir", str(folder), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_cluster_that_matches_its_stack_files_is_in_sync_with_two_requests(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _stacks(tmp_path, lab, prod=[_rerank(lab), _embed(lab)])
    _put(lab, _rerank(lab))
    _put(lab, _embed(lab))
    lab.clear_log()

    status, out, err = _check(capsys, folder)

    assert status == 0
    assert out == f"{lab.es_url} (Elasticsearch 9.1.0):\n  2 endpoints in sync\n"
    assert err == "es-inference check: in sync\n"
    assert lab.calls() == ["GET /", "GET /_inference/_all"]


def test_a_setting_changed_out_of_band_is_drift_naming_the_field_and_what_up_does(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _stacks(tmp_path, lab, prod=[_rerank(lab), _embed(lab)])
    _put(lab, _rerank(lab))
    _put(lab, _embed(lab))
    lab.patch("hf-rerank", {"task_settings": {"top_n": 7}})

    status, out, _ = _check(capsys, folder)

    assert status == 3
    assert (
        f"  drift      hf-rerank: differs from {folder}/prod.yaml: task_settings.top_n "
        "(pulumi up updates it in place)\n"
    ) in out
    assert "1 endpoint in sync" in out


def test_a_declared_endpoint_the_cluster_lacks_is_missing(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _stacks(tmp_path, lab, prod=[_rerank(lab), _embed(lab)])
    _put(lab, _rerank(lab))

    status, out, _ = _check(capsys, folder)

    assert status == 3
    assert (
        f"  missing    hf-minilm: declared in {folder}/prod.yaml but not on the cluster "
        "(pulumi up creates it)\n"
    ) in out


def test_an_endpoint_no_stack_declares_is_undeclared_with_what_uses_it(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _stacks(tmp_path, lab, prod=[_rerank(lab)])
    _put(lab, _rerank(lab))
    _put(lab, _embed(lab, "left-behind"))
    _put(lab, _embed(lab, "unused"))
    lab.put_pipeline("ingest-docs", "left-behind")
    lab.clear_log()

    status, out, err = _check(capsys, folder)

    assert status == 4
    assert (
        "  undeclared left-behind (hugging_face text_embedding): no stack file declares it; "
        "used by ingest pipelines ingest-docs\n"
    ) in out
    assert "unused (hugging_face text_embedding): no stack file declares it; nothing uses it" in out
    assert err == "es-inference check: undeclared\n"
    # Preconfigured endpoints (".elser-2-elasticsearch", ...) are never undeclared.
    assert out.count("no stack file declares it") == 2
    assert lab.calls() == [
        "GET /",
        "GET /_inference/_all",
        "DELETE /_inference/text_embedding/left-behind?dry_run=true",
        "DELETE /_inference/text_embedding/unused?dry_run=true",
    ]
    assert lab.user_endpoint_ids() == ["hf-rerank", "left-behind", "unused"]


def test_with_stack_only_that_stack_is_checked_but_every_stack_file_counts_as_declaring(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _stacks(tmp_path, lab, prod=[_rerank(lab)], search=[_embed(lab)])
    _put(lab, _rerank(lab))
    _put(lab, _embed(lab))
    lab.patch("hf-minilm", {"service_settings": {"similarity": "dot_product"}})

    only_prod, out_prod, _ = _check(capsys, folder, "--stack", "prod")
    everything, out_all, _ = _check(capsys, folder)

    assert (only_prod, "undeclared" in out_prod, "drift" in out_prod) == (0, False, False)
    assert everything == 3
    assert "service_settings.similarity (pulumi up re-creates it)" in out_all


def test_json_output_lists_each_finding_for_tools(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _stacks(tmp_path, lab, prod=[_rerank(lab, top_n=5)])
    _put(lab, _rerank(lab))

    status, out, _ = _check(capsys, folder, "--format", "json", "--verbose")

    document = json.loads(out)
    assert (status, document["status"], document["exit_code"]) == (3, "drift", 3)
    (cluster,) = document["clusters"]
    assert cluster["elasticsearch_version"] == "9.1.0"
    assert [(e["inference_id"], e["finding"], e["changes"]) for e in cluster["endpoints"]] == [
        (
            "hf-rerank",
            "drift",
            [
                {
                    "field": "task_settings.top_n",
                    "effect": "update",
                    "reason": "Elasticsearch updates it in place",
                }
            ],
        )
    ]


def test_an_invalid_stack_file_stops_the_check_before_any_request(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _stacks(tmp_path, lab, prod=[_rerank(lab, top_n=0)])
    lab.clear_log()

    status, out, _ = _check(capsys, folder)

    assert status == 1
    assert f"{folder}/prod.yaml: $.endpoints[0].task_settings.top_n: must be >= 1 (got 0)" in out
    assert lab.requests() == []


def test_an_unreachable_cluster_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ES_INFERENCE_RETRY_DEADLINE", "0")
    folder = tmp_path / "stacks"
    folder.mkdir()
    document = {"elasticsearch": {"endpoints": ["http://127.0.0.1:9"]}, "endpoints": []}
    (folder / "prod.yaml").write_text(yaml.safe_dump(document))

    status, out, _ = _check(capsys, folder)

    assert status == 5
    assert out.startswith("GET / failed: no response from http://127.0.0.1:9")


def test_the_cluster_can_come_from_the_environment_as_on_a_real_cluster(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "stacks"
    folder.mkdir()
    (folder / "prod.yaml").write_text(yaml.safe_dump({"endpoints": [_rerank(lab)]}))
    _put(lab, _rerank(lab))
    monkeypatch.setenv("ELASTICSEARCH_ENDPOINTS", lab.es_url)

    status, out, _ = _check(capsys, folder)

    assert (status, out) == (0, f"{lab.es_url} (Elasticsearch 9.1.0):\n  1 endpoint in sync\n")
