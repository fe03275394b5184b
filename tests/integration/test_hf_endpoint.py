"""HuggingFaceEndpoint through Pulumi's dynamic-provider host, chained into Elasticsearch.

The ladder runs as the engine would across commands: create (wait for running) -> the
Elasticsearch endpoint with its URL -> in-place compute change (ES untouched) -> region change
(replace; the ES endpoint is replaced with the new URL) -> out-of-band pause -> refresh -> up
resumes -> destroy in order (ES first). Faults at every step converge with nothing orphaned.
Rules H1-H6 are those of ``providers.hf_model``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.rpc import UNKNOWN

from emulators.huggingface.endpoints_api import Timing
from emulators.lab import HF_KEY, HF_NAMESPACE, Lab, lab_servers
from harness.provider_host import HostError, ProviderHost, serialized
from providers.huggingface_endpoint import HuggingFaceEndpointProvider
from providers.inference_endpoint import InferenceEndpointProvider
from tests.integration.helpers import FAST_RETRIES, public

DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME
FAST = Timing(pending=0.05, initializing=0.1, updating=0.05, cold_start=0.05)
STACK_FILE = "stacks/dev.yaml"


@pytest.fixture
def lab() -> Iterator[Lab]:
    with lab_servers(endpoints_api=FAST) as running:
        yield running


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ProviderHost]:
    started = ProviderHost(str(tmp_path), env={**FAST_RETRIES, "HF_ENDPOINTS_API_URL": ""})
    started.configure()
    yield started
    stderr = started.close()
    assert HF_KEY not in stderr, "the HF token appeared in the provider host's stderr"


def hf(lab: Lab, **fields: Any) -> dict[str, Any]:
    """The inputs of the tutorial's endpoint: sentence embeddings on a CPU instance."""
    settings = {"api_url": lab.endpoints_api, "hub_url": lab.endpoints_url, "poll_interval": 0.02}
    base: dict[str, Any] = {
        "__provider": serialized(HuggingFaceEndpointProvider(settings, stack_file=STACK_FILE)),  # type: ignore[arg-type]
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
        "env": {"MAX_BATCH_TOKENS": "16384"},
        "token": HF_KEY,
        "used_by": ["es-minilm"],
        "wait_timeout": 20,
    }
    return {**base, **fields}


def es(lab: Lab, url: str) -> dict[str, Any]:
    provider = InferenceEndpointProvider({"endpoints": [lab.es_url]}, stack_file=STACK_FILE)
    return {
        "__provider": serialized(provider),
        "inference_id": "es-minilm",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {"url": url, "api_key": HF_KEY},
    }


def raised(call: Callable[[], object]) -> str:
    with pytest.raises(HostError) as caught:
        call()
    return caught.value.details


def created(host: ProviderHost, lab: Lab, **fields: Any) -> tuple[str, dict[str, Any]]:
    news = hf(lab, **fields)
    checked, failures = host.check({}, news)
    assert failures == []
    return host.create(checked)


def test_the_ladder_create_chain_update_replace_pause_refresh_destroy(
    host: ProviderHost, lab: Lab
) -> None:
    # create: waits until running and healthy (H1-H3 recorded)
    hf_id, hf_outs = created(host, lab)
    assert hf_id == f"{HF_NAMESPACE}/minilm"
    assert hf_outs["state"] == "running"
    url = hf_outs["url"]
    assert url.startswith(lab.endpoints_url)
    assert (lab.hf_endpoint("minilm") or {})["status"]["state"] == "running"

    # chain: Elasticsearch validates against the served URL end to end
    es_news = es(lab, url)
    es_checked, failures = host.check({}, es_news)
    assert failures == []
    _, es_outs = host.create(es_checked)
    assert es_outs["service_settings"]["dimensions"] == 384

    # in-place compute change: update, same URL, so Elasticsearch has no diff (H2)
    bigger = host.check(hf_outs, hf(lab, instance_size="x4"))[0]
    response = host.diff(hf_id, hf_outs, bigger)
    assert (response.changes, list(response.replaces)) == (DIFF_SOME, [])
    hf_outs = host.update(hf_id, hf_outs, bigger)
    assert (hf_outs["instance_size"], hf_outs["url"], hf_outs["state"]) == ("x4", url, "running")
    es_diff = host.diff("es-minilm", es_outs, host.check(es_outs, es(lab, hf_outs["url"]))[0])
    assert es_diff.changes == DIFF_NONE

    # region change: replace, delete first (same name, H1); the ES endpoint sees an unknown URL
    moved = host.check(hf_outs, hf(lab, region="eu-west-1", instance_size="x4"))[0]
    response = host.diff(hf_id, hf_outs, moved)
    assert (list(response.replaces), response.deleteBeforeReplace) == (["region"], True)
    es_diff = host.diff("es-minilm", es_outs, es(lab, UNKNOWN))
    assert list(es_diff.replaces) == ["service_settings.url"]
    host.delete("es-minilm", es_outs)  # the engine deletes dependents first
    host.delete(hf_id, hf_outs)
    hf_id, hf_outs = host.create(moved)
    assert hf_outs["region"] == "eu-west-1"
    assert hf_outs["url"] != url
    _, es_outs = host.create(host.check({}, es(lab, hf_outs["url"]))[0])
    assert es_outs["service_settings"]["url"] == hf_outs["url"]

    # out-of-band pause: refresh sees it, up resumes it (H6)
    lab.hf_action("minilm", "pause")
    read_id, refreshed = host.read(hf_id, hf_outs)
    assert (read_id, refreshed["state"]) == (hf_id, "paused")
    response = host.diff(hf_id, refreshed, moved)
    assert (response.changes, list(response.replaces)) == (DIFF_SOME, [])
    hf_outs = host.update(hf_id, refreshed, moved)
    assert hf_outs["state"] == "running"

    # out-of-band config change: refresh shows the drift, up restores it
    lab.hf_update("minilm", {"model": {"env": {}}})
    _, refreshed = host.read(hf_id, hf_outs)
    assert refreshed["env"] == {}
    hf_outs = host.update(hf_id, refreshed, moved)
    assert (lab.hf_endpoint("minilm") or {})["model"]["env"] == {"MAX_BATCH_TOKENS": "16384"}

    # destroy in order: Elasticsearch first, then Hugging Face; nothing left on either side
    host.delete("es-minilm", es_outs)
    host.delete(hf_id, hf_outs)
    assert lab.user_endpoint_ids() == []
    assert lab.hf_endpoint_names() == []
    assert HF_KEY not in str({k: v for k, v in public(hf_outs).items() if k != "token"})


def test_refresh_of_an_endpoint_deleted_out_of_band_drops_it_from_state(
    host: ProviderHost, lab: Lab
) -> None:
    hf_id, hf_outs = created(host, lab)
    lab.hf_delete("minilm")
    read_id, outs = host.read(hf_id, hf_outs)
    assert (read_id, public(outs)) == ("", {})
    host.delete(hf_id, hf_outs)  # already gone is done


def test_a_failed_build_reports_hf_message_and_leaves_nothing(host: ProviderHost, lab: Lab) -> None:
    lab.hf_build_fault("create", message="Error: model weights not found")
    news = host.check({}, hf(lab))[0]
    message = raised(lambda: host.create(news))
    assert "the endpoint is failed: Error: model weights not found" in message
    assert "The endpoint was deleted so nothing is left behind" in message
    assert lab.hf_endpoint_names() == []
    _, outs = host.create(news)  # the next up converges
    assert outs["state"] == "running"


def test_an_update_failure_reports_hf_message_and_the_next_up_converges(
    host: ProviderHost, lab: Lab
) -> None:
    hf_id, hf_outs = created(host, lab)
    lab.hf_build_fault("update", message="Error: revision does not exist")
    news = host.check(hf_outs, hf(lab, revision="abc123"))[0]
    message = raised(lambda: host.update(hf_id, hf_outs, news))
    assert "the endpoint is updateFailed: Error: revision does not exist" in message
    outs = host.update(hf_id, hf_outs, news)  # the engine kept the old outputs
    assert (outs["revision"], outs["state"]) == ("abc123", "running")


def test_a_dropped_env_update_is_caught_by_read_after_write(host: ProviderHost, lab: Lab) -> None:
    hf_id, hf_outs = created(host, lab)
    lab.hfe.put("/_emulator/quirks", json={"drop_env_updates": True}).raise_for_status()
    news = host.check(hf_outs, hf(lab, env={"MAX_BATCH_TOKENS": "8192"}))[0]
    message = raised(lambda: host.update(hf_id, hf_outs, news))
    assert "Hugging Face accepted the update but did not apply env" in message
    assert "huggingface_hub#3026" in message


def test_paused_with_on_paused_refuse_stops_before_anything_changes(
    host: ProviderHost, lab: Lab
) -> None:
    hf_id, hf_outs = created(host, lab, on_paused="refuse")
    lab.hf_action("minilm", "pause")
    _, refreshed = host.read(hf_id, hf_outs)
    news = host.check(refreshed, hf(lab, on_paused="refuse"))[0]
    message = raised(lambda: host.update(hf_id, refreshed, news))
    assert "elastic/elasticsearch#112033" in message
    assert (lab.hf_endpoint("minilm") or {})["status"]["state"] == "paused"


def test_a_scaled_to_zero_endpoint_is_woken_and_waited_for(host: ProviderHost, lab: Lab) -> None:
    hf_id, hf_outs = created(host, lab, min_replica=0, scale_to_zero_timeout=15)
    lab.hf_action("minilm", "scale-to-zero")
    news = host.check(hf_outs, hf(lab, min_replica=0, scale_to_zero_timeout=30))[0]
    outs = host.update(hf_id, hf_outs, news)
    assert (outs["scale_to_zero_timeout"], outs["state"]) == (30, "running")


@pytest.mark.parametrize(
    "fault",
    [
        {"action": "status", "status": 429, "retry_after": "0", "times": 2},
        {"action": "status", "status": 503, "times": 2},
        {"action": "drop", "times": 1},
    ],
    ids=["429 is retried", "503 is retried", "a dropped connection is retried"],
)
def test_api_faults_on_every_call_of_create_are_retried(
    host: ProviderHost, lab: Lab, fault: dict[str, Any]
) -> None:
    lab.hfe_fault(path="/v2/*", **fault)
    _, outs = created(host, lab)
    assert outs["state"] == "running"
    assert lab.hf_endpoint_names() == ["minilm"]


def test_a_create_whose_response_is_lost_adopts_the_endpoint_it_made(
    host: ProviderHost, lab: Lab
) -> None:
    lab.hfe_fault(method="POST", path="/v2/endpoint/*", action="commit_then_drop")
    _, outs = created(host, lab)
    assert outs["state"] == "running"
    assert lab.hf_endpoint_names() == ["minilm"]


def test_check_reports_every_problem_with_its_path_and_no_token(
    host: ProviderHost, lab: Lab
) -> None:
    _, failures = host.check(
        {}, hf(lab, min_replica=2, max_replica=1, scale_to_zero_timeout=5, name="Bad")
    )
    reasons = [reason for _, reason in failures]
    assert any("$.name: must be 1 to 32 lowercase letters" in r for r in reasons)
    assert any("$.min_replica: must be 0 when scale_to_zero_timeout is set" in r for r in reasons)
    assert any("$.min_replica: must be <= max_replica (1) (got 2)" in r for r in reasons)
    assert all(HF_KEY not in r for r in reasons)


def test_a_build_slower_than_wait_timeout_stops_at_the_deadline_and_leaves_nothing(
    host: ProviderHost, lab: Lab
) -> None:
    lab.hfe.put("/_emulator/timing", json={"initializing": 30}).raise_for_status()
    news = host.check({}, hf(lab, wait_timeout=0.5))[0]
    message = raised(lambda: host.create(news))
    assert "not running after 0.5s (wait_timeout); the last state was initializing" in message
    assert lab.hf_endpoint_names() == []


def test_an_es_create_that_fails_after_the_hf_endpoint_runs_converges_on_the_next_up(
    host: ProviderHost, lab: Lab
) -> None:
    _, hf_outs = created(host, lab)
    lab.fault(method="PUT", path="/_inference/*", action="status", status=500, times=-1)
    es_news = host.check({}, es(lab, hf_outs["url"]))[0]
    raised(lambda: host.create(es_news))
    assert lab.user_endpoint_ids() == []
    lab.clear_faults()
    _, es_outs = host.create(es_news)
    assert es_outs["service_settings"]["url"] == hf_outs["url"]
    assert lab.hf_endpoint_names() == ["minilm"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/v2/endpoint/*"), ("DELETE", "/v2/endpoint/*"), ("GET", "/v2/endpoint/*")],
    ids=["update", "delete", "read"],
)
def test_a_lasting_api_error_fails_the_step_and_the_rerun_converges(
    host: ProviderHost, lab: Lab, method: str, path: str
) -> None:
    hf_id, hf_outs = created(host, lab)
    news = host.check(hf_outs, hf(lab, max_replica=2))[0]
    lab.hfe_fault(method=method, path=path, action="status", status=500, times=-1)
    step: dict[str, Callable[[], object]] = {
        "PUT": lambda: host.update(hf_id, hf_outs, news),
        "DELETE": lambda: host.delete(hf_id, hf_outs),
        "GET": lambda: host.read(hf_id, hf_outs),
    }
    message = raised(step[method])
    assert "failed: 500 injected fault" in message
    assert HF_KEY not in message
    lab.hfe.delete("/_emulator/faults").raise_for_status()
    step[method]()
    expected = [] if method == "DELETE" else ["minilm"]
    assert lab.hf_endpoint_names() == expected
