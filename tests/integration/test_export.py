"""``es-inference export`` against the emulator: the file it writes, and how it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulators.lab import HF_KEY
from providers.cli import main
from providers.stack import load_stack, stack_problems
from tests.integration.helpers import RecordingLab

ROOT = Path(__file__).resolve().parents[2]


def put(lab: RecordingLab, task_type: str, inference_id: str, body: dict[str, object]) -> None:
    response = lab.es.put(f"/_inference/{task_type}/{inference_id}", json=body)
    assert response.status_code == 200, response.text


def test_export_writes_a_valid_stack_of_what_the_cluster_holds_and_never_a_key(
    lab: RecordingLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = {"url": f"{lab.hf_url}/embed", "api_key": HF_KEY}
    put(lab, "text_embedding", "emb", {"service": "hugging_face", "service_settings": settings})
    rerank = {"url": f"{lab.hf_url}/rerank", "api_key": HF_KEY}
    put(
        lab,
        "rerank",
        "rr",
        {"service": "hugging_face", "service_settings": rerank, "task_settings": {"top_n": 2}},
    )
    output = tmp_path / "stacks" / "prod.yaml"
    output.parent.mkdir()
    lab.clear_log()

    status = main(["export", "--url", lab.es_url, "--output", str(output)])

    out, err = capsys.readouterr()
    assert (status, out, err) == (0, "", "es-inference export: 2 endpoints exported\n")
    text = output.read_text()
    assert HF_KEY not in text
    assert stack_problems(output) == []
    declared = load_stack(output)
    assert declared.elasticsearch == {"endpoints": [lab.es_url]}
    assert [(e.inference_id, e.task_type) for e in declared.endpoints] == [
        ("emb", "text_embedding"),
        ("rr", "rerank"),
    ]
    assert declared.endpoints[1].task_settings == {"top_n": 2}
    assert lab.calls() == ["GET /", "GET /_inference/_all"]


def test_export_refuses_to_overwrite_a_file_unless_told(
    lab: RecordingLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "prod.yaml"
    output.write_text("keep me\n")

    assert main(["export", "--url", lab.es_url, "-o", str(output)]) == 2
    assert output.read_text() == "keep me\n"
    assert capsys.readouterr().err == (
        f"es-inference export: {output} exists; pass --overwrite to replace it\n"
    )
    assert main(["export", "--url", lab.es_url, "-o", str(output), "--overwrite"]) == 0
    assert output.read_text().endswith("endpoints: []\n")


@pytest.mark.parametrize(
    ("args", "env", "status", "message"),
    [
        (
            [],
            {},
            2,
            "es-inference export: which cluster? pass --url https://host:9200 or export "
            "ELASTICSEARCH_ENDPOINTS",
        ),
        (
            ["--url", "http://127.0.0.1:9"],
            {"ES_INFERENCE_RETRY_DEADLINE": "0"},
            1,
            "es-inference export: GET / failed: no response from http://127.0.0.1:9 "
            "(ConnectError: [Errno 111] Connection refused)",
        ),
    ],
    ids=["no cluster named", "a cluster that does not answer"],
)
def test_export_failures_are_one_clear_line_and_no_traceback(
    args: list[str], env: dict[str, str], status: int, message: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ELASTICSEARCH_")}
    done = subprocess.run(
        [sys.executable, "-m", "providers.cli", "export", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **env},
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (status, "", [message])
