"""``es-inference summary``: one row per endpoint from ``pulumi preview --json``, and its exit codes.

The fixtures in ``tests/fixtures/summary/`` are real ``pulumi preview --json`` documents of the e2e
stack (trimmed of stack traces and the pickled provider): ``create`` (a new stack), ``change``
(hf-rerank's api_key rotated and top_n changed, hf-minilm removed) and ``invalid`` (a broken stack
file). tests/e2e/test_recipes.py runs the same command on a live preview, and
tests/e2e/test_hf_chain.py on one with a Hugging Face endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.lab import HF_KEY, Lab
from providers.cli import main
from providers.schema import load_schemas
from providers.summary import EXIT_CODES, render_markdown, summarize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "summary"


def _document(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def _step(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in document["steps"] if s["urn"].endswith(f"::{name}"))


def _summarize(document: dict[str, Any], **kwargs: Any) -> Any:
    return summarize(document, stack="e2e", schemas=load_schemas(), **kwargs)


def test_a_new_stack_lists_each_create_with_the_versions_its_task_types_need() -> None:
    summary = _summarize(_document("create"))

    assert [(r.inference_id, r.action) for r in summary.rows] == [
        ("hf-minilm", "create"),
        ("hf-rerank", "create"),
    ]
    assert summary.rows[1].version_notes == [
        "hugging_face rerank endpoints need Elasticsearch 8.19.0 or 9.1.0+"
    ]
    assert (summary.status, summary.exit_code) == ("changes", 3)


def test_a_create_the_cluster_version_cannot_hold_is_named_in_the_version_notes() -> None:
    from providers.versions import Version

    summary = _summarize(_document("create"), cluster_version=Version(8, 18, 0))

    assert summary.rows[1].version_notes == [
        "hugging_face rerank endpoints need Elasticsearch 8.19.0 or 9.1.0 or later; the cluster "
        "runs 8.18.0, so the create fails"
    ]


def test_a_rotated_secret_shows_as_the_replacement_cause_although_the_preview_hides_its_value() -> (
    None
):
    summary = _summarize(_document("change"))

    rerank = summary.rows[0]
    assert (rerank.inference_id, rerank.action) == ("hf-rerank", "replace")
    assert [(c.path, c.action, c.reason) for c in rerank.changes] == [
        (
            "service_settings.api_key",
            "replace",
            "a secret is immutable here: the endpoint is re-created with the new value",
        ),
        ("task_settings.top_n", "update", "Elasticsearch updates it in place"),
    ]
    assert (summary.rows[1].inference_id, summary.rows[1].action) == ("hf-minilm", "delete")


def test_an_in_place_rotation_on_an_old_cluster_carries_a_version_note() -> None:
    document = _document("change")
    step = _step(document, "hf-rerank")
    step["op"] = "update"
    step.pop("replaceReasons")
    step["newState"]["inputs"]["secret_rotation"] = "update"
    step["oldState"]["outputs"]["secret_rotation"] = "update"
    step["newState"]["inputs"]["task_settings"]["top_n"] = 3
    document["diagnostics"] = [
        {
            "message": "info: es-inference: hf-rerank: update in place: service_settings.api_key "
            "(secret_rotation: update rotates it in place with _update; Elasticsearch 9.1.0 "
            "does not test the new value, so check it works)\n\n",
            "severity": "info#err",
        }
    ]

    row = _summarize(document).rows[0]

    assert (row.action, [c.path for c in row.changes]) == ("update", ["service_settings.api_key"])
    assert row.version_notes == [
        "service_settings.api_key: secret_rotation: update rotates it in place with _update; "
        "Elasticsearch 9.1.0 does not test the new value, so check it works"
    ]


def test_a_delete_that_pipelines_use_is_blocked_unless_force() -> None:
    asked: list[tuple[str, str]] = []

    def references(task_type: str, inference_id: str) -> tuple[list[str], list[str]]:
        asked.append((task_type, inference_id))
        return (["ingest-docs"], []) if inference_id == "hf-minilm" else ([], [])

    blocked = _summarize(_document("change"), references=references)
    forced = _summarize(
        _document("change"), references=references, declared_force=lambda i: i == "hf-minilm"
    )

    assert asked[:2] == [("rerank", "hf-rerank"), ("text_embedding", "hf-minilm")]
    assert [r.blocked for r in blocked.rows] == [False, True]
    assert (blocked.status, blocked.exit_code) == ("blocked", 4)
    assert "ingest pipelines ingest-docs (set `force: true` to go ahead)" in render_markdown(
        blocked
    )
    assert (forced.status, forced.exit_code) == ("changes", 3)
    assert "nothing (`force: true`; ingest pipelines ingest-docs fail until it exists again)" in (
        render_markdown(forced)
    )


def test_a_preview_that_stopped_on_a_bad_stack_file_is_invalid_not_an_error() -> None:
    summary = _summarize(_document("invalid"))

    assert (summary.status, summary.exit_code) == ("invalid", 1)
    assert summary.invalid[0].startswith("stacks/e2e.yaml is invalid (2 errors):")
    assert summary.errors == []


def test_a_preview_that_failed_for_another_reason_is_an_error() -> None:
    document = _document("create")
    document["diagnostics"] = [
        {"message": "error: could not load plugin pulumi-python\n", "severity": "error"}
    ]

    summary = _summarize(document)

    assert (summary.status, summary.exit_code, summary.errors) == (
        "error",
        5,
        ["could not load plugin pulumi-python"],
    )


def test_no_endpoint_step_means_no_change() -> None:
    document = _document("create")
    document["steps"] = [s for s in document["steps"] if "InferenceEndpoint" not in s["urn"]]

    summary = _summarize(document)

    assert (summary.status, summary.exit_code) == ("no_change", 0)
    assert "no changes" in render_markdown(summary)


def test_exit_codes_are_distinct_and_leave_2_to_usage_errors() -> None:
    assert sorted(EXIT_CODES.values()) == [0, 1, 3, 4, 5]


# --- the command, against the emulator ------------------------------------------------------


def _stack_file(tmp_path: Path, es_url: str, hf_url: str) -> Path:
    endpoint = {
        "inference_id": "hf-rerank",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": f"{hf_url}/rerank", "api_key": {"secret": "hfApiKey"}},
        "task_settings": {"return_documents": True, "top_n": 5},
    }
    path = tmp_path / "e2e.yaml"
    document = {"elasticsearch": {"endpoints": [es_url]}, "endpoints": [endpoint]}
    path.write_text(yaml.safe_dump(document))
    return path


def _put(lab: Lab, task_type: str, inference_id: str, url: str) -> None:
    body = {"service": "hugging_face", "service_settings": {"url": url, "api_key": HF_KEY}}
    lab.es.put(f"/_inference/{task_type}/{inference_id}", json=body).raise_for_status()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["summary", *args])
    return status, capsys.readouterr().out


def test_the_command_asks_the_cluster_what_uses_an_endpoint_and_reports_the_block(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    _put(lab, "rerank", "hf-rerank", f"{lab.hf_url}/rerank")
    _put(lab, "text_embedding", "hf-minilm", f"{lab.hf_url}/embed")
    lab.put_index("docs", "hf-minilm")
    stack_file = _stack_file(tmp_path, lab.es_url, lab.hf_url)
    lab.clear_log()

    status, out = _run(
        capsys,
        "--preview",
        str(FIXTURES / "change.json"),
        "--stack-file",
        str(stack_file),
        "--format",
        "json",
    )

    document = json.loads(out)
    assert status == 4
    assert document["status"] == "blocked"
    assert [(e["inference_id"], e["blocked"], e["used_by"]) for e in document["endpoints"]] == [
        ("hf-rerank", False, {"pipelines": [], "indexes": []}),
        ("hf-minilm", True, {"pipelines": [], "indexes": ["docs"]}),
    ]
    assert lab.calls() == [
        "GET /",
        "DELETE /_inference/rerank/hf-rerank?dry_run=true",
        "DELETE /_inference/text_embedding/hf-minilm?dry_run=true",
    ]
    assert lab.user_endpoint_ids() == ["hf-minilm", "hf-rerank"]  # nothing was deleted


def test_the_command_reads_the_preview_from_standard_input_and_prints_markdown(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO((FIXTURES / "create.json").read_text()))

    status, out = _run(capsys, "--stack-file", str(_stack_file(tmp_path, lab.es_url, lab.hf_url)))

    assert status == 3
    assert out.startswith("### es-inference: stack `e2e`: changes, nothing blocks them\n")
    assert "| `hf-rerank` | **create** |" in out


def test_an_unreachable_cluster_makes_the_summary_incomplete_not_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ES_INFERENCE_RETRY_DEADLINE", "0")
    path = _stack_file(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9")

    status, out = _run(
        capsys, "--preview", str(FIXTURES / "change.json"), "--stack-file", str(path)
    )

    assert status == 5
    assert "not checked: GET / failed: no response from http://127.0.0.1:9" in out


def test_output_that_is_not_a_preview_document_is_an_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "preview.json"
    broken.write_text("error: no stack named 'prod' found\n")

    status = main(["summary", "--preview", str(broken), "--no-references"])

    assert status == 5
    assert f"es-inference summary: {broken}: not the output of `pulumi preview --json`" in (
        capsys.readouterr().err
    )


def test_an_invalid_stack_file_is_reported_once_with_its_paths_and_no_request_is_sent(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _stack_file(tmp_path, lab.es_url, lab.hf_url)
    path.write_text(path.read_text().replace("top_n: 5", "top_n: 0"))
    lab.clear_log()

    status, out = _run(
        capsys, "--preview", str(FIXTURES / "invalid.json"), "--stack-file", str(path)
    )

    assert status == 1
    assert f"{path}: $.endpoints[0].task_settings.top_n: must be >= 1 (got 0)" in out
    assert "stacks/e2e.yaml is invalid" not in out
    assert lab.requests() == []


def test_a_hugging_face_endpoint_has_a_row_of_its_own_never_blocked() -> None:
    olds = {
        "name": "minilm",
        "task": "sentence-embeddings",
        "instance_size": "x2",
        "token": "[secret]",
        "region": "us-east-1",
    }
    step = {
        "op": "update",
        "urn": "urn:pulumi:e2e::es-inference::pulumi-python:dynamic/huggingface:InferenceEndpoint::minilm",
        "diffReasons": ["instance_size", "token"],
        "oldState": {
            "type": "pulumi-python:dynamic/huggingface:InferenceEndpoint",
            "outputs": olds,
        },
        "newState": {
            "type": "pulumi-python:dynamic/huggingface:InferenceEndpoint",
            "inputs": {**olds, "instance_size": "x4"},
        },
    }
    asked: list[str] = []

    def references(task_type: str, inference_id: str) -> tuple[list[str], list[str]]:
        asked.append(inference_id)
        return ["p"], []

    summary = _summarize({"steps": [step]}, references=references)

    (row,) = summary.rows
    assert (row.inference_id, row.action, row.task_type) == (
        "minilm",
        "update",
        "sentence-embeddings",
    )
    assert [(c.path, c.action) for c in row.changes] == [
        ("instance_size", "update"),
        ("token", "state"),
    ]
    assert asked == [] and not row.blocked and summary.status == "changes"
    assert "| `minilm` (Hugging Face endpoint) | **update** | `instance_size` (in place)" in (
        render_markdown(summary)
    )
