"""The emulator's elasticsearch, openai, cohere and azureopenai services against ES's source.

Each test names the ES class whose behaviour it reproduces (see the service modules under
emulators/elasticsearch/services/ for the versions and the choices the sources left open).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.elasticsearch.services.elasticsearch import ElasticsearchService
from emulators.elasticsearch.validation import VALIDATION_FAILED
from emulators.lab import (
    VENDOR_CLIENT_ID,
    VENDOR_CLIENT_SECRET,
    VENDOR_CLIENT_SECRET_ROTATED,
    VENDOR_KEY,
    VENDOR_KEY_ROTATED,
    Lab,
    lab_servers,
)

CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}
AZURE = {"resource_name": "res", "deployment_id": "emb", "api_version": "2024-10-21"}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_servers(es_version="9.1.0") as running:
        yield running


@pytest.fixture
def es(lab: Lab) -> httpx.Client:
    lab.delete_user_endpoints()
    lab.vendor.delete("/_emulator/requests").raise_for_status()
    return lab.es


def put(es: httpx.Client, task: str, inference_id: str, body: dict[str, Any]) -> httpx.Response:
    return es.put(f"/_inference/{task}/{inference_id}", json=body)


def reason(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["type"], error["reason"]


def sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


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


# --- OAuth2 client credentials: openai from 9.5, azureopenai from 9.4 (oauth2.py) -----------------

SCOPES = ["inference.read", "inference.write"]
AZURE_SCOPES = ["https://cognitiveservices.azure.com/.default"]


@pytest.fixture(scope="module")
def lab95() -> Iterator[Lab]:
    with lab_servers(es_version="9.5.0") as running:
        yield running


@pytest.fixture
def es95(lab95: Lab) -> httpx.Client:
    lab95.delete_user_endpoints()
    lab95.vendor.delete("/_emulator/requests").raise_for_status()
    return lab95.es


def openai_oauth(lab: Lab, **changes: Any) -> dict[str, Any]:
    settings = {
        "client_id": VENDOR_CLIENT_ID,
        "client_secret": VENDOR_CLIENT_SECRET,
        "scopes": SCOPES,
        "token_url": f"{lab.vendor_url}/oauth2/token",
        "model_id": "text-embedding-3-small",
        **changes,
    }
    return {"service": "openai", "service_settings": {k: v for k, v in settings.items() if v}}


def azure_oauth(**changes: Any) -> dict[str, Any]:
    settings = {
        **AZURE,
        "client_id": VENDOR_CLIENT_ID,
        "client_secret": VENDOR_CLIENT_SECRET,
        "scopes": AZURE_SCOPES,
        "tenant_id": "lab-tenant",
        **changes,
    }
    return {"service": "azureopenai", "service_settings": {k: v for k, v in settings.items() if v}}


def token_and_api_calls(lab: Lab) -> list[dict[str, Any]]:
    keep = ("path", "status", "form", "client_auth", "key_sha256")
    return [
        {k: r.get(k) for k in keep}
        for r in lab.vendor.get("/_emulator/requests").json()["requests"]
    ]


def test_openai_oauth2_trades_basic_client_credentials_for_the_bearer_it_calls_with(
    lab95: Lab, es95: httpx.Client
) -> None:
    response = put(es95, "text_embedding", "oai", openai_oauth(lab95))
    assert response.status_code == 200, response.text
    token_url = f"{lab95.vendor_url}/oauth2/token"
    assert response.json()["service_settings"] == {
        "model_id": "text-embedding-3-small",
        "similarity": "dot_product",
        "dimensions": 8,
        "rate_limit": {"requests_per_minute": 3000},
        "client_id": VENDOR_CLIENT_ID,
        "scopes": SCOPES,
        "token_url": token_url,
    }
    token, api = token_and_api_calls(lab95)
    # OAuth2TokenFetcher: client_secret_basic, a client-credentials grant, the scopes joined.
    assert token == {
        "path": "/oauth2/token",
        "status": 200,
        "form": {"grant_type": "client_credentials", "scope": "inference.read inference.write"},
        "client_auth": "basic",
        "key_sha256": None,
    }
    # The stand-in accepts only the tokens it issued: a 200 here means ES sent that Bearer.
    assert api["path"] == "/v1/embeddings" and api["status"] == 200
    assert api["key_sha256"] not in (None, sha(VENDOR_CLIENT_SECRET), sha(VENDOR_KEY))
    shown = es95.get("/_inference/oai").text
    assert VENDOR_CLIENT_SECRET not in shown and "client_secret" not in shown
    stored = lab95.stored("oai")
    assert stored is not None
    assert stored["service_settings"]["client_secret_sha256"] == sha(VENDOR_CLIENT_SECRET)


def test_azure_oauth2_asks_the_microsoft_identity_platform_of_its_tenant(
    lab95: Lab, es95: httpx.Client
) -> None:
    response = put(es95, "text_embedding", "az", azure_oauth())
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        **AZURE,
        "dimensions": 8,
        "similarity": "dot_product",
        "rate_limit": {"requests_per_minute": 1440},
        "client_id": VENDOR_CLIENT_ID,
        "scopes": AZURE_SCOPES,
        "tenant_id": "lab-tenant",
    }
    token, api = token_and_api_calls(lab95)
    # login.microsoftonline.com is routed to the stand-in; the secret travels in the form.
    assert token == {
        "path": "/lab-tenant/oauth2/v2.0/token",
        "status": 200,
        "form": {
            "client_id": VENDOR_CLIENT_ID,
            "grant_type": "client_credentials",
            "scope": AZURE_SCOPES[0],
        },
        "client_auth": "form",
        "key_sha256": None,
    }
    assert (api["path"], api["status"]) == ("/openai/deployments/emb/embeddings", 200)
    assert VENDOR_CLIENT_SECRET not in es95.get("/_inference/az").text


@pytest.mark.parametrize(
    ("service", "caused_by"),
    [
        (
            "openai",
            {
                "type": "exception",
                "reason": "Failed to retrieve access token for request for inference id [ep]:"
                " [invalid_client] Client authentication failed",
            },
        ),
        (
            "azureopenai",
            {
                "type": "exception",
                "reason": "Failed attempting to retrieve access token for Azure OpenAI request"
                " for inference id: [ep]",
                "caused_by": {
                    "type": "client_authentication_exception",
                    "reason": "Client authentication failed",
                },
            },
        ),
    ],
    ids=["openai refuses a wrong client secret", "azureopenai refuses a wrong client secret"],
)
def test_a_client_secret_the_token_endpoint_refuses_fails_the_put(
    lab95: Lab, es95: httpx.Client, service: str, caused_by: dict[str, Any]
) -> None:
    wrong = "lab-secret-WRONG"
    body = (
        openai_oauth(lab95, client_secret=wrong)
        if service == "openai"
        else azure_oauth(client_secret=wrong)
    )
    response = put(es95, "text_embedding", "ep", body)
    assert reason(response) == (400, "status_exception", VALIDATION_FAILED)
    assert response.json()["error"]["caused_by"] == caused_by
    assert wrong not in response.text
    assert lab95.endpoint("ep") is None
    # Only the token request was made, and it answered OAuth's invalid_client.
    assert [(c["path"].rsplit("/", 1)[-1], c["status"]) for c in token_and_api_calls(lab95)] == [
        ("token", 401)
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            lambda lab: openai_oauth(lab, api_key=VENDOR_KEY),
            "[service_settings] must have exactly one of [api_key] or [client_secret] field set,"
            " received: [api_key, client_secret]",
        ),
        (
            lambda lab: openai_oauth(lab, client_secret=None, api_key=VENDOR_KEY),
            "To use OAuth2 the [client_secret] field must be set, either remove fields"
            " [client_id, scopes, token_url], or provide the [client_secret] field.",
        ),
        (
            lambda lab: openai_oauth(lab, client_id=None, scopes=None, token_url=None),
            "OAuth2 requires the fields [client_id, scopes, token_url], to be set.",
        ),
        (
            lambda lab: openai_oauth(lab, token_url=None),
            "[service_settings] all OpenAI OAuth2 fields must be provided together; missing:"
            " [token_url]",
        ),
        (
            lambda lab: azure_oauth(entra_id=VENDOR_KEY),
            "[secret_settings] must have exactly one of [api_key], [entra_id], or"
            " [client_secret] field set, received: [client_secret, entra_id]",
        ),
        (
            lambda lab: azure_oauth(client_secret=None, api_key=VENDOR_KEY),
            "To use OAuth2 the [client_secret] field must be set, either remove fields"
            " [client_id, scopes, tenant_id], or provide the [client_secret] field.",
        ),
        (
            lambda lab: azure_oauth(scopes=None),
            "[service_settings] OAuth2 fields [client_id, scopes] must be provided together;"
            " missing: [scopes]",
        ),
        (
            lambda lab: azure_oauth(client_id=None, scopes=None),
            "[service_settings] all Azure OpenAI OAuth2 fields must be provided together;"
            " missing: [client_id, scopes]",
        ),
    ],
    ids=[
        "openai refuses a key and a client secret",
        "openai refuses a key beside the OAuth2 settings",
        "openai refuses a client secret without the OAuth2 settings",
        "openai needs token_url with the other OAuth2 fields",
        "azureopenai refuses a token and a client secret",
        "azureopenai refuses a key beside the OAuth2 settings",
        "azureopenai needs scopes with client_id",
        "azureopenai needs client_id and scopes with tenant_id",
    ],
)
def test_oauth2_takes_exactly_one_credential_and_all_its_fields(
    lab95: Lab, es95: httpx.Client, body: Any, message: str
) -> None:
    assert reason(put(es95, "text_embedding", "ep", body(lab95))) == (
        400,
        "validation_exception",
        f"Validation Failed: 1: {message};",
    )
    assert token_and_api_calls(lab95) == []


def test_before_9_5_openai_takes_no_oauth2_fields(lab: Lab, es: httpx.Client) -> None:
    body = openai_oauth(lab, client_secret=None, api_key=VENDOR_KEY)
    status, error_type, message = reason(put(es, "text_embedding", "oai", body))
    assert (status, error_type) == (400, "status_exception")
    assert message.startswith("Model configuration contains settings [{")
    assert message.endswith("}] unknown to the [openai] service")
    assert all(f"{field}=" in message for field in ("client_id", "scopes", "token_url"))


def test_an_oauth2_update_rotates_the_client_secret_alone(lab95: Lab, es95: httpx.Client) -> None:
    assert put(es95, "text_embedding", "oai", openai_oauth(lab95)).status_code == 200
    lab95.vendor.delete("/_emulator/requests").raise_for_status()
    rotate = {"service_settings": {"client_secret": VENDOR_CLIENT_SECRET_ROTATED}}
    response = es95.put("/_inference/text_embedding/oai/_update", json=rotate)
    assert response.status_code == 200, response.text
    stored = lab95.stored("oai")
    assert stored is not None
    assert stored["service_settings"]["client_secret_sha256"] == sha(VENDOR_CLIENT_SECRET_ROTATED)
    # From 9.4 an _update that changes the endpoint is validated: a new token, then the call.
    assert [(c["path"], c["status"]) for c in token_and_api_calls(lab95)] == [
        ("/oauth2/token", 200),
        ("/v1/embeddings", 200),
    ]
    switch = {"service_settings": {"api_key": VENDOR_KEY}}
    assert reason(es95.put("/_inference/text_embedding/oai/_update", json=switch)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [secret_settings] only the field [client_secret] can be updated"
        " for this secret, received: [api_key];",
    )
    wrong = {"service_settings": {"client_secret": "lab-secret-WRONG"}}
    response = es95.put("/_inference/text_embedding/oai/_update", json=wrong)
    assert reason(response)[2] == VALIDATION_FAILED
    stored = lab95.stored("oai")
    assert stored is not None
    assert stored["service_settings"]["client_secret_sha256"] == sha(VENDOR_CLIENT_SECRET_ROTATED)


def test_from_9_4_an_update_changes_the_oauth2_fields_only_of_an_oauth2_endpoint(
    lab95: Lab, es95: httpx.Client
) -> None:
    assert put(es95, "text_embedding", "az", azure_oauth()).status_code == 200
    lab95.vendor.delete("/_emulator/requests").raise_for_status()
    update = {"service_settings": {"scopes": ["api://lab/.default"], "tenant_id": "other"}}
    response = es95.put("/_inference/text_embedding/az/_update", json=update)
    assert response.status_code == 200, response.text
    shown = response.json()["service_settings"]
    assert (shown["scopes"], shown["tenant_id"]) == (["api://lab/.default"], "other")
    token = token_and_api_calls(lab95)[0]
    assert token["path"] == "/other/oauth2/v2.0/token"
    assert token["form"]["scope"] == "api://lab/.default"
    keyed = {"service": "azureopenai", "service_settings": {**AZURE, "api_key": VENDOR_KEY}}
    assert put(es95, "text_embedding", "az-key", keyed).status_code == 200
    adding = {"service_settings": {"tenant_id": "t"}}
    assert reason(es95.put("/_inference/text_embedding/az-key/_update", json=adding)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: Cannot update OAuth2 fields as the service was not configured with"
        " OAuth2 settings. Please create a new Inference Endpoint with the OAuth2 settings"
        " instead.;",
    )


def test_the_token_endpoint_answers_oauth_errors(lab95: Lab) -> None:
    token_url = "/oauth2/token"
    unknown = lab95.vendor.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "s"},
        auth=(VENDOR_CLIENT_ID, "lab-secret-WRONG"),
    )
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    grant = lab95.vendor.post(
        token_url,
        data={"grant_type": "password", "client_id": VENDOR_CLIENT_ID},
    )
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    issued = lab95.vendor.post(
        "/any-tenant/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": VENDOR_CLIENT_ID,
            "client_secret": VENDOR_CLIENT_SECRET_ROTATED,
            "scope": "s",
        },
    )
    assert issued.status_code == 200
    token = issued.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    embed = lab95.vendor.post("/v1/embeddings", json={"input": ["x"]}, headers=headers)
    assert embed.status_code == 200
    refused = lab95.vendor.post(
        "/v1/embeddings", json={"input": ["x"]}, headers={"Authorization": "Bearer lab-token-x"}
    )
    assert refused.status_code == 401


# --- update.chunking_reset for every service (api/inference.py update_endpoint, #139574) --------

LEGACY_CHUNKING = {"strategy": "word", "max_chunk_size": 250, "overlap": 100}
CUSTOM_CHUNKING = {"strategy": "word", "max_chunk_size": 120, "overlap": 30}
EMBEDDERS = {
    "openai": ({"api_key": VENDOR_KEY, "model_id": "text-embedding-3-small"}, {"user": "a"}),
    "cohere": ({"api_key": VENDOR_KEY, "model_id": "embed-v3"}, {"input_type": "ingest"}),
}


@pytest.mark.parametrize(
    ("service", "version", "kept"),
    [
        ("openai", "8.19.0", False),
        ("openai", "9.1.0", False),
        ("openai", "9.4.0", True),
        ("cohere", "8.19.0", False),
        ("cohere", "9.1.0", False),
        ("cohere", "9.4.0", True),
    ],
    ids=[
        "openai on 8.19 resets",
        "openai on 9.1 resets",
        "openai on 9.4 keeps",
        "cohere on 8.19 resets",
        "cohere on 9.1 resets",
        "cohere on 9.4 keeps",
    ],
)
def test_an_update_of_a_third_party_embedding_endpoint_keeps_its_chunking_from_the_fix(
    service: str, version: str, kept: bool
) -> None:
    settings, task_settings = EMBEDDERS[service]
    body = {
        "service": service,
        "service_settings": settings,
        "task_settings": task_settings,
        "chunking_settings": CUSTOM_CHUNKING,
    }
    changed = {"input_type": "search"} if service == "cohere" else {"user": "b"}
    with lab_servers(es_version=version) as running:
        created = put(running.es, "text_embedding", "emb", body)
        assert created.json()["chunking_settings"] == CUSTOM_CHUNKING, created.text
        update = {"task_settings": changed}
        response = running.es.put("/_inference/text_embedding/emb/_update", json=update)
        assert response.status_code == 200, response.text
        shown = running.endpoint("emb")
    assert shown is not None
    assert shown["task_settings"] == changed
    assert shown["chunking_settings"] == (CUSTOM_CHUNKING if kept else LEGACY_CHUNKING)


def test_an_update_that_changes_a_third_party_endpoint_nothing_keeps_its_chunking(
    es: httpx.Client,
) -> None:
    settings, task_settings = EMBEDDERS["openai"]
    body = {
        "service": "openai",
        "service_settings": settings,
        "task_settings": task_settings,
        "chunking_settings": CUSTOM_CHUNKING,
    }
    assert put(es, "text_embedding", "emb", body).status_code == 200
    same = {"task_settings": task_settings}
    response = es.put("/_inference/text_embedding/emb/_update", json=same)
    assert response.json()["chunking_settings"] == CUSTOM_CHUNKING


def test_the_elasticsearch_service_shares_the_reset_on_9_1(es: httpx.Client) -> None:
    # TransportUpdateInferenceModelAction builds the merged model (without chunking before the
    # fix) before it branches to updateInClusterEndpoint, so the in-cluster service loses it too.
    body = {
        "service": "elasticsearch",
        "service_settings": {"model_id": ".elser_model_2", "num_threads": 1, "num_allocations": 1},
        "chunking_settings": CUSTOM_CHUNKING,
    }
    assert put(es, "sparse_embedding", "elser", body).status_code == 200
    grown = es.put("/_inference/elser/_update", json={"service_settings": {"num_allocations": 2}})
    assert grown.status_code == 200, grown.text
    assert grown.json()["chunking_settings"] == LEGACY_CHUNKING
    shown = es.get("/_inference/elser").json()["endpoints"][0]
    assert shown["chunking_settings"] == LEGACY_CHUNKING


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
