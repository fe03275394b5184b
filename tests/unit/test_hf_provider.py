"""The HF provider object: small, pickled by reference, no credential; check is offline."""

from __future__ import annotations

import dill
from pulumi.output import Unknown

from providers import HuggingFaceEndpointProvider
from providers.hf_client import DEFAULT_API_URL, DEFAULT_HUB_URL, hf_settings

TOKEN = "hf_unit_TOKEN_0f9e8d"
INPUTS = {
    "name": "minilm",
    "repository": "sentence-transformers/all-MiniLM-L6-v2",
    "accelerator": "cpu",
    "vendor": "aws",
    "region": "us-east-1",
    "instance_type": "intel-spr",
    "instance_size": "x2",
    "token": TOKEN,
}


def test_the_pickled_provider_holds_only_its_settings() -> None:
    provider = HuggingFaceEndpointProvider({"api_url": "http://127.0.0.1:1/v2"}, "stacks/dev.yaml")
    provider.check({}, dict(INPUTS))
    blob = dill.dumps(provider, recurse=True)
    assert TOKEN.encode() not in blob
    again = dill.loads(blob)
    assert (again.huggingface, again.stack_file) == (
        {"api_url": "http://127.0.0.1:1/v2"},
        "stacks/dev.yaml",
    )


def test_check_fills_the_defaults_and_skips_unknown_values_offline() -> None:
    provider = HuggingFaceEndpointProvider({"api_url": "http://127.0.0.1:9/v2"})
    unknown = Unknown()  # type: ignore[no-untyped-call]
    result = provider.check({}, {**INPUTS, "revision": unknown})
    assert result.failures == []
    assert (result.inputs["min_replica"], result.inputs["type"], result.inputs["image"]) == (
        1,
        "authenticated",
        "default",
    )


def test_settings_come_from_the_stack_file_then_the_environment_then_hf() -> None:
    assert hf_settings({}, {}).api_url == DEFAULT_API_URL
    assert hf_settings({}, {}).hub_url == DEFAULT_HUB_URL
    env = {"HF_ENDPOINTS_API_URL": "http://127.0.0.1:2/v2/", "HF_ENDPOINT": "http://127.0.0.1:2"}
    assert (hf_settings({}, env).api_url, hf_settings({}, env).hub_url) == (
        "http://127.0.0.1:2/v2",
        "http://127.0.0.1:2",
    )
    assert hf_settings({"api_url": "http://127.0.0.1:3/v2"}, env).api_url == "http://127.0.0.1:3/v2"
