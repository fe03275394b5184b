"""A stack that mixes services, under the real Pulumi CLI: create, secret rotation, drift, destroy.

ELSER on the cluster's ML nodes, OpenAI, Cohere, Azure OpenAI, Amazon Bedrock, Google Vertex AI,
Mistral, Anthropic, Jina AI, Voyage AI and Hugging Face sparse embeddings in one stack file: the
same provider, the schemas alone tell them apart (the third-party calls reach the lab's stand-ins
through the emulator's routing: Bedrock's signed with the AWS key pair, Vertex AI's with the
token the service-account key gets). The `elastic` service has a stack of its own
(`test_elastic_stack.py`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from emulators.lab import (
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    HF_KEY,
    VENDOR_KEY,
    VENDOR_KEY_ROTATED,
    Lab,
    google_service_account,
)
from harness.pulumi_cli import PulumiProject
from providers.cli import main

pytestmark = pytest.mark.e2e


def mixed_stack(lab: Lab) -> dict[str, Any]:
    key = {"secret": "vendorKey"}
    other = {"secret": "otherVendorKey"}
    return {
        "elasticsearch": {"endpoints": [lab.es_url]},
        "endpoints": [
            {
                "inference_id": "elser",
                "task_type": "sparse_embedding",
                "service": "elasticsearch",
                "service_settings": {
                    "model_id": ".elser_model_2",
                    "num_threads": 1,
                    "num_allocations": 1,
                },
            },
            {
                "inference_id": "oai-embed",
                "task_type": "text_embedding",
                "service": "openai",
                "service_settings": {"api_key": key, "model_id": "text-embedding-3-small"},
            },
            {
                "inference_id": "cohere-rerank",
                "task_type": "rerank",
                "service": "cohere",
                "service_settings": {"api_key": key, "model_id": "rerank-v3.5"},
                "task_settings": {"top_n": 3},
            },
            {
                "inference_id": "azure-chat",
                "task_type": "completion",
                "service": "azureopenai",
                "service_settings": {
                    "api_key": {"secret": "azureKey"},
                    "resource_name": "res",
                    "deployment_id": "gpt",
                    "api_version": "2024-10-21",
                },
            },
            {
                "inference_id": "titan",
                "task_type": "text_embedding",
                "service": "amazonbedrock",
                "service_settings": {
                    "access_key": {"secret": "awsAccessKey"},
                    "secret_key": {"secret": "awsSecretKey"},
                    "region": "us-east-1",
                    "model": "amazon.titan-embed-text-v2:0",
                    "provider": "amazontitan",
                },
            },
            {
                "inference_id": "vertex-rerank",
                "task_type": "rerank",
                "service": "googlevertexai",
                "service_settings": {
                    "service_account_json": {"secret": "googleKey"},
                    "project_id": "lab-project",
                },
                "task_settings": {"top_n": 2},
            },
            {
                "inference_id": "mistral-embed",
                "task_type": "text_embedding",
                "service": "mistral",
                "service_settings": {"api_key": other, "model": "mistral-embed"},
            },
            {
                "inference_id": "claude",
                "task_type": "completion",
                "service": "anthropic",
                "service_settings": {"api_key": other, "model_id": "claude-3-5-haiku"},
                "task_settings": {"max_tokens": 64},
            },
            {
                "inference_id": "jina-embed",
                "task_type": "text_embedding",
                "service": "jinaai",
                "service_settings": {"api_key": other, "model_id": "jina-embeddings-v3"},
            },
            {
                "inference_id": "voyage-rerank",
                "task_type": "rerank",
                "service": "voyageai",
                "service_settings": {"api_key": other, "model_id": "rerank-2"},
                "task_settings": {"top_k": 2},
            },
            {
                "inference_id": "hf-sparse",
                "task_type": "sparse_embedding",
                "service": "hugging_face",
                "service_settings": {"url": f"{lab.hf_url}/sparse", "api_key": {"secret": "hfKey"}},
            },
        ],
    }


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_mixed_service_stack_is_created_rotated_repaired_and_destroyed(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    project = PulumiProject(
        tmp_path, env={"ES_INFERENCE_RETRY_DEADLINE": "5", "ES_INFERENCE_TIMEOUT": "10"}
    )
    project.write_stack(mixed_stack(lab))
    assert main(["validate", str(project.stack_file)]) == 0, capsys.readouterr().out
    project.set_secret("vendorKey", VENDOR_KEY)
    project.set_secret("azureKey", VENDOR_KEY)
    project.set_secret("otherVendorKey", VENDOR_KEY)
    project.set_secret("hfKey", HF_KEY)
    project.set_secret("awsAccessKey", AWS_ACCESS_KEY)
    project.set_secret("awsSecretKey", AWS_SECRET_KEY)
    google_key = google_service_account().key_json
    project.set_secret("googleKey", google_key)

    project.up()
    assert lab.user_endpoint_ids() == [
        "azure-chat",
        "claude",
        "cohere-rerank",
        "elser",
        "hf-sparse",
        "jina-embed",
        "mistral-embed",
        "oai-embed",
        "titan",
        "vertex-rerank",
        "voyage-rerank",
    ]
    # Elasticsearch shows the Bedrock provider upper case: still no change.
    assert project.preview("--expect-no-changes", check=False).returncode == 0

    # Rotating one secret replaces exactly the endpoints that use it.
    project.set_secret("vendorKey", VENDOR_KEY_ROTATED)
    steps = project.preview_steps()
    assert {name: step["op"] for name, step in steps.items()} == {
        "oai-embed": "replace",
        "cohere-rerank": "replace",
    }
    assert steps["oai-embed"]["replaceReasons"] == ["service_settings.api_key"]
    project.up()
    assert lab.key_hash("oai-embed") == sha256(VENDOR_KEY_ROTATED)
    assert lab.key_hash("azure-chat") == sha256(VENDOR_KEY)

    # Drift made out of band shows on refresh and the next up restores the declaration.
    lab.patch("cohere-rerank", {"task_settings": {"top_n": 9}})
    lab.es.put(
        "/_inference/elser/_update", json={"service_settings": {"num_allocations": 4}}
    ).raise_for_status()
    project.refresh()
    steps = project.preview_steps()
    # On 9.1 an _update would reset the ELSER endpoint's chunking, so its drift is replaced.
    assert {name: step["op"] for name, step in steps.items()} == {
        "cohere-rerank": "update",
        "elser": "replace",
    }
    project.up()
    assert lab.endpoint("cohere-rerank")["task_settings"] == {"top_n": 3}  # type: ignore[index]
    assert lab.endpoint("elser")["service_settings"]["num_allocations"] == 1  # type: ignore[index]
    assert project.preview("--expect-no-changes", check=False).returncode == 0

    project.destroy()
    assert lab.user_endpoint_ids() == []
    everything = project.all_output()
    assert VENDOR_KEY not in everything and VENDOR_KEY_ROTATED not in everything
    assert HF_KEY not in everything
    assert AWS_SECRET_KEY not in everything and AWS_ACCESS_KEY not in everything
    private_key = json.loads(google_key)["private_key"]
    assert private_key not in everything and "PRIVATE KEY" not in everything
