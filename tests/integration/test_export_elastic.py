"""``es-inference export`` and ``validate`` of a cluster that uses the Elastic Inference Service.

The lab's cluster reaches its EIS stand-in through `xpack.inference.elastic.url`, so it lists
EIS's preconfigured endpoints besides the ones created here: export writes only the latter,
and the file it writes validates and declares no secret (the `elastic` service has none).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.lab import Lab, lab_servers
from providers.cli import main
from providers.stack import load_stack, stack_problems

CREATED = [
    ("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2", "max_input_tokens": 512}),
    ("text_embedding", "eis-dense", {"model_id": "multilingual-embed-v1"}),
    ("chat_completion", "eis-chat", {"model_id": "rainbow-sprinkles"}),
]


@pytest.fixture
def eis_lab() -> Iterator[Lab]:
    with lab_servers(es_version="9.1.0") as running:
        yield running


def test_export_writes_the_elastic_endpoints_and_not_the_preconfigured_ones(
    eis_lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for task_type, inference_id, settings in CREATED:
        response = eis_lab.es.put(
            f"/_inference/{task_type}/{inference_id}",
            json={"service": "elastic", "service_settings": settings},
        )
        assert response.status_code == 200, response.text
    listed = [e["inference_id"] for e in eis_lab.es.get("/_inference/_all").json()["endpoints"]]
    assert ".elser-2-elastic" in listed and ".rainbow-sprinkles-elastic" in listed
    output = tmp_path / "stacks" / "eis.yaml"
    output.parent.mkdir()

    status = main(["export", "--url", eis_lab.es_url, "--output", str(output)])

    assert (status, capsys.readouterr().err) == (0, "es-inference export: 3 endpoints exported\n")
    assert stack_problems(output) == []
    assert main(["validate", str(output)]) == 0
    declared = {e.inference_id: e for e in load_stack(output).endpoints}
    assert sorted(declared) == ["eis-chat", "eis-dense", "eis-sparse"]
    assert {e.service for e in declared.values()} == {"elastic"}
    assert declared["eis-sparse"].service_settings["model_id"] == "elser_model_2"
    assert declared["eis-sparse"].service_settings["max_input_tokens"] == 512
    assert declared["eis-dense"].service_settings["model_id"] == "multilingual-embed-v1"
