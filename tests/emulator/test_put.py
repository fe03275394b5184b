"""PUT /_inference: processing order, hugging_face settings, defaults, the validation call."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from ._helpers import HF_KEY, error_of, hf_body

VALIDATION_FAILED = (
    "Could not complete inference endpoint creation as validation call to service threw an"
    " exception."
)


def hf_url(hf: httpx.Client, path: str) -> str:
    return str(hf.base_url).rstrip("/") + path


def embed_url(hf: httpx.Client) -> str:
    return hf_url(hf, "/embed")


def hf_calls(hf: httpx.Client) -> list[dict[str, Any]]:
    return list(hf.get("/_emulator/requests").json()["requests"])


def test_a_text_embedding_put_returns_the_validated_endpoint_with_discovered_defaults(
    es: httpx.Client, hf: httpx.Client
) -> None:
    response = es.put("/_inference/text_embedding/hf-emb", json=hf_body(embed_url(hf)))
    assert response.status_code == 200
    assert response.text.index('"inference_id"') < response.text.index('"task_type"')
    assert response.json() == {
        "inference_id": "hf-emb",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {
            "url": embed_url(hf),
            "similarity": "cosine",
            "dimensions": 384,
            "rate_limit": {"requests_per_minute": 3000},
        },
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
    }
    assert list(response.json()["service_settings"]) == [
        "url",
        "similarity",
        "dimensions",
        "rate_limit",
    ]


def test_the_validation_call_sends_how_big_with_the_endpoint_bearer_token(
    es: httpx.Client, hf: httpx.Client
) -> None:
    es.put("/_inference/text_embedding/hf-emb", json=hf_body(embed_url(hf))).raise_for_status()
    (call,) = hf_calls(hf)
    assert call["method"] == "POST"
    assert call["path"] == "/embed"
    assert call["body"] == {"inputs": ["how big"]}
    assert call["token_sha256"] == hashlib.sha256(HF_KEY.encode()).hexdigest()


def test_the_task_type_may_come_from_the_body_instead_of_the_url(
    es: httpx.Client, hf: httpx.Client
) -> None:
    body = {**hf_body(embed_url(hf)), "task_type": "text_embedding"}
    response = es.put("/_inference/hf-emb", json=body)
    assert response.status_code == 200
    assert response.json()["task_type"] == "text_embedding"


def test_discovered_dimensions_overwrite_the_users_and_given_settings_are_kept(
    es: httpx.Client, hf: httpx.Client
) -> None:
    body = hf_body(
        embed_url(hf),
        dimensions=12,
        similarity="DOT_PRODUCT",
        max_input_tokens=128,
        rate_limit={"requests_per_minute": 10},
    )
    settings = es.put("/_inference/text_embedding/e", json=body).json()["service_settings"]
    assert settings == {
        "url": embed_url(hf),
        "similarity": "dot_product",
        "dimensions": 384,
        "max_input_tokens": 128,
        "rate_limit": {"requests_per_minute": 10},
    }


def test_the_api_key_never_appears_in_any_response(es: httpx.Client, hf: httpx.Client) -> None:
    texts = [
        es.put("/_inference/text_embedding/e", json=hf_body(embed_url(hf))).text,
        es.get("/_inference/e").text,
        es.get("/_inference").text,
        es.put(
            "/_inference/text_embedding/e/_update", json={"service_settings": {"api_key": HF_KEY}}
        ).text,
        es.get("/_emulator/endpoints").text,
    ]
    assert all(HF_KEY not in text for text in texts)


def test_skip_validate_and_start_stores_the_endpoint_without_calling_hugging_face(
    es: httpx.Client, hf: httpx.Client
) -> None:
    settings = {"persistent": {"xpack.inference.skip_validate_and_start": True}}
    es.put("/_cluster/settings", json=settings).raise_for_status()
    response = es.put("/_inference/text_embedding/e", json=hf_body("http://127.0.0.1:9/nowhere"))
    assert response.status_code == 200
    assert response.json()["service_settings"] == {
        "url": "http://127.0.0.1:9/nowhere",
        "rate_limit": {"requests_per_minute": 3000},
    }
    assert hf_calls(hf) == []


@pytest.mark.parametrize(
    ("task_type", "path", "task_settings", "expected_body", "service_settings"),
    [
        ("sparse_embedding", "/sparse", None, {"inputs": ["how big"]}, {"max_input_tokens": 512}),
        (
            "rerank",
            "/rerank",
            {"return_documents": True, "top_n": 2},
            {"texts": ["how big"], "query": "test query", "return_text": True, "top_n": 2},
            {},
        ),
        (
            "completion",
            "/v1/chat/completions",
            None,
            {
                "messages": [{"content": "how big", "role": "user"}],
                "model": "m",
                "n": 1,
                "stream": False,
            },
            {"model_id": "m"},
        ),
        (
            "chat_completion",
            "/v1/chat/completions",
            None,
            {
                "messages": [{"content": "how big", "role": "user"}],
                "model": "m",
                "n": 1,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            {"model_id": "m"},
        ),
    ],
    ids=["sparse embedding", "rerank", "completion", "chat completion (streamed)"],
)
def test_each_task_type_sends_its_validation_request_and_returns_its_settings(
    es: httpx.Client,
    hf: httpx.Client,
    task_type: str,
    path: str,
    task_settings: dict[str, Any] | None,
    expected_body: dict[str, Any],
    service_settings: dict[str, Any],
) -> None:
    url = hf_url(hf, path)
    body = hf_body(url, **({"model_id": "m"} if "model_id" in service_settings else {}))
    if task_settings:
        body["task_settings"] = task_settings
    response = es.put(f"/_inference/{task_type}/ep", json=body)
    assert response.status_code == 200, response.text
    out = response.json()
    expected_settings = {
        **service_settings,
        "url": url,
        "rate_limit": {"requests_per_minute": 3000},
    }
    if task_type == "sparse_embedding":
        expected_settings = {
            "url": url,
            "max_input_tokens": 512,
            "rate_limit": {"requests_per_minute": 3000},
        }
    assert out["service_settings"] == expected_settings
    assert list(out["service_settings"]) == list(expected_settings)
    assert out.get("task_settings") == task_settings
    assert "chunking_settings" not in out
    assert hf_calls(hf)[0]["body"] == expected_body


def _java_unknown(keys: str, version_prefix: str = "Model configuration") -> str:
    return f"{version_prefix} contains settings [{keys}] unknown to the [hugging_face] service"


URL = "http://127.0.0.1:9/embed"
ERROR_ROWS: list[tuple[str, str, Any, int, str, str]] = [
    (
        "/_inference/text_embedding/Bad_Id",
        "put",
        hf_body(URL),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Invalid inference_id; 'Bad_Id' can contain lowercase alphanumeric (a-z and 0-9),"
        " hyphens or underscores; must start and end with alphanumeric;",
    ),
    (
        "/_inference/text_embedding/-x",
        "put",
        hf_body(URL),
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Invalid inference_id; '-x' can contain lowercase alphanumeric (a-z and 0-9),"
        " hyphens or underscores; must start and end with alphanumeric;",
    ),
    (
        "/_inference/embeddings/e",
        "put",
        hf_body(URL),
        400,
        "status_exception",
        "Unknown task_type [embeddings]",
    ),
    (
        "/_inference/e",
        "put",
        hf_body(URL),
        400,
        "status_exception",
        "model is missing required setting [task_type]",
    ),
    (
        "/_inference/e",
        "put",
        {**hf_body(URL), "task_type": "any"},
        400,
        "status_exception",
        "task_type [any] is not valid type for inference",
    ),
    (
        "/_inference/e",
        "put",
        {**hf_body(URL), "task_type": "nope"},
        400,
        "status_exception",
        "Unknown task_type [nope]",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {**hf_body(URL), "task_type": "rerank"},
        400,
        "status_exception",
        "Cannot resolve conflicting task_type parameter in the request URL [text_embedding] and the request body"
        " [rerank]",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {"service_settings": {}},
        400,
        "status_exception",
        "Inference endpoint configuration is missing the [service] setting",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {"service": "watsonxai", "service_settings": {}},
        400,
        "status_exception",
        "Unknown service [watsonxai]",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {"service": "hugging_face"},
        400,
        "status_exception",
        "Missing required field [service_settings]",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {"service": "hugging_face", "service_settings": {"api_key": "k"}},
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain the required setting [url];",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(""),
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] Invalid value empty string. [url] must be a non-empty string;",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body("a b"),
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] Invalid url [a b] received for field [url]. Error: unable to"
        " parse url [a b]. Reason: Illegal character in path;",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(URL, similarity="foo"),
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] Invalid value [foo] received. [similarity] must be one of"
        " [cosine, dot_product, l2_norm];",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(URL, dimensions="abc"),
        400,
        "validation_exception",
        "Validation Failed: 1: field [dimensions] is not of the expected type. The value [abc] cannot be"
        " converted to a [Integer];",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {
            "service": "hugging_face",
            "service_settings": {"api_key": "k", "similarity": "x", "dimensions": 0},
        },
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain the required setting [url];2: [service_settings]"
        " Invalid value [x] received. [similarity] must be one of [cosine, dot_product, l2_norm];3:"
        " [service_settings] Invalid value [0]. [dimensions] must be a positive integer;",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(URL, rate_limit={"requests_per_minute": 0}),
        400,
        "validation_exception",
        "Validation Failed: 1: [rate_limit] Invalid value [0]. [requests_per_minute] must be a positive long;",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(URL, rate_limit={"requests_per_minute": "x"}),
        400,
        "validation_exception",
        "Validation Failed: 1: field [requests_per_minute] is not of one of the expected types. The value [x]"
        " cannot be converted to one of [Integer, Long];",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(URL, rate_limit={"foo": 1}),
        400,
        "status_exception",
        _java_unknown("{foo=1}"),
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {"service": "hugging_face", "service_settings": {"url": URL}},
        400,
        "validation_exception",
        "Validation Failed: 1: [secret_settings] does not contain the required setting [api_key];",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(URL, api_key=""),
        400,
        "validation_exception",
        "Validation Failed: 1: [secret_settings] Invalid value empty string. [api_key] must be a non-empty string;",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        hf_body(URL, model_id="x"),
        400,
        "status_exception",
        _java_unknown("{model_id=x}"),
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {**hf_body(URL), "extra_key": "value"},
        400,
        "status_exception",
        _java_unknown("{extra_key=value}"),
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {**hf_body(URL), "zeta": 1, "alpha": [1, 2.5, True]},
        400,
        "status_exception",
        _java_unknown("{zeta=1, alpha=[1, 2.5, true]}"),
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {**hf_body(URL), "task_settings": {"foo": 1}},
        400,
        "status_exception",
        _java_unknown("{foo=1}"),
    ),
    (
        "/_inference/rerank/e",
        "put",
        {**hf_body(URL), "task_settings": {"top_n": 0}},
        400,
        "validation_exception",
        "Validation Failed: 1: [task_settings] Invalid value [0]. [top_n] must be a positive integer;",
    ),
    (
        "/_inference/rerank/e",
        "put",
        {**hf_body(URL), "chunking_settings": {"strategy": "none"}},
        400,
        "status_exception",
        _java_unknown("{chunking_settings={strategy=none}}"),
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        None,
        400,
        "parse_exception",
        "request body is required",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        b"{nope",
        400,
        "parse_exception",
        "Failed to parse content to map",
    ),
    (
        "/_inference/text_embedding/e",
        "put",
        {"service": "hugging_face", "service_settings": "x"},
        500,
        "class_cast_exception",
        "class java.lang.String cannot be cast to class java.util.Map (java.lang.String and java.util.Map are in"
        " module java.base of loader 'bootstrap')",
    ),
]


@pytest.mark.parametrize(
    ("path", "method", "body", "status", "error_type", "reason"),
    ERROR_ROWS,
    ids=[
        "an uppercase id is invalid",
        "an id starting with a hyphen is invalid",
        "an unknown task type in the url",
        "no task type anywhere",
        "task type any in the body",
        "an unknown task type in the body",
        "url and body task types conflict",
        "service is missing",
        "an unknown service",
        "service_settings is missing",
        "url is missing",
        "url is empty",
        "url does not parse",
        "similarity is not an enum value",
        "dimensions is a string",
        "service settings errors accumulate",
        "requests_per_minute is zero",
        "requests_per_minute is a string",
        "rate_limit has an unknown key",
        "api_key is missing",
        "api_key is empty",
        "model_id is not allowed for text embedding",
        "an unknown top-level key",
        "several unknown keys print in java hash order",
        "task settings on text embedding",
        "rerank top_n is zero",
        "chunking settings on rerank",
        "the body is missing",
        "the body is not json",
        "service_settings is not an object",
    ],
)
def test_invalid_puts_fail_with_the_elasticsearch_error(
    es: httpx.Client, path: str, method: str, body: Any, status: int, error_type: str, reason: str
) -> None:
    if isinstance(body, bytes):
        response = es.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
    elif body is None:
        response = es.request(method, path)
    else:
        response = es.request(method, path, json=body)
    assert error_of(response) == (status, error_type, reason)
    assert response.json()["error"]["root_cause"] == [{"type": error_type, "reason": reason}]
    assert response.json()["status"] == status


def test_a_duplicate_put_with_a_bad_key_fails_validation_before_already_exists(
    es: httpx.Client, hf: httpx.Client
) -> None:
    es.put("/_inference/text_embedding/dup", json=hf_body(embed_url(hf))).raise_for_status()
    bad = es.put("/_inference/text_embedding/dup", json=hf_body(embed_url(hf), api_key="wrong"))
    assert error_of(bad)[2] == VALIDATION_FAILED
    again = es.put("/_inference/text_embedding/dup", json=hf_body(embed_url(hf)))
    assert error_of(again) == (
        400,
        "resource_already_exists_exception",
        "Inference endpoint [dup] already exists",
    )
    assert [c["status"] for c in hf_calls(hf)] == [200, 401, 200]


def test_id_validation_comes_before_task_type_and_service_checks(es: httpx.Client) -> None:
    response = es.put("/_inference/BAD", json={"service": "nope"})
    assert error_of(response)[1] == "action_request_validation_exception"


def test_an_unknown_url_task_type_comes_before_a_missing_body(es: httpx.Client) -> None:
    assert error_of(es.put("/_inference/nope/e"))[2] == "Unknown task_type [nope]"


def test_an_hf_authentication_error_renders_as_es_does(es: httpx.Client, hf: httpx.Client) -> None:
    response = es.put(
        "/_inference/text_embedding/hf-emb", json=hf_body(embed_url(hf), api_key="wrong")
    )
    inner = (
        "Received an authentication error status code for request from inference entity id [hf-emb]"
        " status [401]. Error message: [Invalid credentials in Authorization header]"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "root_cause": [{"type": "status_exception", "reason": inner}],
            "type": "status_exception",
            "reason": VALIDATION_FAILED,
            "caused_by": {"type": "status_exception", "reason": inner},
        },
        "status": 400,
    }
    assert es.get("/_inference/hf-emb").status_code == 404


def add_hf_fault(hf: httpx.Client, **fault: Any) -> None:
    hf.post(
        "/_emulator/faults", json={"method": "POST", "path": "/embed", **fault}
    ).raise_for_status()


@pytest.mark.parametrize(
    ("fault", "calls", "inner"),
    [
        (
            {"action": "status", "status": 429, "times": -1},
            3,
            "Received a rate limit status code for request from inference entity id [e] status [429]."
            " Error message: [injected fault (429)]",
        ),
        (
            {"action": "status", "status": 503, "times": -1},
            3,
            "Received a rate limit status code for request from inference entity id [e] status [503]",
        ),
        (
            {"action": "status", "status": 500},
            1,
            "Received a server error status code for request from inference entity id [e] status [500]."
            " Error message: [injected fault (500)]",
        ),
        (
            {"action": "status", "status": 413},
            1,
            "Received a content too large status code for request from inference entity id [e] status [413]."
            " Error message: [injected fault (413)]",
        ),
        (
            {"action": "status", "status": 404, "body": {"error": "Model not found"}},
            1,
            "Received an unsuccessful status code for request from inference entity id [e] status [404]."
            " Error message: [Model not found]",
        ),
    ],
    ids=[
        "429 is retried twice and then reported as a rate limit",
        "a 503 proxy page is retried and has no error message",
        "500 is a server error and is not retried",
        "413 is content too large",
        "another 4xx is unsuccessful and carries HF's error text",
    ],
)
def test_hf_failures_render_as_the_wrapped_provider_error(
    es: httpx.Client, hf: httpx.Client, fault: dict[str, Any], calls: int, inner: str
) -> None:
    add_hf_fault(hf, **fault)
    response = es.put("/_inference/text_embedding/e", json=hf_body(embed_url(hf)))
    assert error_of(response)[2] == VALIDATION_FAILED
    assert response.json()["error"]["caused_by"]["reason"] == inner
    assert response.json()["error"]["root_cause"][0]["reason"] == inner
    assert len(hf_calls(hf)) == calls


def test_a_transient_hf_503_is_retried_and_the_put_succeeds(
    es: httpx.Client, hf: httpx.Client
) -> None:
    add_hf_fault(hf, action="status", status=503, times=2)
    response = es.put("/_inference/text_embedding/e", json=hf_body(embed_url(hf)))
    assert response.status_code == 200
    assert [c["status"] for c in hf_calls(hf)] == [503, 503, 200]


def test_an_unreachable_hf_becomes_an_http_client_failure(es: httpx.Client) -> None:
    response = es.put("/_inference/text_embedding/e", json=hf_body("http://127.0.0.1:9/embed"))
    error = response.json()["error"]
    message = "Http client failed to send request from inference entity id [e]"
    assert error["reason"] == VALIDATION_FAILED
    assert error["root_cause"] == [{"type": "exception", "reason": message}]
    assert error["caused_by"] == {
        "type": "exception",
        "reason": message,
        "caused_by": {"type": "connect_exception", "reason": "Connection refused"},
    }


def test_a_slow_hf_times_out_as_a_read_timeout(make_es: Any, hf: httpx.Client) -> None:
    es = make_es(default_endpoints=False, validation_timeout=0.2)
    add_hf_fault(hf, action="delay", seconds=0.6)
    response = es.put("/_inference/text_embedding/e", json=hf_body(embed_url(hf)))
    caused_by = response.json()["error"]["caused_by"]
    assert caused_by["caused_by"] == {
        "type": "socket_timeout_exception",
        "reason": "Read timed out",
    }


def test_a_non_loopback_host_is_never_contacted(es: httpx.Client) -> None:
    url = "https://x.endpoints.huggingface.cloud"
    response = es.put("/_inference/text_embedding/e", json=hf_body(url))
    assert response.json()["error"]["caused_by"] == {
        "type": "status_exception",
        "reason": f"Invalid host [{url}], please check that the URL is correct.",
    }


def test_an_embedding_response_of_the_wrong_shape_is_a_parsing_error(
    es: httpx.Client, hf: httpx.Client
) -> None:
    add_hf_fault(hf, action="status", status=200, body={"vectors": []})
    response = es.put("/_inference/text_embedding/e", json=hf_body(embed_url(hf)))
    assert response.json()["error"]["caused_by"] == {
        "type": "parsing_exception",
        "reason": "Failed to parse object: expecting token of type [START_ARRAY] but found [VALUE_NULL]",
    }


def test_an_empty_embedding_list_means_the_size_cannot_be_determined(
    es: httpx.Client, hf: httpx.Client
) -> None:
    add_hf_fault(hf, action="status", status=200, body=[])
    response = es.put("/_inference/text_embedding/e", json=hf_body(embed_url(hf)))
    assert error_of(response) == (400, "status_exception", "Could not determine embedding size")


@pytest.mark.parametrize(
    ("version", "task_type", "supported"),
    [
        ("8.17.0", "rerank", False),
        ("9.0.0", "completion", False),
        ("9.0.0", "chat_completion", False),
        ("8.19.0", "rerank", True),
        ("9.1.0", "chat_completion", True),
    ],
    ids=[
        "8.17 has no hugging face rerank",
        "9.0 has no hugging face completion",
        "9.0 has no hugging face chat completion",
        "8.19 has hugging face rerank",
        "9.1 has hugging face chat completion",
    ],
)
def test_hugging_face_task_types_follow_the_version_table(
    make_es: Any, version: str, task_type: str, supported: bool
) -> None:
    es = make_es(version=version, default_endpoints=False)
    es.put(
        "/_cluster/settings",
        json={"transient": {"xpack.inference.skip_validate_and_start": "true"}},
    )
    response = es.put(f"/_inference/{task_type}/e", json=hf_body("http://127.0.0.1:9/x"))
    if supported:
        assert response.status_code == 200
    else:
        assert error_of(response) == (
            400,
            "status_exception",
            f"The [hugging_face] service does not support task type [{task_type}]",
        )


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        (
            "9.0.0",
            "request [/_inference/text_embedding/e] contains unrecognized parameter: [timeout]",
        ),
        ("8.19.0", None),
        ("9.1.0", None),
    ],
    ids=["9.0 has no timeout on put", "8.19 accepts timeout", "9.1 accepts timeout"],
)
def test_the_put_timeout_parameter_is_version_gated(
    make_es: Any, hf: httpx.Client, version: str, reason: str | None
) -> None:
    es = make_es(version=version, default_endpoints=False)
    response = es.put("/_inference/text_embedding/e?timeout=10s", json=hf_body(embed_url(hf)))
    if reason is None:
        assert response.status_code == 200
    else:
        assert error_of(response) == (400, "illegal_argument_exception", reason)


def test_a_malformed_timeout_is_a_parse_exception(es: httpx.Client) -> None:
    response = es.put("/_inference/text_embedding/e?timeout=soon", json=hf_body(URL))
    assert error_of(response) == (
        400,
        "parse_exception",
        "failed to parse setting [timeout] with value [soon] as a time value: unit is missing or unrecognized",
    )


def test_the_unknown_settings_wording_changes_after_9_1(make_es: Any) -> None:
    es = make_es(version="9.4.0", default_endpoints=False)
    response = es.put("/_inference/text_embedding/e", json={**hf_body(URL), "extra_key": "value"})
    assert error_of(response)[2] == _java_unknown("{extra_key=value}", "Configuration")
