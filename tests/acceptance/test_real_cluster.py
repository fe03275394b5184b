"""The scenario ladder against a real Elasticsearch (opt-in; see conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.provider_host import HostError, ProviderHost, serialized
from providers.inference_endpoint import InferenceEndpointProvider
from tests.acceptance.conftest import CLUSTER_ENV

KEY = "hf_acceptance_key_1"
ROTATED = "hf_acceptance_key_2"


@pytest.fixture
def host(tmp_path: Path, cluster: httpx.Client) -> Iterator[ProviderHost]:
    del cluster
    started = ProviderHost(str(tmp_path), env=CLUSTER_ENV)
    started.configure({})
    yield started
    stderr = started.close()
    assert KEY not in stderr and ROTATED not in stderr


def _inputs(inference_id: str, key: str, top_n: int, force: bool = False) -> dict[str, Any]:
    provider = InferenceEndpointProvider({}, stack_file="")
    return {
        "__provider": serialized(provider),
        "inference_id": inference_id,
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": "https://hf.invalid/rerank", "api_key": key},
        "task_settings": {"return_documents": True, "top_n": top_n},
        "force": force,
    }


def test_the_rerank_ladder_holds_on_a_real_cluster(
    host: ProviderHost, cluster: httpx.Client
) -> None:
    inference_id = f"test-inference-{secrets.token_hex(4)}"
    pipeline = f"test-pipeline-{secrets.token_hex(4)}"
    news = _inputs(inference_id, KEY, 3)
    try:
        id_, outs = host.create(news)
        assert id_ == inference_id
        assert host.diff(id_, outs, news).changes == 1  # DIFF_NONE: no perpetual diff

        updated = _inputs(inference_id, KEY, 5)
        assert list(host.diff(id_, outs, updated).replaces) == []
        outs = host.update(id_, outs, updated)
        assert outs["task_settings"]["top_n"] == 5

        rotated = _inputs(inference_id, ROTATED, 5)
        assert list(host.diff(id_, outs, rotated).replaces) == ["service_settings.api_key"]

        body = {"processors": [{"inference": {"model_id": inference_id}}]}
        cluster.put(f"/_ingest/pipeline/{pipeline}", json=body).raise_for_status()
        with pytest.raises(HostError) as refused:
            host.delete(id_, outs)
        assert f"ingest pipelines ['{pipeline}']" in refused.value.details
        assert cluster.get(f"/_inference/{inference_id}").status_code == 200

        host.delete(id_, {**outs, "force": True})
        assert cluster.get(f"/_inference/{inference_id}").status_code == 404
        host.delete(id_, outs)  # 404 is success
    finally:
        cluster.delete(f"/_ingest/pipeline/{pipeline}")
        cluster.delete(f"/_inference/{inference_id}", params={"force": "true"})
