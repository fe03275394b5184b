"""The emulator's elasticsearch, openai, cohere and azureopenai services against ES's source.

Each test names the ES class whose behaviour it reproduces (see the service modules under
emulators/elasticsearch/services/ for the versions and the choices the sources left open).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.elasticsearch.services.elasticsearch import ElasticsearchService
from emulators.lab import VENDOR_KEY, VENDOR_KEY_ROTATED, Lab, lab_servers

CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}
AZURE = {"resource_name": "res", "deployment_id": "emb", "api_version": "2024-10-21"}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_servers(es_version="9.1.0") as running:
        yield running


@pytest.fixture
def es(lab: Lab) -> httpx.Client:
    for inference_id in lab.user_endpoint_ids():
        lab.delete_out_of_band(inference_id)
    lab.vendor.delete("/_emulator/requests").raise_for_status()
    return lab.es


def put(es: httpx.Client, task: str, inference_id: str, body: dict[str, Any]) -> httpx.Response:
    return es.put(f"/_inference/{task}/{inference_id}", json=body)


def reason(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["type"], error["reason"]


def vendor_calls(lab: Lab) -> list[dict[str, Any]]:
    return [
        {"path": r["path"], "body": r["body"], "organization": r["organization"]}
        for r in lab.vendor.get("/_emulator/requests").json()["requests"]
    ]


# --- openai: OpenAiEmbeddingsServiceSettings, OpenAiEmbeddingsRequestEntity -----------------------


def test_openai_embeddings_are_validated_against_the_api_and_get_their_size(
    lab: Lab, es: httpx.Client
) -> None:
    body = {
        "service": "openai",
        "service_settings": {
            "api_key": VENDOR_KEY,
            "model_id": "text-embedding-3-small",
            "organization_id": "org-1",
            "dimensions": 16,
        },
        "task_settings": {"user": "ops"},
    }
    response = put(es, "text_embedding", "oai", body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "inference_id": "oai",
        "task_type": "text_embedding",
        "service": "openai",
        "service_settings": {
            "model_id": "text-embedding-3-small",
            "organization_id": "org-1",
            "similarity": "dot_product",
            "dimensions": 16,
            "rate_limit": {"requests_per_minute": 3000},
        },
        "task_settings": {"user": "ops"},
        "chunking_settings": CHUNKING,
    }
    assert vendor_calls(lab) == [
        {
            "path": "/v1/embeddings",
            "body": {
                "input": ["how big"],
                "model": "text-embedding-3-small",
                "dimensions": 16,
                "user": "ops",
            },
            "organization": "org-1",
        }
    ]


def test_openai_refuses_a_key_the_api_refuses(es: httpx.Client) -> None:
    body = {"service": "openai", "service_settings": {"api_key": "sk-wrong", "model_id": "m"}}
    response = put(es, "completion", "oai-bad", body)
    assert reason(response) == (
        400,
        "status_exception",
        "Could not complete inference endpoint creation as validation call to service threw"
        " an exception.",
    )
    assert response.json()["error"]["caused_by"]["reason"] == (
        "Received an authentication error status code for request from inference entity id"
        " [oai-bad] status [401]"
    )


def test_openai_needs_a_model_id_and_reports_every_problem(es: httpx.Client) -> None:
    body = {"service": "openai", "service_settings": {"api_key": VENDOR_KEY, "similarity": "x"}}
    assert reason(put(es, "text_embedding", "oai", body)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] Invalid value [x] received. [similarity] must be"
        " one of [cosine, dot_product, l2_norm];2: [service_settings] does not contain the"
        " required setting [model_id];",
    )


def test_openai_url_override_reaches_any_openai_compatible_server(
    lab: Lab, es: httpx.Client
) -> None:
    body = {
        "service": "openai",
        "service_settings": {
            "api_key": VENDOR_KEY,
            "model_id": "gpt-4o",
            "url": f"{lab.vendor_url}/v1/chat/completions",
        },
    }
    response = put(es, "completion", "chat", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "model_id": "gpt-4o",
        "url": f"{lab.vendor_url}/v1/chat/completions",
        "rate_limit": {"requests_per_minute": 500},
    }


def test_openai_update_before_9_4_rotates_the_key_without_a_call(
    lab: Lab, es: httpx.Client
) -> None:
    body = {"service": "openai", "service_settings": {"api_key": VENDOR_KEY, "model_id": "m"}}
    assert put(es, "text_embedding", "oai", body).status_code == 200
    lab.vendor.delete("/_emulator/requests").raise_for_status()
    update = {"service_settings": {"api_key": VENDOR_KEY_ROTATED, "model_id": "other"}}
    response = es.put("/_inference/text_embedding/oai/_update", json=update)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"]["model_id"] == "m"
    assert vendor_calls(lab) == []
    stored = lab.stored("oai")
    assert stored is not None
    assert "api_key_sha256" in stored["service_settings"]


# --- cohere: CohereServiceSettings, CohereEmbeddingsServiceSettings -------------------------------


def test_cohere_embedding_type_sets_the_similarity(lab: Lab, es: httpx.Client) -> None:
    body = {
        "service": "cohere",
        "service_settings": {
            "api_key": VENDOR_KEY,
            "model_id": "embed-v3",
            "embedding_type": "int8",
        },
        "task_settings": {"input_type": "ingest", "truncate": "END"},
    }
    response = put(es, "text_embedding", "co", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "similarity": "cosine",
        "dimensions": 8,
        "model_id": "embed-v3",
        "embedding_type": "int8",
        "rate_limit": {"requests_per_minute": 10000},
    }
    assert response.json()["task_settings"] == {"input_type": "ingest", "truncate": "END"}
    assert vendor_calls(lab)[0]["body"] == {
        "texts": ["how big"],
        "model": "embed-v3",
        "embedding_types": ["int8"],
        "input_type": "ingest",
        "truncate": "END",
    }


def test_cohere_rerank_keeps_its_task_settings(es: httpx.Client) -> None:
    body = {
        "service": "cohere",
        "service_settings": {"api_key": VENDOR_KEY, "model_id": "rerank-v3.5"},
        "task_settings": {"top_n": 2, "return_documents": True},
    }
    response = put(es, "rerank", "co-rr", body)
    assert response.status_code == 200, response.text
    assert response.json()["task_settings"] == {"return_documents": True, "top_n": 2}


def test_cohere_model_id_is_required_from_9_2() -> None:
    body = {"service": "cohere", "service_settings": {"api_key": VENDOR_KEY}}
    with lab_servers(es_version="9.2.0") as newer:
        response = newer.es.put("/_inference/rerank/co", json=body)
    assert reason(response) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain the required setting"
        " [model_id];",
    )


# --- azureopenai: AzureOpenAiSecretSettings, the routed host ---------------------------------------


def test_azure_calls_the_deployment_url_through_the_routed_host(lab: Lab, es: httpx.Client) -> None:
    body = {"service": "azureopenai", "service_settings": {**AZURE, "entra_id": VENDOR_KEY}}
    response = put(es, "text_embedding", "az", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        **AZURE,
        "dimensions": 8,
        "similarity": "dot_product",
        "rate_limit": {"requests_per_minute": 1440},
    }
    request = lab.vendor.get("/_emulator/requests").json()["requests"][0]
    assert request["path"] == "/openai/deployments/emb/embeddings"
    assert request["query"] == {"api-version": "2024-10-21"}


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        ({}, ""),
        ({"api_key": "a", "entra_id": "b"}, ", received: [api_key, entra_id]"),
    ],
    ids=["no credential is refused", "two credentials are refused"],
)
def test_azure_needs_exactly_one_credential(
    es: httpx.Client, secrets: dict[str, str], expected: str
) -> None:
    body = {"service": "azureopenai", "service_settings": {**AZURE, **secrets}}
    assert reason(put(es, "completion", "az", body)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [secret_settings] must have exactly one of [api_key] or"
        f" [entra_id] field set{expected};",
    )


# --- elasticsearch: ElasticsearchInternalService and the deployment --------------------------------


def test_elasticsearch_needs_allocations(es: httpx.Client) -> None:
    body = {
        "service": "elasticsearch",
        "service_settings": {"model_id": ".elser_model_2", "num_threads": 1},
    }
    assert reason(put(es, "sparse_embedding", "elser", body)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain one of the required settings"
        " [num_allocations, adaptive_allocations];",
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"num_threads": 3, "num_allocations": 1},
            "[threads_per_allocation] must be a power of 2 less than or equal to 32",
        ),
        (
            {"num_threads": 1, "num_allocations": 2, "adaptive_allocations": {"enabled": True}},
            "[number_of_allocations] cannot be set if adaptive allocations is enabled",
        ),
    ],
    ids=["threads must be a power of 2", "allocations and adaptive allocations exclude each other"],
)
def test_starting_the_deployment_checks_its_settings(
    es: httpx.Client, settings: dict[str, Any], expected: str
) -> None:
    body = {
        "service": "elasticsearch",
        "service_settings": {"model_id": ".elser_model_2", **settings},
    }
    assert reason(put(es, "sparse_embedding", "elser", body)) == (
        400,
        "action_request_validation_exception",
        f"Validation Failed: 1: {expected};",
    )


def test_adaptive_allocations_move_num_allocations_with_the_load(es: httpx.Client) -> None:
    adaptive = {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 2}
    body = {
        "service": "elasticsearch",
        "service_settings": {
            "model_id": ".multilingual-e5-small",
            "num_threads": 1,
            "adaptive_allocations": adaptive,
        },
    }
    response = put(es, "text_embedding", "e5", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "num_allocations": 1,
        "num_threads": 1,
        "model_id": ".multilingual-e5-small",
        "adaptive_allocations": adaptive,
        "dimensions": 384,
        "similarity": "cosine",
        "element_type": "float",
    }
    seen: set[object] = set()
    deadline = time.monotonic() + 5 * ElasticsearchService.ADAPTIVE_PERIOD
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(
            es.get("/_inference/e5").json()["endpoints"][0]["service_settings"]["num_allocations"]
        )
        time.sleep(ElasticsearchService.ADAPTIVE_PERIOD / 2)
    assert seen == {1, 2}


def test_a_deployment_id_fills_the_model_in_and_an_unknown_one_is_not_found(
    es: httpx.Client,
) -> None:
    found = put(
        es,
        "sparse_embedding",
        "attached",
        {
            "service": "elasticsearch",
            "service_settings": {"deployment_id": ".elser-2-elasticsearch"},
        },
    )
    assert found.status_code == 200, found.text
    assert found.json()["service_settings"]["model_id"] == ".elser_model_2"
    missing = put(
        es,
        "sparse_embedding",
        "lost",
        {"service": "elasticsearch", "service_settings": {"deployment_id": "nope"}},
    )
    assert reason(missing) == (404, "status_exception", "Cannot find deployment [nope]")


def test_update_changes_num_allocations_only(es: httpx.Client) -> None:
    body = {
        "service": "elasticsearch",
        "service_settings": {"model_id": ".elser_model_2", "num_threads": 1, "num_allocations": 1},
    }
    assert put(es, "sparse_embedding", "elser", body).status_code == 200
    grown = es.put("/_inference/elser/_update", json={"service_settings": {"num_allocations": 3}})
    assert grown.json()["service_settings"]["num_allocations"] == 3
    threads = es.put("/_inference/elser/_update", json={"service_settings": {"num_threads": 2}})
    assert reason(threads) == (
        400,
        "status_exception",
        'Failed to parse [num_allocations] of update request [{"service_settings":{"num_threads":2}}]',
    )


def test_default_endpoints_are_readable_but_not_deletable(es: httpx.Client) -> None:
    listed = es.get("/_inference/.elser-2-elasticsearch").json()["endpoints"][0]
    assert listed["service"] == "elasticsearch"
    deleted = es.delete("/_inference/.elser-2-elasticsearch")
    assert reason(deleted) == (
        400,
        "status_exception",
        "[.elser-2-elasticsearch] is a reserved inference endpoint. Use the force=true query"
        " parameter to delete the inference endpoint.",
    )


# --- mistral, anthropic, jinaai, voyageai: created against their APIs, GET's view ----------------

CREATED = [
    (
        "mistral",
        "text_embedding",
        {"api_key": VENDOR_KEY, "model": "mistral-embed"},
        None,
        {
            "model": "mistral-embed",
            "dimensions": 8,
            "similarity": "dot_product",
            "rate_limit": {"requests_per_minute": 240},
        },
        (
            "/v1/embeddings",
            {"model": "mistral-embed", "input": ["how big"], "encoding_format": "float"},
        ),
    ),
    (
        "anthropic",
        "completion",
        {"api_key": VENDOR_KEY, "model_id": "claude-3-5-haiku"},
        {"max_tokens": 64},
        {"model_id": "claude-3-5-haiku", "rate_limit": {"requests_per_minute": 50}},
        (
            "/v1/messages",
            {
                "messages": [{"role": "user", "content": "how big"}],
                "model": "claude-3-5-haiku",
                "max_tokens": 64,
                "stream": False,
            },
        ),
    ),
    (
        "jinaai",
        "rerank",
        {"api_key": VENDOR_KEY, "model_id": "jina-reranker-v2"},
        {"top_n": 2},
        {"model_id": "jina-reranker-v2", "rate_limit": {"requests_per_minute": 2000}},
        (
            "/v1/rerank",
            {
                "model": "jina-reranker-v2",
                "query": "test query",
                "documents": ["how big"],
                "top_n": 2,
            },
        ),
    ),
    (
        "voyageai",
        "text_embedding",
        {"api_key": VENDOR_KEY, "model_id": "voyage-3", "dimensions": 16},
        {"input_type": "ingest"},
        {
            "model_id": "voyage-3",
            "similarity": "dot_product",
            "dimensions": 16,
            "rate_limit": {"requests_per_minute": 2000},
        },
        (
            "/v1/embeddings",
            {
                "model": "voyage-3",
                "input": ["how big"],
                "input_type": "document",
                "output_dimension": 16,
            },
        ),
    ),
]


@pytest.mark.parametrize(
    ("service", "task_type", "settings", "task_settings", "shown", "call"),
    CREATED,
    ids=[f"{c[0]} {c[1]} is validated against its API" for c in CREATED],
)
def test_each_service_makes_its_validation_call_and_shows_its_settings(
    lab: Lab,
    es: httpx.Client,
    service: str,
    task_type: str,
    settings: dict[str, Any],
    task_settings: dict[str, Any] | None,
    shown: dict[str, Any],
    call: tuple[str, dict[str, Any]],
) -> None:
    body: dict[str, Any] = {"service": service, "service_settings": settings}
    if task_settings is not None:
        body["task_settings"] = task_settings
    response = put(es, task_type, "ep", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == shown
    assert [(c["path"], c["body"]) for c in vendor_calls(lab)] == [call]
    assert es.get("/_inference/ep").json()["endpoints"][0]["service_settings"] == shown


def test_anthropic_needs_max_tokens(es: httpx.Client) -> None:
    body = {"service": "anthropic", "service_settings": {"api_key": VENDOR_KEY, "model_id": "m"}}
    assert reason(put(es, "completion", "claude", body)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [task_settings] does not contain the required setting [max_tokens];",
    )


def test_mistral_names_its_model_model(es: httpx.Client) -> None:
    body = {"service": "mistral", "service_settings": {"api_key": VENDOR_KEY, "model_id": "m"}}
    assert reason(put(es, "text_embedding", "mi", body)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain the required setting [model];",
    )
