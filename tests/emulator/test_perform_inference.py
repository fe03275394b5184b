"""Perform inference (`POST _inference/...`) on hugging_face endpoints, through the REST API.

Shapes from elasticsearch-specification `specification/inference/_types/Results.ts`; request
checks from `InferenceAction.Request.validate`; the HF call as at PUT (see hugging_face_infer).
"""

from __future__ import annotations

import json

import httpx
import pytest

from emulators import RunningServer

from ._helpers import HF_KEY, error_of, hf_body
from .conftest import EsFactory


@pytest.fixture
def es(make_es: EsFactory, hf_server: RunningServer) -> httpx.Client:
    """A 9.1.0 emulator with one endpoint of each hugging_face task type."""
    client = make_es(version="9.1.0")
    urls = {
        "text_embedding": "/embed",
        "sparse_embedding": "/sparse",
        "rerank": "/rerank",
        "completion": "/v1/chat/completions",
        "chat_completion": "/v1/chat/completions",
    }
    for task_type, path in urls.items():
        body = hf_body(hf_server.url + path)
        if task_type == "rerank":
            body["task_settings"] = {"return_documents": True, "top_n": 1}
        client.put(f"/_inference/{task_type}/hf-{task_type}", json=body).raise_for_status()
    return client


def test_text_embedding_returns_one_float_vector_per_input_of_the_models_size(
    es: httpx.Client, hf: httpx.Client
) -> None:
    hf.delete("/_emulator/requests")

    response = es.post("/_inference/text_embedding/hf-text_embedding", json={"input": ["a", "b"]})

    assert response.status_code == 200
    vectors = [e["embedding"] for e in response.json()["text_embedding"]]
    assert [len(v) for v in vectors] == [384, 384]
    (call,) = hf.get("/_emulator/requests").json()["requests"]
    assert (call["path"], call["body"]) == ("/embed", {"inputs": ["a", "b"]})


def test_the_task_type_may_be_left_out_of_the_path(es: httpx.Client) -> None:
    response = es.post("/_inference/hf-sparse_embedding", json={"input": "hello world"})

    assert response.json() == {
        "sparse_embedding": [
            {"is_truncated": False, "embedding": {"hello": 0.6092, "world": 0.9205}}
        ]
    }


def test_rerank_returns_ranked_documents_under_the_endpoints_task_settings(
    es: httpx.Client, hf: httpx.Client
) -> None:
    hf.delete("/_emulator/requests")

    response = es.post(
        "/_inference/rerank/hf-rerank", json={"input": ["cats purr", "dogs bark"], "query": "dogs"}
    )

    assert response.json() == {
        "rerank": [{"index": 1, "relevance_score": 0.5, "text": "dogs bark"}]
    }
    (call,) = hf.get("/_emulator/requests").json()["requests"]
    assert call["body"] == {
        "texts": ["cats purr", "dogs bark"],
        "query": "dogs",
        "return_text": True,
        "top_n": 1,
    }


def test_completion_returns_the_text(es: httpx.Client) -> None:
    response = es.post("/_inference/completion/hf-completion", json={"input": "hello"})

    assert response.json() == {"completion": [{"result": "Echo: hello"}]}


def test_chat_completion_streams_unified_chunks_then_done(es: httpx.Client) -> None:
    response = es.post(
        "/_inference/chat_completion/hf-chat_completion/_stream",
        json={"messages": [{"role": "user", "content": "hello"}]},
    )

    assert response.headers["content-type"].startswith("text/event-stream")
    data = [
        line.removeprefix("data: ")
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]
    assert data[-1] == "[DONE]"
    first = json.loads(data[0])
    assert (first["object"], first["choices"][0]["delta"]["content"]) == (
        "chat.completion.chunk",
        "Echo: hello",
    )


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "/_inference/text_embedding/hf-text_embedding",
            {},
            (
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: Field [input] cannot be null;",
            ),
        ),
        (
            "/_inference/text_embedding/hf-text_embedding",
            {"input": []},
            (
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: Field [input] cannot be an empty array;",
            ),
        ),
        (
            "/_inference/rerank/hf-rerank",
            {"input": ["a"]},
            (
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: Field [query] cannot be null for task type [rerank];",
            ),
        ),
        (
            "/_inference/completion/hf-text_embedding",
            {"input": "a"},
            (
                400,
                "status_exception",
                "Incompatible task_type, the requested type [completion] does not match the model type [text_embedding]",
            ),
        ),
        (
            "/_inference/text_embedding/missing",
            {"input": "a"},
            (404, "resource_not_found_exception", "Inference endpoint not found [missing]"),
        ),
        (
            "/_inference/chat_completion/hf-chat_completion",
            {"input": "a"},
            (
                400,
                "status_exception",
                "Inference entity [hf-chat_completion] does not support task type [chat_completion] "
                "for inference, the task type must be one of [text_embedding, sparse_embedding, "
                "rerank, completion]. The task type for the inference entity is chat_completion, "
                "please use the _inference/chat_completion/hf-chat_completion/_stream URL.",
            ),
        ),
    ],
    ids=[
        "no input",
        "an empty input",
        "rerank without a query",
        "another task type",
        "an unknown id",
        "chat_completion without _stream",
    ],
)
def test_bad_requests_fail_as_elasticsearch_fails_them(
    es: httpx.Client, path: str, body: dict[str, object], expected: tuple[int, str, str]
) -> None:
    assert error_of(es.post(path, json=body)) == expected


def test_a_key_the_service_refuses_fails_with_the_services_status(
    make_es: EsFactory, hf_server: RunningServer
) -> None:
    es = make_es(version="9.1.0")
    es.put(
        "/_cluster/settings", json={"persistent": {"xpack.inference.skip_validate_and_start": True}}
    ).raise_for_status()
    es.put(
        "/_inference/text_embedding/bad-key", json=hf_body(hf_server.url + "/embed", api_key="nope")
    ).raise_for_status()

    status, error_type, reason = error_of(
        es.post("/_inference/text_embedding/bad-key", json={"input": "a"})
    )

    assert (status, error_type) == (401, "status_exception")
    assert reason.startswith(
        "Received an authentication error status code for request from inference entity id "
        "[bad-key] status [401]"
    )
    assert HF_KEY not in reason
