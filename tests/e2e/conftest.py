"""Fixtures for the real-engine tier: a project folder with a fresh backend, wired to the lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab
from harness.pulumi_cli import PulumiProject

pytestmark = pytest.mark.e2e


def stack_document(lab: Lab, *, top_n: int = 3, force: bool = False) -> dict[str, Any]:
    """The two-endpoint stack the tests start from (text_embedding + rerank)."""
    rerank: dict[str, Any] = {
        "inference_id": "hf-rerank",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": {"secret": "hfApiKey"}},
        "task_settings": {"return_documents": True, "top_n": top_n},
    }
    embed: dict[str, Any] = {
        "inference_id": "hf-minilm",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/embed", "api_key": {"secret": "hfApiKey"}},
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
    }
    if force:
        embed["force"] = True
    return {"elasticsearch": {"endpoints": [lab.es_url]}, "endpoints": [embed, rerank]}


@pytest.fixture
def project(tmp_path: Path, lab: Lab) -> Iterator[PulumiProject]:
    """A stack with the two-endpoint declaration and the secret hfApiKey set; nothing applied."""
    created = PulumiProject(
        tmp_path, env={"ES_INFERENCE_RETRY_DEADLINE": "5", "ES_INFERENCE_TIMEOUT": "10"}
    )
    created.write_stack(stack_document(lab))
    created.set_secret("hfApiKey", HF_KEY)
    yield created
    everything = created.all_output()
    for secret in (HF_KEY, HF_KEY_ROTATED):
        assert secret not in everything, "a test api key was printed or stored in plaintext"
