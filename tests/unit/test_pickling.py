"""The provider instance is small, pickled by reference, and never carries a credential (STYLE 7)."""

from __future__ import annotations

import base64
import json
import pickletools
import subprocess
import sys
from pathlib import Path
from typing import Any

import dill
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider

from emulators.lab import lab_servers
from providers.inference_endpoint import InferenceEndpointProvider

SECRETS = {
    "es-inference:apiKey": "ES-API-KEY-SECRET-41c7",
    "es-inference:bearerToken": "ES-BEARER-SECRET-9b02",
    "es-inference:password": "ES-PASSWORD-SECRET-77ad",
    "es-inference:esApiKey": "ES-REFERENCED-SECRET-0e5f",
}
BLOCK = {
    "endpoints": ["http://127.0.0.1:19200"],
    "api_key": {"secret": "esApiKey"},
    "username": "elastic",
    "retry": {"deadline": 5},
}


def provider() -> InferenceEndpointProvider:
    return InferenceEndpointProvider(BLOCK, stack_file="stacks/dev.yaml")


def configured(config: dict[str, Any] | None = None) -> InferenceEndpointProvider:
    instance = provider()
    instance.configure(ConfigureRequest(Config(dict(config or SECRETS), "es-inference")))
    return instance


def blob(instance: InferenceEndpointProvider) -> bytes:
    return base64.b64decode(serialize_provider(instance))


def test_the_provider_round_trips_through_dill() -> None:
    copy = dill.loads(dill.dumps(configured(), recurse=True))
    assert type(copy) is InferenceEndpointProvider
    assert (copy.elasticsearch, copy.stack_file) == (BLOCK, "stacks/dev.yaml")


def test_pulumi_serializes_the_provider_by_reference_in_under_a_kilobyte() -> None:
    serialized = serialize_provider(configured())
    raw = base64.b64decode(serialized)
    assert b"providers.inference_endpoint" in raw
    assert b"InferenceEndpointProvider" in raw
    assert _globals(raw) == [("providers.inference_endpoint", "InferenceEndpointProvider")]
    assert len(serialized) < 1024


def _globals(raw: bytes) -> list[tuple[str, str]]:
    """Every global a pickle loads: one class reference means no code travels by value."""
    found: list[tuple[str, str]] = []
    strings: list[str] = []
    for opcode, arg, _ in pickletools.genops(raw):
        if isinstance(arg, str) and "UNICODE" in opcode.name:
            strings.append(arg)
        elif opcode.name == "STACK_GLOBAL":
            found.append((strings[-2], strings[-1]))
        elif opcode.name == "GLOBAL":
            module, name = str(arg).split(" ", 1)
            found.append((module, name))
    return found


def test_the_serialized_provider_is_deterministic() -> None:
    reordered = InferenceEndpointProvider(dict(reversed(list(BLOCK.items()))), "stacks/dev.yaml")
    assert serialize_provider(provider()) == serialize_provider(reordered)


def test_configure_leaves_nothing_in_the_serialized_provider() -> None:
    assert serialize_provider(configured()) == serialize_provider(provider())


@pytest.mark.parametrize(
    "pickle",
    [
        lambda p: dill.dumps(p, recurse=True),
        blob,
    ],
    ids=["the dill blob carries no credential", "Pulumi's __provider carries no credential"],
)
def test_no_credential_is_ever_pickled(pickle: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELASTICSEARCH_API_KEY", "ES-ENV-SECRET-5d21")
    raw = pickle(configured())
    for secret in [*SECRETS.values(), "ES-ENV-SECRET-5d21"]:
        assert secret.encode() not in raw


def test_no_credential_is_pickled_after_a_call_that_used_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api_key = "ES-USED-SECRET-c3a8"
    with lab_servers(api_key=api_key) as lab:
        monkeypatch.setenv("PULUMI_PROJECT", "es-inference")
        instance = InferenceEndpointProvider({"endpoints": [lab.es_url], "retry": {"deadline": 0}})
        instance.configure(
            ConfigureRequest(Config({"es-inference:apiKey": api_key}, "es-inference"))
        )
        gone = instance.read("hf-e5", {"inference_id": "hf-e5", "task_type": "text_embedding"})
        assert (gone.id, gone.outs) == ("", {})
        assert lab.calls() == ["GET /_inference/_all", "GET /_inference/text_embedding/hf-e5"]
    assert api_key.encode() not in blob(instance)
    assert api_key.encode() not in dill.dumps(instance, recurse=True)


def test_the_unpickled_provider_works_in_a_fresh_process(tmp_path: Path) -> None:
    # Imported by reference: the child has only the blob and the installed package.
    script = """
import base64, json, sys
import dill
provider = dill.loads(base64.b64decode(sys.stdin.read()))
news = {"inference_id": "hf-e5", "task_type": "text_embedding", "service": "hugging_face",
        "service_settings": {"url": "http://127.0.0.1:18080/embed", "api_key": "hf_x"}}
bad = {**news, "inference_id": "HF"}
olds = {**news, "service_settings": {**news["service_settings"], "similarity": "cosine"}}
moved = {**news, "service_settings": {**news["service_settings"], "url": "http://other/embed"}}
diff = provider.diff("hf-e5", olds, moved)
print(json.dumps({
    "class": type(provider).__module__ + "." + type(provider).__qualname__,
    "module_file": sys.modules[type(provider).__module__].__file__,
    "state": [provider.elasticsearch, provider.stack_file],
    "valid": [f.reason for f in provider.check({}, news).failures],
    "invalid": [[f.property, f.reason] for f in provider.check({}, bad).failures],
    "diff": [diff.changes, diff.replaces, diff.delete_before_replace],
}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=serialize_provider(configured()),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["class"] == "providers.inference_endpoint.InferenceEndpointProvider"
    assert result["module_file"] == str(
        Path(__file__).resolve().parents[2] / "providers" / "inference_endpoint.py"
    )
    assert result["state"] == [BLOCK, "stacks/dev.yaml"]
    assert result["valid"] == []
    assert result["invalid"] == [
        [
            "inference_id",
            "stacks/dev.yaml: endpoint 'HF': $.inference_id: must be lowercase letters, digits, "
            "'_', '-' and '.', starting and ending with a letter or digit (got 'HF')",
        ]
    ]
    assert result["diff"] == [True, ["service_settings.url"], True]


def test_states_keep_the_import_path_and_the_blob_the_release_wrote() -> None:
    # Every stored state names this class by its path (tests/fixtures/release_state).
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "release_state"
    deployment = json.loads((fixture / "deployment.json").read_text())["deployment"]
    recorded = {
        r["outputs"]["__provider"]
        for r in deployment["resources"]
        if r["type"] == "pulumi-python:dynamic/elasticsearch:InferenceEndpoint"
    }
    assert len(recorded) == 1
    (blob_then,) = recorded
    assert _globals(base64.b64decode(blob_then)) == [
        ("providers.inference_endpoint", "InferenceEndpointProvider")
    ]
    assert serialize_provider(InferenceEndpointProvider({}, "stacks/e2e.yaml")) == blob_then
