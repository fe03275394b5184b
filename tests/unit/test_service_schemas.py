"""Every service's schemas: Elasticsearch's rules as valid/invalid tables, and their annotations.

Each row cites the Elasticsearch source (or specification) the rule comes from; the schemas'
own ``x-es-source`` annotations list the files in full.
"""

from __future__ import annotations

from typing import Any

import pytest

from providers.schema import EndpointSchema, load_schemas

URL = "http://127.0.0.1:18080/v1"
ELSER = {"model_id": ".elser_model_2", "num_threads": 1}
AZURE = {"resource_name": "res", "deployment_id": "dep", "api_version": "2024-10-21"}
OAUTH_OPENAI = {"client_id": "c", "client_secret": "s", "scopes": ["a"], "token_url": URL}
OAUTH_AZURE = {"client_id": "c", "client_secret": "s", "scopes": ["a"], "tenant_id": "t"}
AWS = {"access_key": "AKIA", "secret_key": "shh", "region": "us-east-1", "model": "amazon.titan"}
VERTEX = {"service_account_json": "{}", "project_id": "p", "model_id": "text-embedding-005"}


def schema(service: str, task_type: str) -> EndpointSchema:
    found = load_schemas().endpoint(service, task_type)
    assert found is not None, f"{service}/{task_type}"
    return found


def problems(
    service: str, task_type: str, settings: dict[str, Any], **top: Any
) -> list[tuple[str, str]]:
    instance = {
        "inference_id": "e",
        "task_type": task_type,
        "service": service,
        "service_settings": settings,
        **top,
    }
    return [(p.path, p.message) for p in schema(service, task_type).problems(instance)]


VALID: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    # ElasticsearchInternalServiceSettings.fromMap; PutElasticsearchRequestExample1-6
    (
        "elasticsearch with num_allocations",
        "elasticsearch",
        "sparse_embedding",
        {**ELSER, "num_allocations": 1},
        {},
    ),
    (
        "elasticsearch with adaptive allocations",
        "elasticsearch",
        "text_embedding",
        {
            "model_id": ".multilingual-e5-small",
            "num_threads": 1,
            "adaptive_allocations": {
                "enabled": True,
                "min_number_of_allocations": 0,
                "max_number_of_allocations": 4,
            },
        },
        {},
    ),
    (
        "elasticsearch on an existing deployment needs only deployment_id",
        "elasticsearch",
        "sparse_embedding",
        {"deployment_id": ".elser_model_2"},
        {},
    ),
    (
        "num_allocations beside disabled adaptive allocations",
        "elasticsearch",
        "rerank",
        {
            "model_id": ".rerank-v1",
            "num_threads": 1,
            "num_allocations": 2,
            "adaptive_allocations": {"enabled": False},
        },
        {"task_settings": {"return_documents": False}},
    ),
    (
        "elasticsearch num_threads 32 is the largest power of 2",
        "elasticsearch",
        "sparse_embedding",
        {**ELSER, "num_threads": 32, "num_allocations": 1},
        {},
    ),
    (
        "elasticsearch text_embedding takes chunking",
        "elasticsearch",
        "text_embedding",
        {**ELSER, "num_allocations": 1},
        {"chunking_settings": {"strategy": "none"}},
    ),
    # OpenAiEmbeddingsServiceSettings; OpenAIServiceSettings in the spec
    (
        "openai with an api_key",
        "openai",
        "text_embedding",
        {
            "api_key": "sk",
            "model_id": "text-embedding-3-small",
            "url": URL,
            "organization_id": "o",
            "dimensions": 256,
        },
        {"task_settings": {"user": "u", "headers": {"X-A": "b"}}},
    ),
    (
        "openai with OAuth2 client credentials",
        "openai",
        "completion",
        {**OAUTH_OPENAI, "model_id": "gpt-4o"},
        {},
    ),
    (
        "openai chat_completion",
        "openai",
        "chat_completion",
        {"api_key": "sk", "model_id": "gpt-4o", "rate_limit": {"requests_per_minute": 10}},
        {},
    ),
    # CohereServiceSettings
    (
        "cohere text_embedding",
        "cohere",
        "text_embedding",
        {"api_key": "k", "model_id": "embed-english-v3.0", "embedding_type": "int8"},
        {"task_settings": {"input_type": "ingest", "truncate": "END"}},
    ),
    (
        "cohere rerank",
        "cohere",
        "rerank",
        {"api_key": "k", "model_id": "rerank-v3.5"},
        {"task_settings": {"top_n": 3, "return_documents": True}},
    ),
    # AzureOpenAiSecretSettings: exactly one of api_key, entra_id (and, later, client_secret)
    ("azureopenai with an api_key", "azureopenai", "text_embedding", {**AZURE, "api_key": "k"}, {}),
    ("azureopenai with an entra_id", "azureopenai", "completion", {**AZURE, "entra_id": "t"}, {}),
    ("azureopenai with OAuth2", "azureopenai", "chat_completion", {**AZURE, **OAUTH_AZURE}, {}),
    (
        "elastic sparse_embedding needs only model_id",
        "elastic",
        "sparse_embedding",
        {"model_id": "elser_model_2"},
        {},
    ),
    (
        "amazonbedrock with both keys",
        "amazonbedrock",
        "text_embedding",
        {**AWS, "provider": "amazontitan"},
        {},
    ),
    (
        "amazonbedrock completion task settings",
        "amazonbedrock",
        "completion",
        {**AWS, "provider": "anthropic"},
        {"task_settings": {"max_new_tokens": 64, "temperature": 0.5, "top_k": 0.25}},
    ),
    (
        "amazonbedrock provider as GET shows it, upper case",
        "amazonbedrock",
        "chat_completion",
        {**AWS, "provider": "MISTRAL"},
        {},
    ),
    (
        "googlevertexai text_embedding",
        "googlevertexai",
        "text_embedding",
        {**VERTEX, "location": "us-central1"},
        {"task_settings": {"auto_truncate": True}},
    ),
    (
        "googlevertexai rerank needs no model_id",
        "googlevertexai",
        "rerank",
        {"service_account_json": "{}", "project_id": "p"},
        {},
    ),
    (
        "googlevertexai completion in a region",
        "googlevertexai",
        "completion",
        {**VERTEX, "model_id": "gemini-2.5-flash", "location": "us-central1"},
        {"task_settings": {"thinking_config": {"thinking_budget": 256}}},
    ),
    (
        "mistral names the model 'model'",
        "mistral",
        "text_embedding",
        {"api_key": "k", "model": "mistral-embed"},
        {},
    ),
    (
        "anthropic with max_tokens",
        "anthropic",
        "completion",
        {"api_key": "k", "model_id": "claude-3-5-haiku"},
        {"task_settings": {"max_tokens": 256}},
    ),
    (
        "jinaai text_embedding",
        "jinaai",
        "text_embedding",
        {"api_key": "k", "model_id": "jina-embeddings-v3"},
        {"task_settings": {"input_type": "search"}},
    ),
    (
        "voyageai rerank",
        "voyageai",
        "rerank",
        {"api_key": "k", "model_id": "rerank-2"},
        {"task_settings": {"top_k": 2, "return_documents": True}},
    ),
    (
        "hugging_face sparse_embedding",
        "hugging_face",
        "sparse_embedding",
        {"api_key": "k", "url": URL},
        {},
    ),
]


@pytest.mark.parametrize(
    ("service", "task_type", "settings", "top"),
    [v[1:] for v in VALID],
    ids=[f"{v[0]} is valid" for v in VALID],
)
def test_a_valid_endpoint_of_each_service_has_no_problem(
    service: str, task_type: str, settings: dict[str, Any], top: dict[str, Any]
) -> None:
    assert problems(service, task_type, settings, **top) == []


NEEDS_ES_FORM = (
    "$.service_settings",
    "needs deployment_id, or model_id and num_threads with num_allocations or adaptive_allocations",
)
INVALID: list[tuple[str, str, str, dict[str, Any], dict[str, Any], list[tuple[str, str]]]] = [
    (
        "elasticsearch without allocations",
        "elasticsearch",
        "sparse_embedding",
        ELSER,
        {},
        [NEEDS_ES_FORM],
    ),
    (
        "elasticsearch without num_threads",
        "elasticsearch",
        "sparse_embedding",
        {"model_id": ".elser_model_2", "num_allocations": 1},
        {},
        [NEEDS_ES_FORM],
    ),
    (
        "num_allocations beside enabled adaptive allocations",
        "elasticsearch",
        "text_embedding",
        {**ELSER, "num_allocations": 2, "adaptive_allocations": {"enabled": True}},
        {},
        [
            (
                "$.service_settings",
                "num_allocations cannot be set when adaptive_allocations is enabled (Elasticsearch sets it)",
            )
        ],
    ),
    (
        "num_threads that is no power of 2",
        "elasticsearch",
        "sparse_embedding",
        {**ELSER, "num_threads": 3, "num_allocations": 1},
        {},
        [
            (
                "$.service_settings.num_threads",
                "must be a power of 2 no greater than 32 (1, 2, 4, 8, 16, 32)",
            )
        ],
    ),
    (
        "num_allocations of 0",
        "elasticsearch",
        "sparse_embedding",
        {**ELSER, "num_allocations": 0},
        {},
        [("$.service_settings.num_allocations", "must be >= 1")],
    ),
    (
        "rerank chunking",
        "elasticsearch",
        "rerank",
        {**ELSER, "num_allocations": 1},
        {"chunking_settings": {"strategy": "none"}},
        [
            (
                "$",
                "unknown field 'chunking_settings' (allowed: adopt, force, inference_id, secret_rotation, "
                "service, service_settings, task_settings, task_type)",
            )
        ],
    ),
    (
        "openai without any auth",
        "openai",
        "text_embedding",
        {"model_id": "m"},
        {},
        [("$.service_settings", "needs exactly one of api_key, client_secret")],
    ),
    (
        "openai with both an api_key and OAuth2",
        "openai",
        "text_embedding",
        {"api_key": "sk", **OAUTH_OPENAI, "model_id": "m"},
        {},
        [("$.service_settings", "needs exactly one of api_key, client_secret")],
    ),
    (
        "openai OAuth2 without token_url",
        "openai",
        "completion",
        {"client_id": "c", "client_secret": "s", "scopes": ["a"], "model_id": "m"},
        {},
        [
            (
                "$.service_settings",
                "missing required field 'token_url' (needed with 'client_id', "
                "'client_secret', 'scopes')",
            )
        ],
    ),
    (
        "openai without model_id",
        "openai",
        "completion",
        {"api_key": "sk"},
        {},
        [("$.service_settings", "missing required field 'model_id'")],
    ),
    (
        "openai completion dimensions",
        "openai",
        "completion",
        {"api_key": "sk", "model_id": "m", "dimensions": 3},
        {},
        [
            (
                "$.service_settings",
                "unknown field 'dimensions' (allowed: api_key, client_id, "
                "client_secret, model_id, organization_id, rate_limit, scopes, token_url, url)",
            )
        ],
    ),
    (
        "cohere without model_id (required from 9.2)",
        "cohere",
        "text_embedding",
        {"api_key": "k"},
        {},
        [("$.service_settings", "missing required field 'model_id'")],
    ),
    (
        "cohere with an unknown embedding_type",
        "cohere",
        "text_embedding",
        {"api_key": "k", "model_id": "m", "embedding_type": "int4"},
        {},
        [
            (
                "$.service_settings.embedding_type",
                "must be one of 'binary', 'bit', 'byte', 'float', 'int8'",
            )
        ],
    ),
    (
        "azureopenai with an api_key and an entra_id",
        "azureopenai",
        "text_embedding",
        {**AZURE, "api_key": "k", "entra_id": "t"},
        {},
        [("$.service_settings", "needs exactly one of api_key, entra_id, client_secret")],
    ),
    (
        "azureopenai without resource_name",
        "azureopenai",
        "completion",
        {"deployment_id": "d", "api_version": "v", "api_key": "k"},
        {},
        [("$.service_settings", "missing required field 'resource_name'")],
    ),
    (
        "azureopenai OAuth2 without tenant_id",
        "azureopenai",
        "completion",
        {**AZURE, "client_id": "c", "client_secret": "s", "scopes": ["a"]},
        {},
        [
            (
                "$.service_settings",
                "missing required field 'tenant_id' (needed with 'client_id', "
                "'client_secret', 'scopes')",
            )
        ],
    ),
    (
        "elastic with an api_key",
        "elastic",
        "sparse_embedding",
        {"model_id": "m", "api_key": "k"},
        {},
        [
            (
                "$.service_settings",
                "unknown field 'api_key' (allowed: max_input_tokens, model_id, rate_limit)",
            )
        ],
    ),
    (
        "amazonbedrock without secret_key",
        "amazonbedrock",
        "text_embedding",
        {**{k: v for k, v in AWS.items() if k != "secret_key"}, "provider": "amazontitan"},
        {},
        [("$.service_settings", "missing required field 'secret_key'")],
    ),
    (
        "mistral with model_id instead of model",
        "mistral",
        "completion",
        {"api_key": "k", "model_id": "mistral-small"},
        {},
        [
            ("$.service_settings", "missing required field 'model'"),
            (
                "$.service_settings",
                "unknown field 'model_id' (allowed: api_key, model, rate_limit)",
            ),
        ],
    ),
    (
        "anthropic without max_tokens",
        "anthropic",
        "chat_completion",
        {"api_key": "k", "model_id": "m"},
        {},
        [("$", "missing required field 'task_settings'")],
    ),
    (
        "anthropic with empty task_settings",
        "anthropic",
        "completion",
        {"api_key": "k", "model_id": "m"},
        {"task_settings": {}},
        [("$.task_settings", "missing required field 'max_tokens'")],
    ),
    (
        "googlevertexai without project_id",
        "googlevertexai",
        "text_embedding",
        {"service_account_json": "{}", "model_id": "m", "location": "us-central1"},
        {},
        [("$.service_settings", "missing required field 'project_id'")],
    ),
    (
        "googlevertexai chat_completion without location",
        "googlevertexai",
        "chat_completion",
        {**VERTEX, "model_id": "gemini-2.5-flash"},
        {},
        [("$.service_settings", "missing required field 'location'")],
    ),
    (
        "amazonbedrock without a provider",
        "amazonbedrock",
        "completion",
        AWS,
        {},
        [("$.service_settings", "missing required field 'provider'")],
    ),
    (
        "amazonbedrock embeddings from a chat provider",
        "amazonbedrock",
        "text_embedding",
        {**AWS, "provider": "anthropic"},
        {},
        [
            (
                "$.service_settings.provider",
                "must be one of 'amazontitan', 'cohere', 'AMAZONTITAN', 'COHERE'",
            )
        ],
    ),
    (
        "amazonbedrock with dimensions, which Elasticsearch measures",
        "amazonbedrock",
        "text_embedding",
        {**AWS, "provider": "cohere", "dimensions": 1024},
        {},
        [("$.service_settings.dimensions", "is filled in by Elasticsearch and cannot be declared")],
    ),
    (
        "amazonbedrock temperature written as an integer",
        "amazonbedrock",
        "completion",
        {**AWS, "provider": "meta"},
        {"task_settings": {"temperature": 1}},
        [
            (
                "$.task_settings.temperature",
                "must be a fraction between 0 and 1 (Elasticsearch reads a Java Double and"
                " refuses 0 and 1 written as integers, which is how they are sent)",
            )
        ],
    ),
    (
        "voyageai with an unknown input_type",
        "voyageai",
        "text_embedding",
        {"api_key": "k", "model_id": "voyage-3"},
        {"task_settings": {"input_type": "query"}},
        [("$.task_settings.input_type", "must be one of 'ingest', 'search' (got 'query')")],
    ),
    (
        "jinaai without api_key",
        "jinaai",
        "rerank",
        {"model_id": "m"},
        {},
        [("$.service_settings", "missing required field 'api_key'")],
    ),
    (
        "hugging_face sparse max_input_tokens (fixed at 512)",
        "hugging_face",
        "sparse_embedding",
        {"api_key": "k", "url": URL, "max_input_tokens": 512},
        {},
        [
            (
                "$.service_settings.max_input_tokens",
                "is filled in by Elasticsearch and cannot be declared",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("service", "task_type", "settings", "top", "expected"),
    [v[1:] for v in INVALID],
    ids=[f"{v[0]} is refused" for v in INVALID],
)
def test_an_invalid_endpoint_of_each_service_has_exactly_these_problems(
    service: str,
    task_type: str,
    settings: dict[str, Any],
    top: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    assert problems(service, task_type, settings, **top) == expected


SECRETS = [
    ("elasticsearch", "sparse_embedding", []),
    ("elastic", "sparse_embedding", []),
    ("openai", "text_embedding", ["api_key", "client_secret"]),
    ("azureopenai", "completion", ["api_key", "client_secret", "entra_id"]),
    ("amazonbedrock", "chat_completion", ["access_key", "secret_key"]),
    ("googlevertexai", "rerank", ["service_account_json"]),
    ("cohere", "rerank", ["api_key"]),
    ("mistral", "text_embedding", ["api_key"]),
]


@pytest.mark.parametrize(
    ("service", "task_type", "names"),
    SECRETS,
    ids=[f"{s}/{t} keeps {', '.join(n) or 'no'} secret" for s, t, n in SECRETS],
)
def test_each_service_names_its_write_only_secrets(
    service: str, task_type: str, names: list[str]
) -> None:
    paths = schema(service, task_type).secret_paths
    assert sorted(str(p[1]) for p in paths) == names
    assert all(p[0] == "service_settings" for p in paths)


RATE_LIMITS = [
    ("openai", "text_embedding", 3000),
    ("openai", "completion", 500),
    ("cohere", "text_embedding", 10000),
    ("azureopenai", "text_embedding", 1440),
    ("azureopenai", "chat_completion", 120),
    ("amazonbedrock", "completion", 240),
    ("googlevertexai", "text_embedding", 30000),
    ("googlevertexai", "rerank", 300),
    ("googlevertexai", "chat_completion", 1000),
    ("mistral", "completion", 240),
    ("anthropic", "completion", 50),
    ("jinaai", "rerank", 2000),
    ("voyageai", "text_embedding", 2000),
    ("elastic", "sparse_embedding", 1000),
    ("hugging_face", "sparse_embedding", 3000),
]


@pytest.mark.parametrize(
    ("service", "task_type", "rpm"),
    RATE_LIMITS,
    ids=[f"{s}/{t} defaults to {r} requests per minute" for s, t, r in RATE_LIMITS],
)
def test_each_service_declares_the_rate_limit_elasticsearch_fills_in(
    service: str, task_type: str, rpm: int
) -> None:
    rule = schema(service, task_type).rules[("service_settings", "rate_limit")]
    assert rule.has_default and rule.default == {"requests_per_minute": rpm}


def test_the_aws_key_pair_is_one_secret_group() -> None:
    rules = schema("amazonbedrock", "text_embedding").rules
    assert rules[("service_settings", "access_key")].secret_group == "aws"
    assert rules[("service_settings", "secret_key")].secret_group == "aws"


def test_num_allocations_is_ignored_under_enabled_adaptive_allocations_only() -> None:
    rule = schema("elasticsearch", "sparse_embedding").rules[
        ("service_settings", "num_allocations")
    ]
    assert rule.is_ignored({"adaptive_allocations": {"enabled": True}})
    assert not rule.is_ignored({"adaptive_allocations": {"enabled": False}})
    assert not rule.is_ignored({"num_allocations": 2})


def test_elasticsearch_fills_the_model_in_from_a_deployment() -> None:
    rules = schema("elasticsearch", "text_embedding").rules
    for name in ("model_id", "num_threads", "num_allocations"):
        assert rules[("service_settings", name)].is_discovered({"deployment_id": "d"})
        assert not rules[("service_settings", name)].is_discovered({"model_id": "m"})


def test_fields_newer_than_their_service_are_version_gated_when_declared() -> None:
    openai = schema("openai", "text_embedding")
    oauth = {"service_settings": {**OAUTH_OPENAI, "model_id": "m"}}
    assert dict(openai.version_gates(oauth)) == {
        "service_settings.client_id": ("9.5.0",),
        "service_settings.client_secret": ("9.5.0",),
        "service_settings.scopes": ("9.5.0",),
        "service_settings.token_url": ("9.5.0",),
    }
    assert openai.version_gates({"service_settings": {"api_key": "k", "model_id": "m"}}) == []


@pytest.mark.parametrize("service_task", load_schemas().supported())
def test_every_service_schema_cites_its_sources_and_first_versions(service_task: str) -> None:
    service, task_type = service_task.split("/")
    found = schema(service, task_type)
    assert found.since
    if service != "hugging_face":
        assert found.schema["x-es-source"]
