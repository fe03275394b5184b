"""`es-inference export` and `validate` cover every service: GET's view of any endpoint exports
to a stack file that validates, declaring the secrets the schema's rules say it must hold."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from providers.export import render, stack_document
from providers.schema import load_schemas
from providers.stack import stack_problems
from tests.unit.test_service_schemas import VALID

SCHEMAS = load_schemas()


def live_view(
    service: str, task_type: str, settings: dict[str, Any], top: dict[str, Any]
) -> dict[str, Any]:
    """The endpoint as GET shows it: secrets gone, each service's rate limit filled in."""
    schema = SCHEMAS.endpoint(service, task_type)
    assert schema is not None
    shown = {
        k: v
        for k, v in settings.items()
        if ("service_settings", k) not in schema.rules
        or not schema.rules[("service_settings", k)].secret
    }
    rate = schema.rules.get(("service_settings", "rate_limit"))
    if rate is not None and rate.has_default and "rate_limit" not in shown:
        shown["rate_limit"] = copy.deepcopy(rate.default)
    return {
        "inference_id": "e",
        "task_type": task_type,
        "service": service,
        "service_settings": shown,
        **copy.deepcopy(top),
    }


@pytest.mark.parametrize(
    ("service", "task_type", "settings", "top"),
    [v[1:] for v in VALID],
    ids=[f"{v[0]} exports to a valid stack" for v in VALID],
)
def test_an_exported_endpoint_of_each_service_validates(
    tmp_path: Path, service: str, task_type: str, settings: dict[str, Any], top: dict[str, Any]
) -> None:
    exported = stack_document([live_view(service, task_type, settings, top)], SCHEMAS)
    path = tmp_path / "exported.yaml"
    path.write_text(render(exported, "a test"), encoding="utf-8")

    assert stack_problems(path) == []
    entry = exported.document["endpoints"][0]
    secrets = sorted(
        k
        for k, v in entry["service_settings"].items()
        if isinstance(v, dict) and set(v) == {"secret"}
    )
    declared = SCHEMAS.endpoint(service, task_type)
    assert declared is not None
    names = {str(p[1]) for p in declared.secret_paths}
    assert set(secrets) <= names
    if names:
        assert secrets, "an endpoint with secrets exports at least one reference"


def test_oauth2_credentials_export_the_client_secret_not_an_api_key() -> None:
    live = live_view(
        "openai",
        "completion",
        {
            "client_id": "c",
            "scopes": ["a"],
            "token_url": "http://127.0.0.1:1/t",
            "model_id": "gpt-4o",
        },
        {},
    )
    settings = stack_document([live], SCHEMAS).document["endpoints"][0]["service_settings"]
    assert settings["client_secret"] == {"secret": "e.client_secret"}
    assert "api_key" not in settings


def test_an_ambiguous_azure_credential_is_assumed_and_said_so() -> None:
    live = live_view(
        "azureopenai",
        "text_embedding",
        {"resource_name": "r", "deployment_id": "d", "api_version": "v"},
        {},
    )
    exported = stack_document([live], SCHEMAS)
    assert exported.document["endpoints"][0]["service_settings"]["api_key"] == {
        "secret": "e.api_key"
    }
    assert exported.notes == [
        "e: Elasticsearch does not say which of api_key / entra_id it authenticates with; "
        "api_key is assumed"
    ]
    assert "# e: Elasticsearch does not say which of api_key / entra_id" in render(exported, "x")


def test_an_elasticsearch_deployment_exports_without_what_elasticsearch_filled_in() -> None:
    live = {
        "inference_id": "elser",
        "task_type": "sparse_embedding",
        "service": "elasticsearch",
        "service_settings": {
            "num_allocations": 2,
            "num_threads": 1,
            "model_id": ".elser_model_2",
            "deployment_id": ".elser_model_2",
        },
    }
    entry = stack_document([live], SCHEMAS).document["endpoints"][0]
    assert entry["service_settings"] == {"deployment_id": ".elser_model_2"}


def test_adaptive_allocations_export_without_the_current_num_allocations() -> None:
    adaptive = {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}
    live = {
        "inference_id": "e5",
        "task_type": "text_embedding",
        "service": "elasticsearch",
        "service_settings": {
            "num_allocations": 3,
            "num_threads": 1,
            "model_id": ".multilingual-e5-small",
            "adaptive_allocations": adaptive,
        },
    }
    entry = stack_document([live], SCHEMAS).document["endpoints"][0]
    assert entry["service_settings"] == {
        "num_threads": 1,
        "model_id": ".multilingual-e5-small",
        "adaptive_allocations": adaptive,
    }


def test_a_bedrock_endpoint_exports_both_aws_keys_and_the_provider_as_shown(
    tmp_path: Path,
) -> None:
    live = {
        "inference_id": "titan",
        "task_type": "text_embedding",
        "service": "amazonbedrock",
        "service_settings": {
            "region": "us-east-1",
            "model": "amazon.titan-embed-text-v2:0",
            "provider": "AMAZONTITAN",
            "dimensions": 1024,
            "similarity": "cosine",
            "rate_limit": {"requests_per_minute": 240},
        },
    }
    exported = stack_document([live], SCHEMAS)
    path = tmp_path / "exported.yaml"
    path.write_text(render(exported, "a test"), encoding="utf-8")
    assert stack_problems(path) == []
    assert exported.document["endpoints"][0]["service_settings"] == {
        "region": "us-east-1",
        "model": "amazon.titan-embed-text-v2:0",
        "provider": "AMAZONTITAN",
        "access_key": {"secret": "titan.access_key"},
        "secret_key": {"secret": "titan.secret_key"},
    }


def test_a_vertex_endpoint_exports_the_service_account_json_as_a_reference(
    tmp_path: Path,
) -> None:
    live = {
        "inference_id": "gemini",
        "task_type": "chat_completion",
        "service": "googlevertexai",
        "service_settings": {
            "project_id": "p",
            "location": "us-central1",
            "model_id": "gemini-2.5-flash",
            "provider": "GOOGLE",
            "rate_limit": {"requests_per_minute": 1000},
        },
    }
    exported = stack_document([live], SCHEMAS)
    path = tmp_path / "exported.yaml"
    path.write_text(render(exported, "a test"), encoding="utf-8")
    assert stack_problems(path) == []
    assert exported.document["endpoints"][0]["service_settings"] == {
        "project_id": "p",
        "location": "us-central1",
        "model_id": "gemini-2.5-flash",
        "service_account_json": {"secret": "gemini.service_account_json"},
    }
