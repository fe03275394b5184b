"""The emulator's `amazonbedrock` service against ES's source, and the SigV4 stand-in it calls.

The classes each test follows are named in emulators/elasticsearch/services/amazonbedrock.py
(with the versions and the choices the sources left open). The validation call is signed with
AWS Signature Version 4 and checked by the Bedrock stand-in (emulators/vendors/aws.py), so a
created endpoint proves the signature; the refusals prove the stand-in checks it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.elasticsearch.services.amazonbedrock import sign
from emulators.lab import (
    AWS_ACCESS_KEY,
    AWS_ACCESS_KEY_ROTATED,
    AWS_SECRET_KEY,
    AWS_SECRET_KEY_ROTATED,
    Lab,
    lab_servers,
)

VALIDATION_FAILED = (
    "Could not complete inference endpoint creation as validation call to service threw an"
    " exception."
)
TITAN = "amazon.titan-embed-text-v2:0"
KEYS = {"access_key": AWS_ACCESS_KEY, "secret_key": AWS_SECRET_KEY}
CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}


@pytest.fixture(scope="module")
def labs() -> Iterator[dict[str, Lab]]:
    with (
        lab_servers(es_version="9.1.0") as v91,
        lab_servers(es_version="9.4.0") as v94,
        lab_servers(es_version="9.5.0") as v95,
    ):
        yield {"9.1": v91, "9.4": v94, "9.5": v95}


def fresh(lab: Lab) -> Lab:
    lab.delete_user_endpoints()
    lab.bedrock.delete("/_emulator/requests").raise_for_status()
    return lab


@pytest.fixture
def lab(labs: dict[str, Lab]) -> Lab:
    return fresh(labs["9.1"])


def bedrock(provider: str = "amazontitan", model: str = TITAN, **extra: Any) -> dict[str, Any]:
    settings = {**KEYS, "region": "us-east-1", "model": model, "provider": provider, **extra}
    return {"service": "amazonbedrock", "service_settings": settings}


def put(lab: Lab, task: str, inference_id: str, body: dict[str, Any]) -> httpx.Response:
    return lab.es.put(f"/_inference/{task}/{inference_id}", json=body)


def reason(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["type"], error["reason"]


def calls(lab: Lab) -> list[dict[str, Any]]:
    return list(lab.bedrock.get("/_emulator/requests").json()["requests"])


# --- the signed call: AmazonBedrockInferenceClient, the request entities -----------------------


def test_titan_embeddings_are_signed_for_the_region_and_get_their_size(lab: Lab) -> None:
    response = put(lab, "text_embedding", "titan", bedrock())
    assert response.status_code == 200, response.text
    shown = {
        "region": "us-east-1",
        "model": TITAN,
        "provider": "AMAZONTITAN",
        "dimensions": 8,
        "similarity": "cosine",
        "rate_limit": {"requests_per_minute": 240},
    }
    assert response.json() == {
        "inference_id": "titan",
        "task_type": "text_embedding",
        "service": "amazonbedrock",
        "service_settings": shown,
        "chunking_settings": CHUNKING,
    }
    [call] = calls(lab)
    assert call["status"] == 200
    assert call["host"] == "bedrock-runtime.us-east-1.amazonaws.com"
    assert call["raw_path"] == "/model/amazon.titan-embed-text-v2%3A0/invoke"
    assert call["access_key"] == AWS_ACCESS_KEY
    assert {"host", "x-amz-date"} <= set(call["signed_headers"])
    assert call["body"] == {"inputText": "how big"}


def test_cohere_embeddings_send_texts_for_documents(lab: Lab) -> None:
    body = bedrock("cohere", "cohere.embed-english-v3", similarity="dot_product")
    response = put(lab, "text_embedding", "co", body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"]["similarity"] == "dot_product"
    assert response.json()["service_settings"]["provider"] == "COHERE"
    assert [c["body"] for c in calls(lab)] == [
        {"texts": ["how big"], "input_type": "search_document"}
    ]


def test_completion_calls_converse_with_the_task_settings(lab: Lab) -> None:
    body = {
        **bedrock("anthropic", "anthropic.claude-3-5-haiku"),
        "task_settings": {"temperature": 0.5, "top_p": 0.25, "top_k": 0.75, "max_new_tokens": 32},
    }
    response = put(lab, "completion", "claude", body)
    assert response.status_code == 200, response.text
    assert response.json()["task_settings"] == body["task_settings"]
    [call] = calls(lab)
    assert call["path"] == "/model/anthropic.claude-3-5-haiku/converse"
    assert call["body"] == {
        "messages": [{"role": "user", "content": [{"text": "how big"}]}],
        "inferenceConfig": {"maxTokens": 32, "temperature": 0.5, "topP": 0.25},
        "additionalModelResponseFieldPaths": ['{"top_k":0.750000}'],
    }


def test_chat_completion_exists_from_9_4_and_streams_through_converse_stream(
    labs: dict[str, Lab],
) -> None:
    body = bedrock("meta", "meta.llama3-8b-instruct-v1:0")
    assert reason(put(fresh(labs["9.1"]), "chat_completion", "llama", body)) == (
        400,
        "status_exception",
        "The [amazonbedrock] service does not support task type [chat_completion]",
    )
    newer = fresh(labs["9.4"])
    response = put(newer, "chat_completion", "llama", body)
    assert response.status_code == 200, response.text
    assert [c["raw_path"] for c in calls(newer)] == [
        "/model/meta.llama3-8b-instruct-v1%3A0/converse-stream"
    ]


def test_get_shows_no_key(lab: Lab) -> None:
    assert put(lab, "text_embedding", "titan", bedrock()).status_code == 200
    shown = lab.es.get("/_inference/titan").text
    assert AWS_ACCESS_KEY not in shown and AWS_SECRET_KEY not in shown
    assert "access_key" not in shown and "secret_key" not in shown
    stored = lab.stored("titan")
    assert stored is not None
    assert stored["service_settings"]["secret_key_sha256"] == (
        hashlib.sha256(AWS_SECRET_KEY.encode()).hexdigest()
    )


# --- AWS's refusals, as ES reports them (AmazonBedrockInferenceClient.onFailure) ---------------


@pytest.mark.parametrize(
    ("keys", "aws_message"),
    [
        (
            {"access_key": "AKIAUNKNOWN000000000"},
            "The security token included in the request is invalid.",
        ),
        (
            {"secret_key": "not-the-secret"},
            "The request signature we calculated does not match the signature you provided."
            " Check your AWS Secret Access Key and signing method. Consult the service"
            " documentation for details.",
        ),
    ],
    ids=["an unknown access key is refused", "a wrong secret key is refused"],
)
def test_a_key_aws_refuses_fails_the_put_with_the_sdk_message(
    lab: Lab, keys: dict[str, str], aws_message: str
) -> None:
    response = put(lab, "text_embedding", "titan", bedrock(**keys))
    assert reason(response) == (400, "status_exception", VALIDATION_FAILED)
    cause = response.json()["error"]["caused_by"]
    [call] = calls(lab)
    assert call["status"] == 403
    assert cause["type"] == "exception"
    prefix = f"AmazonBedrock invoke model failure: [{aws_message} (Service: BedrockRuntime,"
    assert cause["reason"].startswith(f"{prefix} Status Code: 403, Request ID: ")
    assert lab.endpoint("titan") is None
    assert "not-the-secret" not in response.text


def test_the_stand_in_refuses_unsigned_and_tampered_requests(lab: Lab) -> None:
    path = "/model/amazon.titan-embed-text-v2%3A0/invoke"
    url = f"https://bedrock-runtime.us-east-1.amazonaws.com{path}"
    target = str(lab.bedrock.base_url).rstrip("/") + path
    content = json.dumps({"inputText": "hello"}).encode()
    headers = sign(url, content, AWS_ACCESS_KEY, AWS_SECRET_KEY, "us-east-1")

    signed = httpx.post(target, content=content, headers=headers)
    assert signed.status_code == 200 and len(signed.json()["embedding"]) == 8
    unsigned = httpx.post(target, content=content, headers={"Host": headers["Host"]})
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")
    tampered = httpx.post(target, content=b'{"inputText": "other"}', headers=headers)
    assert tampered.status_code == 403
    assert tampered.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException:")
    elsewhere = sign(url, content, AWS_ACCESS_KEY, AWS_SECRET_KEY, "eu-west-1")
    wrong_region = httpx.post(target, content=content, headers=elsewhere)
    assert wrong_region.json() == {"message": "Credential should be scoped to a valid region."}


# --- parsing: AmazonBedrockServiceSettings, the task settings, AwsSecretSettings ---------------


def test_model_region_and_provider_are_required_and_reported_together(lab: Lab) -> None:
    body = {"service": "amazonbedrock", "service_settings": dict(KEYS)}
    assert reason(put(lab, "completion", "b", body)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain the required setting [model];"
        "2: [service_settings] does not contain the required setting [region];"
        "3: [service_settings] does not contain the required setting [provider];",
    )


PARSE_ERRORS = [
    (
        "text_embedding",
        bedrock("openai"),
        "validation_exception",
        "Validation Failed: 1: [service_settings] Invalid value [openai] received. [provider]"
        " must be one of [ai21labs, amazontitan, anthropic, cohere, meta, mistral];",
    ),
    (
        "text_embedding",
        bedrock(dimensions=256),
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not allow the setting [dimensions];",
    ),
    (
        "text_embedding",
        bedrock("anthropic", "anthropic.claude-3"),
        "status_exception",
        "The [text_embedding] task type for provider [anthropic] is not available",
    ),
    (
        "completion",
        {**bedrock("meta", "meta.llama3"), "task_settings": {"top_k": 0.5}},
        "status_exception",
        "The [top_k] task parameter is not available for provider [meta]",
    ),
    (
        "completion",
        {**bedrock("mistral", "mistral.large"), "task_settings": {"temperature": 1}},
        "validation_exception",
        "Validation Failed: 1: field [temperature] is not of the expected type. The value [1]"
        " cannot be converted to a [Double];",
    ),
    (
        "completion",
        {**bedrock("mistral", "mistral.large"), "task_settings": {"top_p": 1.5}},
        "validation_exception",
        "Validation Failed: 1: [task_settings] Invalid value [1.5]. [top_p] must be a less than"
        " or equal to [1.0];",
    ),
    (
        "completion",
        {
            "service": "amazonbedrock",
            "service_settings": {
                "access_key": AWS_ACCESS_KEY,
                "region": "us-east-1",
                "model": "m",
                "provider": "meta",
            },
        },
        "validation_exception",
        "Validation Failed: 1: [secret_settings] does not contain the required setting"
        " [secret_key];",
    ),
]


@pytest.mark.parametrize(
    ("task", "body", "error_type", "message"),
    PARSE_ERRORS,
    ids=[
        "an unknown provider",
        "dimensions are measured, never declared",
        "anthropic does not embed",
        "top_k is for anthropic, cohere and mistral",
        "temperature is a Double",
        "top_p is at most 1.0",
        "both keys are required",
    ],
)
def test_a_bad_config_is_refused_with_es_message(
    lab: Lab, task: str, body: dict[str, Any], error_type: str, message: str
) -> None:
    assert reason(put(lab, task, "b", body)) == (400, error_type, message)
    assert calls(lab) == []


# --- _update: the AWS key pair ----------------------------------------------------------------


MISSING = "[secret_settings] does not contain the required setting"


@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        ({"access_key": AWS_ACCESS_KEY_ROTATED}, f"1: {MISSING} [secret_key];"),
        (
            {"rate_limit": {"requests_per_minute": 5}},
            f"1: {MISSING} [access_key];2: {MISSING} [secret_key];",
        ),
    ],
    ids=["one key alone is refused", "other service settings need both keys"],
)
def test_before_9_5_an_update_of_service_settings_needs_both_keys_again(
    lab: Lab, settings: dict[str, Any], problems: str
) -> None:
    assert put(lab, "text_embedding", "titan", bedrock()).status_code == 200
    response = lab.es.put("/_inference/titan/_update", json={"service_settings": settings})
    assert reason(response) == (400, "validation_exception", f"Validation Failed: {problems}")
    stored = lab.stored("titan")
    assert stored is not None
    assert stored["service_settings"]["access_key_sha256"] == (
        hashlib.sha256(AWS_ACCESS_KEY.encode()).hexdigest()
    )


def test_from_9_5_the_keys_are_updated_together_and_the_new_pair_is_validated(
    labs: dict[str, Lab],
) -> None:
    lab = fresh(labs["9.5"])
    assert put(lab, "text_embedding", "titan", bedrock()).status_code == 200
    one = {"service_settings": {"access_key": AWS_ACCESS_KEY_ROTATED}}
    assert reason(lab.es.put("/_inference/titan/_update", json=one)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] [access_key] and [secret_key] must be updated"
        " together; missing: [secret_key];",
    )
    lab.bedrock.delete("/_emulator/requests").raise_for_status()
    pair = {"access_key": AWS_ACCESS_KEY_ROTATED, "secret_key": AWS_SECRET_KEY_ROTATED}
    response = lab.es.put("/_inference/titan/_update", json={"service_settings": pair})
    assert response.status_code == 200, response.text
    assert [c["access_key"] for c in calls(lab)] == [AWS_ACCESS_KEY_ROTATED]
    stored = lab.stored("titan")
    assert stored is not None
    assert stored["service_settings"]["access_key_sha256"] == (
        hashlib.sha256(AWS_ACCESS_KEY_ROTATED.encode()).hexdigest()
    )
    mismatched = {"access_key": AWS_ACCESS_KEY, "secret_key": AWS_SECRET_KEY_ROTATED}
    refused = lab.es.put("/_inference/titan/_update", json={"service_settings": mismatched})
    assert reason(refused)[2] == VALIDATION_FAILED


# --- GET _inference/_services -----------------------------------------------------------------


def test_the_services_api_describes_amazonbedrock(labs: dict[str, Lab]) -> None:
    listed = labs["9.4"].es.get("/_inference/_services").json()
    [described] = [s for s in listed if s["service"] == "amazonbedrock"]
    every = ["text_embedding", "completion", "chat_completion"]
    assert described["name"] == "Amazon Bedrock"
    assert described["task_types"] == every
    fields = described["configurations"]
    assert sorted(fields) == [
        "access_key",
        "dimensions",
        "model",
        "provider",
        "rate_limit.requests_per_minute",
        "region",
        "secret_key",
    ]
    assert fields["secret_key"] == {
        "description": "A valid AWS secret key that is paired with the access_key.",
        "label": "Secret Key",
        "required": True,
        "sensitive": True,
        "updatable": True,
        "type": "str",
        "supported_task_types": every,
    }
    assert fields["dimensions"]["supported_task_types"] == ["text_embedding"]
    assert fields["rate_limit.requests_per_minute"]["description"] == (
        "By default, the amazonbedrock service sets the number of requests allowed per minute"
        " to 240."
    )
    older = labs["9.1"].es.get("/_inference/_services").json()
    [before] = [s for s in older if s["service"] == "amazonbedrock"]
    assert before["task_types"] == ["text_embedding", "completion"]


@pytest.mark.parametrize("version", ["8.17.0", "8.19.0", "9.0.0", "9.2.0", "9.5.0"])
def test_every_covered_version_creates_a_signed_titan_endpoint(version: str) -> None:
    with lab_servers(es_version=version) as running:
        response = put(running, "text_embedding", "titan", bedrock())
        assert response.status_code == 200, response.text
        assert response.json()["service_settings"]["provider"] == "AMAZONTITAN"
        assert [c["access_key"] for c in calls(running)] == [AWS_ACCESS_KEY]
