"""PUT /_inference/.../_update: what each version lets you change, and its errors."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from ._helpers import HF_KEY, error_of, hf_body


def embed_url(hf: httpx.Client) -> str:
    return str(hf.base_url).rstrip("/") + "/embed"


def setup(
    make_es: Any, hf: httpx.Client, version: str, task_type: str = "text_embedding", **extra: Any
) -> httpx.Client:
    es: httpx.Client = make_es(version=version, default_endpoints=False)
    path = "/rerank" if task_type == "rerank" else "/embed"
    body = {**hf_body(str(hf.base_url).rstrip("/") + path), **extra}
    es.put(f"/_inference/{task_type}/e", json=body).raise_for_status()
    hf.delete("/_emulator/requests").raise_for_status()
    return es


def stored(es: httpx.Client) -> dict[str, Any]:
    return dict(es.get("/_emulator/endpoints/e").json())


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


LEGACY_CHUNKING = {"strategy": "word", "max_chunk_size": 250, "overlap": 100}


@pytest.mark.parametrize(
    "version",
    ["8.17.0", "9.0.0", "9.1.0", "9.2.5", "9.3.0"],
    ids=["on 8.17", "on 9.0", "on 9.1", "on 9.2.5", "on 9.3.0"],
)
def test_before_9_4_update_changes_the_secret_ignores_other_settings_and_resets_chunking(
    make_es: Any, hf: httpx.Client, version: str
) -> None:
    es = setup(make_es, hf, version)
    before = es.get("/_inference/e").json()["endpoints"][0]
    body = {
        "service_settings": {
            "api_key": "hf_rotated",
            "rate_limit": {"requests_per_minute": 5},
            "url": "x",
        }
    }
    response = es.put("/_inference/text_embedding/e/_update", json=body)
    assert response.status_code == 200
    # elastic/elasticsearch#139574: the stored endpoint loses its chunking settings.
    assert response.json() == {**before, "chunking_settings": LEGACY_CHUNKING}
    assert es.get("/_inference/e").json()["endpoints"][0] == response.json()
    assert stored(es)["service_settings"]["api_key_sha256"] == sha("hf_rotated")
    assert hf.get("/_emulator/requests").json()["requests"] == []


@pytest.mark.parametrize(
    ("version", "kept"),
    [("9.2.5", False), ("9.2.6", True), ("9.3.0", False), ("9.3.1", True), ("9.2.8", True)],
    ids=["9.2.5 resets", "9.2.6 keeps", "9.3.0 resets", "9.3.1 keeps", "9.2.8 keeps"],
)
def test_the_chunking_reset_ends_with_the_backported_fix(
    make_es: Any, hf: httpx.Client, version: str, kept: bool
) -> None:
    custom = {"strategy": "sentence", "max_chunk_size": 100, "sentence_overlap": 0}
    es = setup(make_es, hf, version, chunking_settings=custom)
    body = {"service_settings": {"api_key": HF_KEY + "2"}}
    es.put("/_inference/text_embedding/e/_update", json=body).raise_for_status()
    shown = es.get("/_inference/e").json()["endpoints"][0]["chunking_settings"]
    assert shown == (custom if kept else LEGACY_CHUNKING)


def test_an_update_that_changes_nothing_keeps_the_chunking_even_with_the_reset(
    make_es: Any, hf: httpx.Client
) -> None:
    custom = {"strategy": "word", "max_chunk_size": 80, "overlap": 20}
    es = setup(make_es, hf, "9.1.0", chunking_settings=custom)
    body = {"service_settings": {"api_key": HF_KEY}}
    assert es.put("/_inference/text_embedding/e/_update", json=body).json()[
        "chunking_settings"
    ] == (custom)


@pytest.mark.parametrize("version", ["8.17.0", "9.1.0", "9.4.0"])
def test_until_9_5_service_settings_without_the_api_key_fail(
    make_es: Any, hf: httpx.Client, version: str
) -> None:
    es = setup(make_es, hf, version)
    body = {"service_settings": {"rate_limit": {"requests_per_minute": 5}}}
    assert error_of(es.put("/_inference/text_embedding/e/_update", json=body)) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [secret_settings] does not contain the required setting [api_key];",
    )


def test_on_9_4_rate_limit_and_url_are_silently_ignored_and_chunking_is_refused(
    make_es: Any, hf: httpx.Client
) -> None:
    es = setup(make_es, hf, "9.4.0")
    before = es.get("/_inference/e").json()["endpoints"][0]
    body = {
        "service_settings": {
            "api_key": HF_KEY,
            "rate_limit": {"requests_per_minute": 5},
            "url": "http://127.0.0.1:1/other",
        }
    }
    response = es.put("/_inference/text_embedding/e/_update", json=body)
    assert response.status_code == 200
    assert response.json() == before
    chunking = {"strategy": "none"}
    refused = es.put("/_inference/text_embedding/e/_update", json={"chunking_settings": chunking})
    assert error_of(refused) == (
        400,
        "status_exception",
        "Request contained fields which cannot be updated, remove these fields and try again"
        " [{chunking_settings={strategy=none}}]",
    )


def test_on_8_17_the_update_path_needs_a_task_type(make_es: Any, hf: httpx.Client) -> None:
    es = setup(make_es, hf, "8.17.0")
    response = es.put("/_inference/e/_update", json={"service_settings": {"api_key": "k"}})
    assert error_of(response) == (
        400,
        "status_exception",
        "Inference ID must be provided in the path",
    )


def test_from_8_18_the_update_path_may_omit_the_task_type(make_es: Any, hf: httpx.Client) -> None:
    es = setup(make_es, hf, "8.18.0")
    assert (
        es.put("/_inference/e/_update", json={"service_settings": {"api_key": "k"}}).status_code
        == 200
    )


def test_before_8_17_there_is_no_update_api(make_es: Any) -> None:
    es = make_es(version="8.16.0", default_endpoints=False)
    response = es.put("/_inference/text_embedding/e/_update", json={})
    assert response.status_code == 400
    assert response.json() == {
        "error": "no handler found for uri [/_inference/text_embedding/e/_update] and method [PUT]",
        "status": 400,
    }


def test_rerank_task_settings_are_merged_field_by_field(make_es: Any, hf: httpx.Client) -> None:
    es = setup(make_es, hf, "9.1.0", "rerank", task_settings={"top_n": 2})
    response = es.put(
        "/_inference/rerank/e/_update", json={"task_settings": {"return_documents": True}}
    )
    assert response.json()["task_settings"] == {"return_documents": True, "top_n": 2}


@pytest.mark.parametrize(
    ("path", "body", "status", "error_type", "reason"),
    [
        (
            "/_inference/text_embedding/e/_update",
            {},
            400,
            "status_exception",
            "Request body is empty",
        ),
        (
            "/_inference/text_embedding/e/_update",
            None,
            400,
            "parse_exception",
            "request body is required",
        ),
        (
            "/_inference/text_embedding/e/_update",
            {"service": "hugging_face", "service_settings": {}},
            400,
            "status_exception",
            "Request contained fields which cannot be updated, remove these fields and try again"
            " [{service=hugging_face}]",
        ),
        (
            "/_inference/text_embedding/e/_update",
            {"service_settings": "x"},
            400,
            "status_exception",
            "Unable to parse service settings in the request [x]",
        ),
        (
            "/_inference/text_embedding/e/_update",
            {"task_settings": [1]},
            400,
            "status_exception",
            "Unable to parse task settings in the request [[1]]",
        ),
        (
            "/_inference/text_embedding/missing/_update",
            {"task_settings": {}},
            404,
            "resource_not_found_exception",
            "The inference endpoint [missing] does not exist and cannot be updated",
        ),
        (
            "/_inference/rerank/e/_update",
            {"task_settings": {}},
            400,
            "status_exception",
            "Task type must match the task type of the existing endpoint",
        ),
        (
            "/_inference/e/_update",
            {"task_type": "rerank", "task_settings": {}},
            400,
            "status_exception",
            "Task type must match the task type of the existing endpoint",
        ),
        (
            "/_inference/text_embedding/E/_update",
            {"task_settings": {}},
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: Invalid inference_id; 'E' can contain lowercase alphanumeric (a-z and 0-9),"
            " hyphens or underscores; must start and end with alphanumeric;",
        ),
        (
            "/_inference/text_embedding/e/_update",
            {"service_settings": {"api_key": ""}},
            400,
            "validation_exception",
            "Validation Failed: 1: [secret_settings] Invalid value empty string. [api_key] must be a non-empty"
            " string;",
        ),
        (
            "/_inference/text_embedding/e/_update?timeout=1s",
            {"task_settings": {}},
            400,
            "illegal_argument_exception",
            "request [/_inference/text_embedding/e/_update] contains unrecognized parameter: [timeout]",
        ),
    ],
    ids=[
        "an empty body",
        "no body",
        "service cannot be updated",
        "service_settings must be an object",
        "task_settings must be an object",
        "a missing endpoint",
        "a url task type that does not match",
        "a body task type that does not match",
        "an invalid id",
        "an empty api key",
        "timeout is not a parameter before 9.5",
    ],
)
def test_update_errors(
    make_es: Any, hf: httpx.Client, path: str, body: Any, status: int, error_type: str, reason: str
) -> None:
    es = setup(make_es, hf, "9.1.0")
    response = es.put(path) if body is None else es.put(path, json=body)
    assert error_of(response) == (status, error_type, reason)


def test_post_is_not_an_update_method(make_es: Any, hf: httpx.Client) -> None:
    es = setup(make_es, hf, "9.1.0")
    response = es.post("/_inference/text_embedding/e/_update", json={"task_settings": {}})
    assert response.status_code == 405
    assert response.headers["Allow"] == "PUT"


def test_from_9_5_rate_limit_and_chunking_update_and_a_validation_call_runs(
    make_es: Any, hf: httpx.Client
) -> None:
    es = setup(make_es, hf, "9.5.0")
    body = {
        "service_settings": {"api_key": HF_KEY, "rate_limit": {"requests_per_minute": 5}},
        "chunking_settings": {"strategy": "word", "max_chunk_size": 100, "overlap": 10},
    }
    response = es.put("/_inference/text_embedding/e/_update", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"]["rate_limit"] == {"requests_per_minute": 5}
    assert response.json()["chunking_settings"] == {
        "strategy": "word",
        "max_chunk_size": 100,
        "overlap": 10,
    }
    (call,) = hf.get("/_emulator/requests").json()["requests"]
    assert call["body"] == {"inputs": ["how big"]}
    assert call["token_sha256"] == sha(HF_KEY)


def test_from_9_4_an_update_with_a_rejected_key_fails_validation_and_changes_nothing(
    make_es: Any, hf: httpx.Client
) -> None:
    es = setup(make_es, hf, "9.4.0")
    response = es.put(
        "/_inference/text_embedding/e/_update",
        json={"service_settings": {"api_key": "wrong", "rate_limit": {"requests_per_minute": 5}}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["caused_by"]["reason"].startswith(
        "Received an authentication error"
    )
    assert stored(es)["service_settings"]["api_key_sha256"] == sha(HF_KEY)
    assert stored(es)["service_settings"]["rate_limit"] == {"requests_per_minute": 3000}


def test_from_9_4_an_unchanged_update_skips_the_validation_call(
    make_es: Any, hf: httpx.Client
) -> None:
    es = setup(make_es, hf, "9.4.0")
    body = {"service_settings": {"api_key": HF_KEY, "url": embed_url(hf), "similarity": "cosine"}}
    assert es.put("/_inference/text_embedding/e/_update", json=body).status_code == 200
    assert hf.get("/_emulator/requests").json()["requests"] == []
    log = es.get("/_emulator/requests").json()["requests"]
    assert log[-1]["mutated"] is False


@pytest.mark.parametrize(
    ("settings", "leftover"),
    [
        ({"url": "http://127.0.0.1:1/other"}, "{url=http://127.0.0.1:1/other}"),
        ({"foo": "bar"}, "{foo=bar}"),
    ],
    ids=["a different url is not updatable", "an unknown key"],
)
def test_from_9_5_non_updatable_or_unknown_service_settings_are_rejected(
    make_es: Any, hf: httpx.Client, settings: dict[str, Any], leftover: str
) -> None:
    es = setup(make_es, hf, "9.5.0")
    response = es.put("/_inference/text_embedding/e/_update", json={"service_settings": settings})
    assert error_of(response) == (
        400,
        "status_exception",
        f"Configuration contains settings [{leftover}] unknown to the [hugging_face] service",
    )


def test_timeout_is_an_update_parameter_from_9_5(make_es: Any, hf: httpx.Client) -> None:
    es = setup(make_es, hf, "9.5.0")
    response = es.put("/_inference/text_embedding/e/_update?timeout=5s", json={"task_settings": {}})
    assert response.status_code == 200
