"""The provider under the real Pulumi engine: preview, up, refresh and destroy (issue 4).

Each test gets its own file:// backend and a fresh emulator; the conftest asserts after every test
that no api_key was printed by any command or written in plaintext to any file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import pytest

from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab
from harness.otel_trace import read_spans
from harness.pulumi_cli import PulumiProject
from providers.cli import main
from tests.e2e.conftest import stack_document

pytestmark = pytest.mark.e2e


def test_preview_of_a_new_stack_lists_the_creates_and_sends_nothing_that_changes_elasticsearch(
    project: PulumiProject, lab: Lab
) -> None:
    steps = project.preview_steps()

    assert {name: step["op"] for name, step in steps.items()} == {
        "hf-minilm": "create",
        "hf-rerank": "create",
    }
    assert lab.requests() == []


def test_up_then_a_preview_expecting_no_changes_passes_with_server_defaults_in_state(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    lab.clear_log()

    result = project.preview("--expect-no-changes", check=False)

    assert result.returncode == 0, result.output
    assert lab.requests() == []
    stored = lab.endpoint("hf-minilm")
    assert stored is not None
    assert stored["service_settings"]["dimensions"] == 384
    assert stored["service_settings"]["similarity"] == "cosine"
    # The stack output summarises each endpoint, no secret in it.
    assert project.outputs()["endpoints"] == {
        "hf-minilm": {
            "task_type": "text_embedding",
            "service": "hugging_face",
            "url": f"{lab.hf_url}/embed",
        },
        "hf-rerank": {
            "task_type": "rerank",
            "service": "hugging_face",
            "url": f"{lab.hf_url}/rerank",
        },
    }


def test_changing_a_task_setting_previews_an_update_and_up_updates_in_place(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    project.write_stack(stack_document(lab, top_n=5))

    steps = project.preview_steps()
    lab.clear_log()
    project.up()

    assert steps["hf-rerank"]["op"] == "update"
    assert "hf-minilm" not in steps  # unchanged resources have no step
    assert lab.calls() == ["GET /", "PUT /_inference/rerank/hf-rerank/_update"]
    assert (lab.endpoint("hf-rerank") or {}).get("task_settings") == {
        "return_documents": True,
        "top_n": 5,
    }
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_changing_the_api_key_previews_a_replacement_naming_the_field_and_recreates_the_same_id(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    key_before = lab.key_hash("hf-minilm")
    project.set_secret("hfApiKey", HF_KEY_ROTATED)

    preview = project.preview()
    steps = project.preview_steps()
    lab.clear_log()
    project.up()

    assert steps["hf-minilm"]["op"] == "replace"
    assert steps["hf-minilm"]["replaceReasons"] == ["service_settings.api_key"]
    assert (
        "es-inference: hf-minilm: replace (delete, then re-create with the same id) because "
        "service_settings.api_key (a secret is immutable here: the endpoint is re-created with "
        "the new value)" in preview.output
    )
    minilm = [c for c in lab.calls() if c.endswith("/hf-minilm") or "hf-minilm?" in c]
    assert minilm == [
        "DELETE /_inference/text_embedding/hf-minilm?dry_run=true",
        "DELETE /_inference/text_embedding/hf-minilm",
        "PUT /_inference/text_embedding/hf-minilm",
    ]
    assert lab.key_hash("hf-minilm") != key_before
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_with_secret_rotation_update_on_9_1_an_embedding_endpoint_is_replaced_to_keep_its_chunking(
    project: PulumiProject, lab: Lab
) -> None:
    # 9.1's _update would reset the chunking to word/250/100 (elastic/elasticsearch#139574), so
    # the rotation is planned as what it is; tests/e2e/test_versions.py has the in-place one.
    document = stack_document(lab)
    document["endpoints"][0]["secret_rotation"] = "update"
    project.write_stack(document)
    project.up()
    project.set_secret("hfApiKey", HF_KEY_ROTATED)

    preview = project.preview()
    steps = project.preview_steps()
    lab.clear_log()
    project.up()

    assert steps["hf-minilm"]["op"] == "replace"
    assert steps["hf-minilm"]["replaceReasons"] == ["chunking_settings"]
    assert steps["hf-rerank"]["op"] == "replace"  # the default replaces
    assert (
        "es-inference: hf-minilm: replace (delete, then re-create with the same id) because "
        "chunking_settings (Elasticsearch 9.1.0 resets chunking_settings to word/250/100 on every "
        "_update (elastic/elasticsearch#139574), so the in-place change of "
        "service_settings.api_key re-creates the endpoint)" in preview.output
    )
    assert [c for c in lab.calls() if "hf-minilm" in c] == [
        "DELETE /_inference/text_embedding/hf-minilm?dry_run=true",
        "DELETE /_inference/text_embedding/hf-minilm",
        "PUT /_inference/text_embedding/hf-minilm",
    ]
    assert lab.endpoint("hf-minilm")["chunking_settings"] == {  # type: ignore[index]
        "strategy": "sentence",
        "max_chunk_size": 250,
        "sentence_overlap": 1,
    }
    assert lab.key_hash("hf-minilm") == hashlib.sha256(HF_KEY_ROTATED.encode()).hexdigest()
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_endpoints_made_elsewhere_are_exported_then_adopted_by_up_with_the_stacks_key(
    project: PulumiProject, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = {"url": f"{lab.hf_url}/embed", "api_key": HF_KEY}
    body = {"service": "hugging_face", "service_settings": settings}
    assert lab.es.put("/_inference/text_embedding/kibana-made", json=body).status_code == 200
    assert main(["export", "--url", lab.es_url, "-o", str(project.stack_file), "--overwrite"]) == 0
    capsys.readouterr()
    project.set_secret("kibana-made.api_key", HF_KEY_ROTATED)

    steps = project.preview_steps()
    lab.clear_log()
    up = project.up()

    assert {name: step["op"] for name, step in steps.items()} == {"kibana-made": "create"}
    assert "'kibana-made' already existed with the declared settings" in up.output
    assert [c for c in lab.calls() if "kibana-made" in c] == [
        "PUT /_inference/text_embedding/kibana-made",  # answered "already exists"
        "GET /_inference/text_embedding/kibana-made",
        # 9.1's _update would reset its chunking (#139574), so the stack's key goes in by a
        # re-create of the same endpoint.
        "DELETE /_inference/text_embedding/kibana-made?dry_run=true",
        "DELETE /_inference/text_embedding/kibana-made",
        "PUT /_inference/text_embedding/kibana-made",
    ]
    assert lab.key_hash("kibana-made") == hashlib.sha256(HF_KEY_ROTATED.encode()).hexdigest()
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_a_replacement_of_an_endpoint_used_by_a_pipeline_stops_and_deletes_nothing_until_forced(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    lab.put_pipeline("ingest-docs", "hf-minilm")
    lab.put_index("docs", "hf-minilm")
    key_before = lab.key_hash("hf-minilm")
    project.set_secret("hfApiKey", HF_KEY_ROTATED)
    lab.clear_log()

    refused = project.up(check=False)

    assert refused.returncode != 0
    assert (
        "DELETE /_inference/text_embedding/hf-minilm refused: ingest pipelines ['ingest-docs'] and "
        "the semantic_text mappings of indexes ['docs'] use the endpoint, so nothing was deleted. "
        "Remove those references, or set `force: true` on hf-minilm in stacks/e2e.yaml to delete "
        "it anyway (they fail until it exists again)"
    ) in refused.output
    assert "Traceback" not in refused.output
    assert "DELETE /_inference/text_embedding/hf-minilm" not in lab.calls()
    assert lab.key_hash("hf-minilm") == key_before

    project.write_stack(stack_document(lab, force=True))
    project.up()

    assert "DELETE /_inference/text_embedding/hf-minilm?force=true" in lab.calls()
    assert lab.key_hash("hf-minilm") != key_before
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_refresh_notices_an_endpoint_deleted_out_of_band_and_the_next_up_restores_it(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    lab.delete_out_of_band("hf-rerank")

    refresh = project.refresh()
    steps = project.preview_steps()
    project.up()

    assert "hf-rerank" in refresh.output and "deleted" in refresh.output
    assert steps["hf-rerank"]["op"] == "create"
    assert lab.user_endpoint_ids() == ["hf-minilm", "hf-rerank"]
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_refresh_shows_a_setting_edited_out_of_band_as_drift_and_the_next_up_restores_it(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    lab.patch("hf-rerank", {"task_settings": {"top_n": 9}})

    refresh = project.refresh()
    steps = project.preview_steps()
    project.up()

    assert "hf-rerank" in refresh.output and "updated" in refresh.output
    assert steps["hf-rerank"]["op"] == "update"
    assert (lab.endpoint("hf-rerank") or {}).get("task_settings") == {
        "return_documents": True,
        "top_n": 3,
    }
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_refresh_with_the_program_reads_declared_endpoints_and_deletes_undeclared_ones_gone(
    project: PulumiProject, lab: Lab
) -> None:
    # scripts/pulumi runs preview and up --refresh with PULUMI_RUN_PROGRAM: each resource the
    # program declares is refreshed as it is declared; one it no longer declares is not refreshed
    # but deleted as planned, and deleting an endpoint that is already gone is done.
    project.up()
    document = stack_document(lab)
    document["endpoints"] = [e for e in document["endpoints"] if e["inference_id"] != "hf-minilm"]
    project.write_stack(document)
    lab.delete_out_of_band("hf-minilm")  # no longer declared, and gone
    lab.delete_out_of_band("hf-rerank")  # declared, and gone
    lab.clear_log()

    previewed = project.run("preview", "--refresh", "--json")
    preview_calls = lab.calls()
    updated = project.up("--refresh")
    ops: dict[str, list[str]] = {}
    for step in json.loads(previewed.stdout).get("steps", []):
        if "InferenceEndpoint" in step.get("urn", ""):
            ops.setdefault(step["urn"].rsplit("::", 1)[-1], []).append(step["op"])

    assert ops == {"hf-rerank": ["refresh", "create"], "hf-minilm": ["delete"]}
    assert preview_calls.count("GET /_inference/_all") == 1
    assert not [c for c in preview_calls if not c.startswith("GET ")]
    assert updated.returncode == 0
    assert lab.user_endpoint_ids() == ["hf-rerank"]
    ids = [r.get("id") for r in json.loads(project.export())["deployment"]["resources"]]
    assert "hf-minilm" not in ids and "hf-rerank" in ids
    assert project.preview("--expect-no-changes", check=False).returncode == 0


def test_a_bad_stack_file_fails_preview_with_the_file_and_every_path_and_no_traceback(
    project: PulumiProject, lab: Lab
) -> None:
    document = stack_document(lab)
    document["endpoints"][0]["task_type"] = "embeddings"
    document["endpoints"][1]["service_settings"]["api_key"] = "hf_literal_in_the_file"
    document["endpoints"][1]["task_settings"]["top_n"] = 0
    project.write_stack(document)

    result = project.preview(check=False)

    assert result.returncode != 0
    assert "stacks/e2e.yaml is invalid (3 errors):" in result.output
    for line in (
        "stacks/e2e.yaml: $.endpoints[0].task_type: must be one of 'text_embedding', "
        "'sparse_embedding', 'rerank', 'completion', 'chat_completion', 'embedding' "
        "(got 'embeddings')",
        "stacks/e2e.yaml: $.endpoints[1].service_settings.api_key: a secret must not be written "
        "in a stack file; reference it as {secret: <config key>} (pulumi config set --secret "
        "<config key> <api_key>) or {env: <VARIABLE>}",
        "stacks/e2e.yaml: $.endpoints[1].task_settings.top_n: must be >= 1 (got 0)",
    ):
        assert line in result.output
    assert "Traceback" not in result.output
    assert "hf_literal_in_the_file" not in result.output
    assert lab.requests() == []


def test_the_api_key_is_encrypted_in_the_state_and_never_printed(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()
    project.set_secret("hfApiKey", HF_KEY_ROTATED)
    project.up()
    project.refresh()

    state = project.export()

    assert HF_KEY_ROTATED not in state
    assert '"ciphertext"' in state
    # The fixture's teardown checks every command's output and every file of the project and backend.


def test_destroy_leaves_the_emulator_without_user_endpoints(
    project: PulumiProject, lab: Lab
) -> None:
    project.up()

    project.destroy()

    assert lab.user_endpoint_ids() == []
    assert lab.endpoint("hf-minilm") is None


@pytest.mark.parametrize("full", [False, True], ids=["default", "full-stack-trace"])
def test_each_resource_keeps_one_stack_frame_its_source_position(
    project: PulumiProject, lab: Lab, full: bool
) -> None:
    # The state is written whole after every step of an up, so each resource's bytes count
    # (providers/sdk_costs.py); ES_INFERENCE_PULUMI_FULL_STACK_TRACE=true keeps the SDK's trace.
    if full:
        project.env["ES_INFERENCE_PULUMI_FULL_STACK_TRACE"] = "true"
    project.up()

    resources = json.loads(project.export())["deployment"]["resources"]
    endpoints = [r for r in resources if r["type"].endswith(":InferenceEndpoint")]

    assert sorted(r["id"] for r in endpoints) == ["hf-minilm", "hf-rerank"]
    for resource in endpoints:
        frames = resource["stackTrace"]
        assert frames[0]["sourcePosition"] == resource["sourcePosition"]
        assert resource["sourcePosition"].split("#")[0].endswith("providers/inference_endpoint.py")
        assert len(frames) > 3 if full else len(frames) == 1


TEARDOWN_WITNESS = """
import atexit, os, sys
atexit.register(lambda: open(os.environ["TEARDOWN_WITNESS"], "a").write(os.path.basename(sys.argv[0]) + "\\n"))
"""


def test_the_program_and_the_provider_host_skip_pythons_teardown_only_after_success(
    project: PulumiProject, lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # providers/quick_exit.py. An exit handler registered as each Python process starts (a
    # sitecustomize on PYTHONPATH) runs only if the process ends through the interpreter's teardown.
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(TEARDOWN_WITNESS)
    witness = site / "teardowns"
    project.env.update(PYTHONPATH=str(site), TEARDOWN_WITNESS=str(witness))

    def teardowns() -> list[str]:
        ended = witness.read_text().split() if witness.exists() else []
        witness.unlink(missing_ok=True)
        # The language host's package listing (scripts/pulumi-python) is a `python -c`.
        return sorted(name for name in ended if name != "-c")

    project.up()

    assert sorted(lab.user_endpoint_ids()) == ["hf-minilm", "hf-rerank"]
    assert teardowns() == []  # neither the program nor the host
    assert project.preview("--expect-no-changes", check=False).returncode == 0
    assert teardowns() == []

    document = stack_document(lab)
    document["endpoints"][0]["task_type"] = "embeddings"
    project.write_stack(document)
    failed = project.preview(check=False)

    assert failed.returncode != 0
    assert "$.endpoints[0].task_type: must be one of" in failed.output
    # The failed program ended as before (Pulumi's runner sets its argv to the program's folder),
    # and so did the provider host it had started early (providers/provider_start.py): it was
    # given no resource, so it never armed the quick exit (python -m pulumi.dynamic: __main__.py).
    assert teardowns() == [".", "__main__.py"]


# What each Python process had frozen (providers/gc_freeze.py): the program when it opened its stack
# file (an audit hook on "open"), every process at each of its garbage collections (a gc callback),
# as "<process> <event> <gc.get_freeze_count()>" lines, written at once (a quick exit skips atexit).
FREEZE_WITNESS = """
import gc, os, sys
def _note(event):
    with open(os.environ["FREEZE_WITNESS"], "a") as out:
        out.write(f"{os.path.basename(sys.argv[0] if sys.argv else '')} {event} {gc.get_freeze_count()}\\n")
def _on_open(event, args):
    if event == "open" and str(args[0]).endswith(os.path.join("stacks", "e2e.yaml")):
        _note("stack-file")
def _on_collection(phase, info):
    if phase == "start":
        _note("collection")
sys.addaudithook(_on_open)
gc.callbacks.append(_on_collection)
"""


@pytest.mark.parametrize("freeze", [True, False], ids=["default", "ES_INFERENCE_GC_FREEZE=false"])
def test_the_program_and_the_host_freeze_what_they_loaded_before_their_work(
    project: PulumiProject, lab: Lab, tmp_path_factory: pytest.TempPathFactory, freeze: bool
) -> None:
    # providers/gc_freeze.py: the program before it reads its stack file, the host after its
    # warm-up; their garbage collections then walk only what the work itself made.
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(FREEZE_WITNESS)
    witness = site / "frozen"
    project.env.update(PYTHONPATH=str(site), FREEZE_WITNESS=str(witness))
    if not freeze:
        project.env["ES_INFERENCE_GC_FREEZE"] = "false"

    project.up()

    assert sorted(lab.user_endpoint_ids()) == ["hf-minilm", "hf-rerank"]
    seen: dict[tuple[str, str], int] = {}
    for line in witness.read_text().splitlines():
        process, event, count = line.split()
        seen[process, event] = max(seen.get((process, event), 0), int(count))
    # Pulumi's runner sets the program's argv to its folder; the host runs pulumi/dynamic/__main__.py.
    program_at_stack_file = seen[".", "stack-file"]
    host_at_collections = seen["__main__.py", "collection"]
    if freeze:
        assert program_at_stack_file > 10_000  # the SDK, gRPC, jsonschema, this package
        assert host_at_collections > 10_000
    else:
        assert program_at_stack_file == 0
        assert host_at_collections == 0


INVOKE_SPAN = "pulumirpc.ResourceMonitor/Invoke"


def _provider_start_and_first_registration(
    spans: list[dict[str, Any]],
) -> tuple[list[float], float, float]:
    """From the CLI's OTel trace: when each resource-provider host started; the first registration;
    the SDK's first call (``GetDeploymentInfo``, once the exec script has imported and set it up)."""
    starts = [
        s["start"]
        for s in spans
        if s["name"] == "newPlugin" and s["attributes"].get("kind") == "resource"
    ]
    registrations = [
        s["start"] for s in spans if s["name"] == "pulumirpc.ResourceMonitor/RegisterResource"
    ]
    sdk_ready = min(
        s["start"] for s in spans if s["name"] == "pulumirpc.ResourceMonitor/GetDeploymentInfo"
    )
    return starts, min(registrations), sdk_ready


@pytest.mark.parametrize(
    "early",
    ["before the SDK's import", "as the program's first act", "off"],
    ids=["scripts/pulumi-python", "plain python", "ES_INFERENCE_EARLY_PROVIDER=false"],
)
def test_the_provider_host_starts_before_the_programs_first_registration(
    project: PulumiProject, lab: Lab, early: str
) -> None:
    # providers/provider_start.py: the engine starts the host when the program's runner asks, before
    # the SDK's import (through scripts/pulumi-python), or as the program's first act (where the
    # language host runs Python itself).
    if early == "as the program's first act":
        project.env["PULUMI_PYTHON_CMD"] = sys.executable
    if early == "off":
        project.env["ES_INFERENCE_EARLY_PROVIDER"] = "false"
    trace = project.root / "trace.json"

    result = project.preview("--refresh", f"--otel-traces=file://{trace}")

    spans = read_spans(trace.read_text())
    starts, first_registration, sdk_ready = _provider_start_and_first_registration(spans)
    assert len(starts) == 1, "one provider host, shared by the early start and the resources"
    assert (starts[0] < first_registration) is (early != "off")
    assert (starts[0] < sdk_ready) is (early == "before the SDK's import")
    invokes = [s for s in spans if s["name"] == INVOKE_SPAN]
    assert len(invokes) == (0 if early == "off" else 1), "asked once, not by both"
    # The invoke's "no such function" is dropped: nothing of it is shown, and the plan is as ever.
    assert "startProviderHost" not in result.output and "Invoke" not in result.output
    steps = project.preview_steps()
    assert {name: step["op"] for name, step in steps.items()} == {
        "hf-minilm": "create",
        "hf-rerank": "create",
    }
