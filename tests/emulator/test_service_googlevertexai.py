"""The emulator's `googlevertexai` service against ES's source, and the Google stand-in it calls.

The classes each test follows are named in emulators/elasticsearch/services/googlevertexai.py
and google_auth.py (with the versions and the choices the sources left open). Every validation
call first exchanges a JWT signed with the key JSON's private key at its token_uri; the Google
stand-in (emulators/vendors/google.py) checks the signature against the public keys the lab
generated at start, so a created endpoint proves the exchange and a refusal proves the check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.lab import Lab, google_service_account, lab_servers
from emulators.vendors.google import new_service_account

VALIDATION_FAILED = (
    "Could not complete inference endpoint creation as validation call to service threw an"
    " exception."
)
CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}
REGION = {"location": "us-central1", "project_id": "lab-project"}
LAB_EMAIL = "lab@lab-project.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def labs() -> Iterator[dict[str, Lab]]:
    with lab_servers(es_version="9.1.0") as v91, lab_servers(es_version="9.4.0") as v94:
        yield {"9.1": v91, "9.4": v94}


def fresh(lab: Lab) -> Lab:
    lab.delete_user_endpoints()
    lab.google.delete("/_emulator/requests").raise_for_status()
    return lab


@pytest.fixture
def lab(labs: dict[str, Lab]) -> Lab:
    return fresh(labs["9.1"])


def key_json(name: str = "lab") -> str:
    return google_service_account(name).key_json


def vertex(key: str | None = None, **settings: Any) -> dict[str, Any]:
    return {
        "service": "googlevertexai",
        "service_settings": {"service_account_json": key or key_json(), **settings},
    }


def put(lab: Lab, task: str, inference_id: str, body: dict[str, Any]) -> httpx.Response:
    return lab.es.put(f"/_inference/{task}/{inference_id}", json=body)


def reason(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["type"], error["reason"]


def calls(lab: Lab) -> list[dict[str, Any]]:
    return [
        {k: r[k] for k in ("path", "query", "status", "token_holder", "body")}
        for r in lab.google.get("/_emulator/requests").json()["requests"]
    ]


TOKEN_CALL = {
    "path": "/token",
    "query": {},
    "status": 200,
    "token_holder": None,
    "body": {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"},
}


# --- the token exchange, then the call: GoogleVertexAiRequest, the request entities ------------


def test_embeddings_exchange_a_signed_jwt_for_a_token_then_predict(lab: Lab) -> None:
    body = {
        **vertex(**REGION, model_id="text-embedding-005"),
        "task_settings": {"auto_truncate": True},
    }
    response = put(lab, "text_embedding", "gecko", body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "inference_id": "gecko",
        "task_type": "text_embedding",
        "service": "googlevertexai",
        "service_settings": {
            **REGION,
            "model_id": "text-embedding-005",
            "dimensions": 8,
            "similarity": "dot_product",
            "rate_limit": {"requests_per_minute": 30000},
        },
        "task_settings": {"auto_truncate": True},
        "chunking_settings": CHUNKING,
    }
    assert calls(lab) == [
        TOKEN_CALL,
        {
            "path": "/v1/projects/lab-project/locations/us-central1/publishers/google/models/"
            "text-embedding-005:predict",
            "query": {},
            "status": 200,
            "token_holder": LAB_EMAIL,
            "body": {
                "instances": [{"content": "how big", "task_type": "RETRIEVAL_DOCUMENT"}],
                "parameters": {"autoTruncate": True},
            },
        },
    ]


def test_rerank_calls_discovery_engine_with_the_default_ranking_config(lab: Lab) -> None:
    body = {
        **vertex(project_id="lab-project", model_id="semantic-ranker-512"),
        "task_settings": {"top_n": 2},
    }
    response = put(lab, "rerank", "ranker", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "project_id": "lab-project",
        "model_id": "semantic-ranker-512",
        "rate_limit": {"requests_per_minute": 300},
    }
    assert calls(lab)[1] == {
        "path": "/v1/projects/lab-project/locations/global/rankingConfigs/"
        "default_ranking_config:rank",
        "query": {},
        "status": 200,
        "token_holder": LAB_EMAIL,
        "body": {
            "model": "semantic-ranker-512",
            "query": "test query",
            "records": [{"id": "0", "content": "how big"}],
            "topN": 2,
        },
    }


@pytest.mark.parametrize("task", ["completion", "chat_completion"])
def test_completion_streams_generated_content_with_the_thinking_budget(lab: Lab, task: str) -> None:
    body = {
        **vertex(**REGION, model_id="gemini-2.5-flash"),
        "task_settings": {"thinking_config": {"thinking_budget": 64}},
    }
    response = put(lab, task, "gemini", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "project_id": "lab-project",
        "location": "us-central1",
        "model_id": "gemini-2.5-flash",
        "rate_limit": {"requests_per_minute": 1000},
    }
    call = calls(lab)[1]
    assert call["path"].endswith("/models/gemini-2.5-flash:streamGenerateContent")
    assert call["query"] == {"alt": "sse"}
    assert call["body"] == {
        "contents": [{"role": "user", "parts": [{"text": "how big"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 64}},
    }


def test_get_shows_neither_the_key_json_nor_its_private_key(lab: Lab) -> None:
    assert put(lab, "rerank", "ranker", vertex(project_id="lab-project")).status_code == 200
    shown = lab.es.get("/_inference/ranker").text
    private_key = json.loads(key_json())["private_key"]
    assert "service_account_json" not in shown
    assert "PRIVATE KEY" not in shown and private_key not in shown


# --- a key Google refuses, or that cannot be read: a 403 inside ES's validation failure --------


def token_failure(description: str, email: str = LAB_EMAIL) -> str:
    body = json.dumps({"error": "invalid_grant", "error_description": description})
    return (
        "Error getting access token for service account: 400 Bad Request\n"
        f"POST https://oauth2.googleapis.com/token\n{body}, iss: {email}"
    )


KEY_ERRORS = [
    (
        new_service_account("lab").key_json,
        token_failure("Invalid JWT Signature."),
    ),
    (
        key_json("stranger"),
        token_failure(
            "Invalid grant: account not found", "stranger@lab-project.iam.gserviceaccount.com"
        ),
    ),
    (
        json.dumps({"type": "authorized_user", "client_id": "c"}),
        "Error reading credentials from stream, 'type' value 'authorized_user' not recognized."
        " Expecting 'service_account'.",
    ),
    (
        json.dumps({"project_id": "p"}),
        "Error reading credentials from stream, 'type' field not specified.",
    ),
    (
        json.dumps({"type": "service_account", "client_email": LAB_EMAIL}),
        "Error reading service account credential from JSON, expecting  'client_id',"
        " 'client_email', 'private_key' and 'private_key_id'.",
    ),
    (
        json.dumps({**json.loads(key_json()), "private_key": "-----BEGIN PRIVATE KEY-----\nx"}),
        "Invalid PKCS#8 data.",
    ),
]


@pytest.mark.parametrize(
    ("key", "message"),
    KEY_ERRORS,
    ids=[
        "a key Google did not issue for the account (a wrong signature)",
        "an account Google does not know",
        "credentials that are not a service account",
        "JSON without a type",
        "a key JSON without its fields",
        "a private key that is not PKCS#8",
    ],
)
def test_a_bad_service_account_fails_the_put_with_es_message(
    lab: Lab, key: str, message: str
) -> None:
    response = put(lab, "rerank", "ranker", vertex(key, project_id="lab-project"))
    assert reason(response) == (400, "status_exception", VALIDATION_FAILED)
    assert response.json()["error"]["caused_by"] == {"type": "status_exception", "reason": message}
    assert lab.endpoint("ranker") is None
    assert "PRIVATE KEY" not in response.text
    assert all(c["path"] == "/token" for c in calls(lab))


def test_the_stand_in_refuses_a_model_call_without_a_token_it_issued(lab: Lab) -> None:
    path = "/v1/projects/p/locations/us-central1/publishers/google/models/m:predict"
    answer = lab.google.post(path, json={"instances": []}, headers={"Authorization": "Bearer x"})
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"


# --- parsing: the settings classes and GoogleVertexAiSecretSettings ----------------------------


PARSE_ERRORS = [
    (
        "text_embedding",
        vertex(),
        "Validation Failed: 1: [service_settings] does not contain the required setting"
        " [location];2: [service_settings] does not contain the required setting [project_id];"
        "3: [service_settings] does not contain the required setting [model_id];",
    ),
    (
        "chat_completion",
        vertex(project_id="p", model_id="gemini-2.5-flash"),
        "Validation Failed: 1: [service_settings] does not contain the required setting"
        " [location];",
    ),
    (
        "text_embedding",
        vertex(**REGION, model_id="m", dimensions_set_by_user=True),
        "Validation Failed: 1: [service_settings] does not allow the setting"
        " [dimensions_set_by_user];",
    ),
    (
        "rerank",
        {"service": "googlevertexai", "service_settings": {"project_id": "p"}},
        "Validation Failed: 1: [secret_settings] does not contain the required setting"
        " [service_account_json];",
    ),
    (
        "rerank",
        {**vertex(project_id="p"), "task_settings": {"top_n": 0}},
        "Validation Failed: 1: [task_settings] Invalid value [0]. [top_n] must be a positive"
        " integer;",
    ),
]


@pytest.mark.parametrize(
    ("task", "body", "message"),
    PARSE_ERRORS,
    ids=[
        "embeddings need location, project_id and model_id",
        "completion needs a location",
        "dimensions_set_by_user is never the user's",
        "the key JSON is required",
        "top_n is positive",
    ],
)
def test_a_bad_config_is_refused_with_es_message(
    lab: Lab, task: str, body: dict[str, Any], message: str
) -> None:
    assert reason(put(lab, task, "v", body)) == (400, "validation_exception", message)
    assert calls(lab) == []


def test_max_batch_size_is_read_from_9_3_up_to_250(labs: dict[str, Lab]) -> None:
    body = vertex(**REGION, model_id="m", max_batch_size=100)
    assert reason(put(fresh(labs["9.1"]), "text_embedding", "v", body)) == (
        400,
        "status_exception",
        "Model configuration contains settings [{max_batch_size=100}] unknown to the"
        " [googlevertexai] service",
    )
    newer = fresh(labs["9.4"])
    created = put(newer, "text_embedding", "v", body)
    assert created.status_code == 200, created.text
    assert created.json()["service_settings"]["max_batch_size"] == 100
    too_big = vertex(**REGION, model_id="m", max_batch_size=251)
    assert reason(put(newer, "text_embedding", "w", too_big)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] Invalid value [251]. [max_batch_size] must be a"
        " less than or equal to [250];",
    )


# --- _update ----------------------------------------------------------------------------------


def test_before_9_5_service_settings_in_an_update_need_the_key_again(lab: Lab) -> None:
    assert put(lab, "rerank", "ranker", vertex(project_id="lab-project")).status_code == 200
    update = {"service_settings": {"rate_limit": {"requests_per_minute": 10}}}
    assert reason(lab.es.put("/_inference/ranker/_update", json=update)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [secret_settings] does not contain the required setting"
        " [service_account_json];",
    )


def test_a_rotated_key_is_validated_by_its_own_token_from_9_4(labs: dict[str, Lab]) -> None:
    lab = fresh(labs["9.4"])
    assert put(lab, "rerank", "ranker", vertex(project_id="lab-project")).status_code == 200
    lab.google.delete("/_emulator/requests").raise_for_status()
    rotated = {"service_settings": {"service_account_json": key_json("rotated")}}
    response = lab.es.put("/_inference/ranker/_update", json=rotated)
    assert response.status_code == 200, response.text
    assert [c["token_holder"] for c in calls(lab)] == [
        None,
        "rotated@lab-project.iam.gserviceaccount.com",
    ]
    unknown = {"service_settings": {"service_account_json": key_json("stranger")}}
    assert reason(lab.es.put("/_inference/ranker/_update", json=unknown))[2] == VALIDATION_FAILED


# --- GET _inference/_services -----------------------------------------------------------------


def test_the_services_api_describes_googlevertexai(lab: Lab) -> None:
    listed = lab.es.get("/_inference/_services").json()
    [described] = [s for s in listed if s["service"] == "googlevertexai"]
    every = ["text_embedding", "rerank", "completion", "chat_completion"]
    assert described["name"] == "Google Vertex AI"
    assert described["task_types"] == every
    fields = described["configurations"]
    assert sorted(fields) == [
        "location",
        "model_id",
        "project_id",
        "rate_limit.requests_per_minute",
        "service_account_json",
    ]
    assert fields["service_account_json"] == {
        "description": "API Key for the provider you're connecting to.",
        "label": "Credentials JSON",
        "required": True,
        "sensitive": True,
        "updatable": True,
        "type": "str",
        "supported_task_types": every,
    }
    assert fields["location"]["supported_task_types"] == [
        "text_embedding",
        "completion",
        "chat_completion",
    ]


@pytest.mark.parametrize("version", ["8.17.0", "8.19.0", "9.0.0", "9.2.0", "9.5.0"])
def test_every_covered_version_creates_a_rerank_endpoint_with_a_token(version: str) -> None:
    with lab_servers(es_version=version) as running:
        response = put(running, "rerank", "ranker", vertex(project_id="lab-project"))
        assert response.status_code == 200, response.text
        assert [c["token_holder"] for c in calls(running)] == [None, LAB_EMAIL]


def test_completion_is_not_a_vertex_task_before_8_19_and_9_1() -> None:
    body = vertex(**REGION, model_id="gemini-2.5-flash")
    with lab_servers(es_version="9.0.0") as older:
        assert reason(put(older, "completion", "gemini", body)) == (
            400,
            "status_exception",
            "The [googlevertexai] service does not support task type [completion]",
        )
        assert calls(older) == []
