"""The behaviour matrix and the per-version scenarios against a real cluster (opt-in).

The probes send raw requests and compare what the cluster does with the matrix's best reading
(``holds``) for its version: a failure names the row to correct, with the version it ran on. The
scenarios are those of tests/integration/test_versions.py, through Pulumi's provider host.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.provider_host import ProviderHost, serialized
from providers.behaviour import load_behaviour
from providers.inference_endpoint import InferenceEndpointProvider
from providers.versions import Version
from tests.acceptance.conftest import CLUSTER_ENV

KEY = "hf_acceptance_key_1"
ROTATED = "hf_acceptance_key_2"
CUSTOM = {"strategy": "sentence", "max_chunk_size": 120, "sentence_overlap": 0}
URL = "https://hf.invalid/embed"


@pytest.fixture
def endpoint(cluster: httpx.Client) -> Iterator[tuple[str, Version]]:
    """A fresh text_embedding endpoint with custom chunking, deleted afterwards."""
    inference_id = f"test-inference-{secrets.token_hex(4)}"
    body = {
        "service": "hugging_face",
        "service_settings": {"url": URL, "api_key": KEY, "dimensions": 384},
        "chunking_settings": CUSTOM,
    }
    cluster.put(f"/_inference/text_embedding/{inference_id}", json=body).raise_for_status()
    version = Version.parse(cluster.get("/").json()["version"]["number"])
    try:
        yield inference_id, version
    finally:
        cluster.delete(f"/_inference/{inference_id}", params={"force": "true"})


def _row(rule_id: str, version: Version) -> tuple[bool, str]:
    rule = load_behaviour().rule(rule_id)
    return rule.holds_on(version), f"behaviour/elasticsearch.yaml {rule_id} on {version}"


def test_the_chunking_reset_row_matches_this_cluster(
    cluster: httpx.Client, endpoint: tuple[str, Version]
) -> None:
    inference_id, version = endpoint
    path = f"/_inference/text_embedding/{inference_id}"
    cluster.put(f"{path}/_update", json={"service_settings": {"api_key": ROTATED}})
    shown = cluster.get(path).json()["endpoints"][0]["chunking_settings"]
    holds, row = _row("update.chunking_reset", version)
    assert (shown != CUSTOM) == holds, row


def test_the_secret_row_matches_this_cluster(
    cluster: httpx.Client, endpoint: tuple[str, Version]
) -> None:
    inference_id, version = endpoint
    body = {"service_settings": {"rate_limit": {"requests_per_minute": 600}}}
    answer = cluster.put(f"/_inference/text_embedding/{inference_id}/_update", json=body)
    holds, row = _row("update.secret_required_with_service_settings", version)
    assert (answer.status_code == 400 and "api_key" in answer.text) == holds, row


def test_the_update_body_row_matches_this_cluster(
    cluster: httpx.Client, endpoint: tuple[str, Version]
) -> None:
    inference_id, version = endpoint
    body = {"chunking_settings": {"strategy": "word", "max_chunk_size": 100, "overlap": 20}}
    answer = cluster.put(f"/_inference/text_embedding/{inference_id}/_update", json=body)
    holds, row = _row("update.body_fields", version)
    assert ("cannot be updated" in answer.text) == holds, row


@pytest.fixture
def host(tmp_path: Path, cluster: httpx.Client) -> Iterator[ProviderHost]:
    del cluster
    started = ProviderHost(str(tmp_path), env=CLUSTER_ENV)
    started.configure({})
    yield started
    stderr = started.close()
    assert KEY not in stderr and ROTATED not in stderr


def _inputs(inference_id: str, key: str = KEY, **changes: Any) -> dict[str, Any]:
    settings = {"url": URL, "api_key": key, "dimensions": 384, **changes.pop("settings", {})}
    return {
        "__provider": serialized(InferenceEndpointProvider({}, stack_file="")),
        "inference_id": inference_id,
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": settings,
        "chunking_settings": CUSTOM,
        **changes,
    }


SCENARIOS = {
    "rate_limit": {"settings": {"rate_limit": {"requests_per_minute": 600}}},
    "chunking": {"chunking_settings": {"strategy": "word", "max_chunk_size": 100, "overlap": 20}},
    "rotation (secret_rotation: update)": {"key": ROTATED, "secret_rotation": "update"},
    "rotation (secret_rotation: replace)": {"key": ROTATED},
    "url": {"settings": {"url": "https://hf.invalid/embed-2"}},
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_change_ends_with_state_equal_to_the_cluster(
    host: ProviderHost, cluster: httpx.Client, scenario: str
) -> None:
    inference_id = f"test-inference-{secrets.token_hex(4)}"
    change: dict[str, Any] = dict(SCENARIOS[scenario])  # type: ignore[call-overload]
    key = str(change.pop("key", KEY))
    mode = {"secret_rotation": change["secret_rotation"]} if "secret_rotation" in change else {}
    try:
        _, outs = host.create(_inputs(inference_id, **mode))
        news = _inputs(inference_id, key, **change)
        if list(host.diff(inference_id, outs, news).replaces):
            host.delete(inference_id, outs)
            _, outs = host.create(news)
        else:
            outs = host.update(inference_id, outs, news)
        live = cluster.get(f"/_inference/{inference_id}").json()["endpoints"][0]
        recorded = {k: v for k, v in outs["service_settings"].items() if k != "api_key"}
        assert recorded == live["service_settings"]
        assert outs.get("chunking_settings") == live.get("chunking_settings")
        assert host.diff(inference_id, outs, news).changes == 1  # DIFF_NONE
    finally:
        cluster.delete(f"/_inference/{inference_id}", params={"force": "true"})
