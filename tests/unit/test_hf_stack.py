"""The stack file's ``huggingface_endpoints:`` section: a valid/invalid table per rule, references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.errors import DeclarationError
from providers.hf_stack import HfUrlReference
from providers.secret_references import SecretReference
from providers.stack import load_stack, stack_problems

HF_TOKEN_VALUE = "hf_literal_TOKEN_abcdef"


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "minilm",
        "repository": "sentence-transformers/all-MiniLM-L6-v2",
        "task": "sentence-embeddings",
        "accelerator": "cpu",
        "vendor": "aws",
        "region": "us-east-1",
        "instance_type": "intel-spr",
        "instance_size": "x2",
        "token": {"env": "HF_TOKEN"},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def document(*hf: dict[str, Any], url: Any = None) -> dict[str, Any]:
    settings = {"url": url or {"huggingface_endpoint": "minilm"}, "api_key": {"env": "HF_TOKEN"}}
    return {
        "huggingface_endpoints": list(hf),
        "endpoints": [
            {
                "inference_id": "es-minilm",
                "task_type": "text_embedding",
                "service": "hugging_face",
                "service_settings": settings,
            }
        ],
    }


def problems_of(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return [str(p) for p in stack_problems(path, "stacks/dev.yaml")]


def test_a_declaration_loads_with_references_and_the_es_url_names_the_hf_endpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stack.yaml"
    doc = document(entry(secrets={"PRIVATE": {"secret": "privateValue"}}))
    doc["huggingface"] = {"api_url": "http://127.0.0.1:1/v2"}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    loaded = load_stack(path, "stacks/dev.yaml")
    (hf,) = loaded.huggingface_endpoints
    assert (hf.path, hf.name) == ("$.huggingface_endpoints[0]", "minilm")
    assert hf.token == SecretReference("env", "HF_TOKEN")
    assert hf.secrets == {"PRIVATE": SecretReference("secret", "privateValue")}
    assert "token" not in hf.fields and "secrets" not in hf.fields
    assert loaded.huggingface == {"api_url": "http://127.0.0.1:1/v2"}
    assert loaded.endpoints[0].service_settings["url"] == HfUrlReference("minilm")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"token": HF_TOKEN_VALUE},
            "$.huggingface_endpoints[0].token: a secret must not be written in a stack file",
        ),
        (
            {"token": {"vault": "x"}},
            "$.huggingface_endpoints[0].token: must be {secret: <config key>} or {env: <VARIABLE>}",
        ),
        (
            {"secrets": {"API": HF_TOKEN_VALUE}},
            "$.huggingface_endpoints[0].secrets.API: a secret must not be written",
        ),
        ({"token": None}, "$.huggingface_endpoints[0]: missing required field 'token'"),
        (
            {"name": "My_Endpoint"},
            "$.huggingface_endpoints[0].name: must be 1 to 32 lowercase letters, digits and '-'",
        ),
        (
            {"accelerator": "tpu"},
            "$.huggingface_endpoints[0].accelerator: must be one of 'cpu', 'gpu', 'neuron'",
        ),
        (
            {"type": "protected"},
            "$.huggingface_endpoints[0].type: must be one of 'private', 'authenticated', 'public'",
        ),
        (
            {"scale_to_zero_timeout": 15},
            "$.huggingface_endpoints[0]: scale_to_zero_timeout needs min_replica: 0",
        ),
        (
            {"scale_to_zero_timeout": 15, "min_replica": 1},
            "$.huggingface_endpoints[0].min_replica: must be 0 when scale_to_zero_timeout is set",
        ),
        (
            {"min_replica": 0},
            "$.huggingface_endpoints[0]: min_replica: 0 needs scale_to_zero_timeout",
        ),
        (
            {"min_replica": 3, "max_replica": 2},
            "$.huggingface_endpoints[0].min_replica: must be <= max_replica (2) (got 3)",
        ),
        (
            {"image": "vllm"},
            "$.huggingface_endpoints[0].image: must be 'default', 'tei', 'tgi' or a custom image",
        ),
        (
            {"env": {"1BAD": "x"}},
            "$.huggingface_endpoints[0].env: must be an environment variable name",
        ),
        (
            {"instance_size": "large"},
            "$.huggingface_endpoints[0].instance_size: must be an instance size such as x2",
        ),
        ({"colour": "red"}, "$.huggingface_endpoints[0]: unknown field 'colour'"),
    ],
    ids=[
        "a literal token is refused",
        "a token must be a secret or env reference",
        "a literal secret value is refused",
        "the token is required",
        "the name follows HF's rule",
        "the accelerator is cpu, gpu or neuron",
        "type is private, authenticated or public",
        "scale_to_zero_timeout needs min_replica",
        "scale_to_zero_timeout needs min_replica 0",
        "min_replica 0 needs scale_to_zero_timeout",
        "min_replica is at most max_replica",
        "image is default, tei, tgi or custom",
        "env names are variable names",
        "instance sizes look like x2",
        "unknown fields are refused",
    ],
)
def test_each_rule_is_reported_with_the_file_path_and_rule(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    found = problems_of(tmp_path, document(entry(**changes)))
    assert any(p.startswith(expected) for p in found), found
    assert all(HF_TOKEN_VALUE not in p for p in found)


def test_an_es_url_naming_an_undeclared_hf_endpoint_is_an_error(tmp_path: Path) -> None:
    found = problems_of(tmp_path, document(entry(), url={"huggingface_endpoint": "other"}))
    assert found == [
        "$.endpoints[0].service_settings.url: no huggingface_endpoints entry is named 'other' "
        "(declared: minilm)"
    ]


def test_a_name_declared_twice_in_a_namespace_is_an_error(tmp_path: Path) -> None:
    found = problems_of(tmp_path, document(entry(), entry()))
    assert found == [
        "$.huggingface_endpoints[1].name: 'minilm' is declared twice "
        "(first at $.huggingface_endpoints[0])"
    ]


def test_load_stack_lists_every_problem_prefixed_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(document(entry(token=HF_TOKEN_VALUE, region="EU"))))
    with pytest.raises(DeclarationError) as caught:
        load_stack(path, "stacks/dev.yaml")
    assert caught.value.problems == [
        "stacks/dev.yaml: $.huggingface_endpoints[0].region: must be a region such as us-east-1 "
        "(got 'EU')",
        "stacks/dev.yaml: $.huggingface_endpoints[0].token: a secret must not be written in a "
        "stack file; reference it as {secret: <config key>} (pulumi config set --secret "
        "<config key> <value>) or {env: <VARIABLE>}",
    ]
    assert HF_TOKEN_VALUE not in str(caught.value)
