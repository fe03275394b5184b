"""Elastic's official Python client (elasticsearch-py 9) drives the emulator through every
inference call the emulator serves: a client nobody here wrote checks its routes and shapes."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from emulators import RunningServer

from .conftest import HF_KEY

CHUNKING = {"strategy": "sentence", "max_chunk_size": 100, "sentence_overlap": 0}


def settings(hf_server: RunningServer, path: str = "/embed") -> dict[str, Any]:
    return {"url": hf_server.url + path, "api_key": HF_KEY}


def version_of(client: Elasticsearch) -> str:
    return str(client.info()["version"]["number"])


def test_put_then_get_shows_what_elasticsearch_stored(
    client: Elasticsearch, hf_server: RunningServer
) -> None:
    created = client.inference.put(
        task_type="text_embedding",
        inference_id="emb",
        inference_config={"service": "hugging_face", "service_settings": settings(hf_server)},
    )
    assert created.meta.status == 200
    assert created.body == {
        "inference_id": "emb",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {
            "url": hf_server.url + "/embed",
            "similarity": "cosine",
            "dimensions": 384,
            "rate_limit": {"requests_per_minute": 3000},
        },
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
    }
    found = client.inference.get(task_type="text_embedding", inference_id="emb")
    assert found.body == {"endpoints": [created.body]}


def test_the_hugging_face_put_sends_the_same_endpoint(
    client: Elasticsearch, hf_server: RunningServer
) -> None:
    created = client.inference.put_hugging_face(
        task_type="rerank",
        huggingface_inference_id="rr",
        service="hugging_face",
        service_settings=settings(hf_server, "/rerank"),
        task_settings={"return_documents": True, "top_n": 3},
    )
    assert created.body["task_settings"] == {"return_documents": True, "top_n": 3}
    assert client.inference.get(inference_id="rr").body["endpoints"] == [created.body]


def test_update_merges_task_settings(client: Elasticsearch, hf_server: RunningServer) -> None:
    client.inference.put_hugging_face(
        task_type="rerank",
        huggingface_inference_id="rr",
        service="hugging_face",
        service_settings=settings(hf_server, "/rerank"),
        task_settings={"return_documents": True, "top_n": 3},
    )
    updated = client.inference.update(
        task_type="rerank", inference_id="rr", inference_config={"task_settings": {"top_n": 5}}
    )
    assert updated.body["task_settings"] == {"return_documents": True, "top_n": 5}


def test_update_of_chunking_is_refused_before_9_5_and_replaces_them_from_9_5(
    client: Elasticsearch, hf_server: RunningServer
) -> None:
    client.inference.put_hugging_face(
        task_type="text_embedding",
        huggingface_inference_id="emb",
        service="hugging_face",
        service_settings=settings(hf_server),
    )
    call: dict[str, Any] = {
        "task_type": "text_embedding",
        "inference_id": "emb",
        "inference_config": {"chunking_settings": CHUNKING},
    }
    if version_of(client) < "9.5.0":
        with pytest.raises(BadRequestError) as refused:
            client.inference.update(**call)
        assert refused.value.meta.status == 400
        assert refused.value.body["error"]["reason"] == (
            "Request contained fields which cannot be updated, remove these fields and try again"
            # Java's HashMap order, as Elasticsearch prints the map.
            " [{chunking_settings={sentence_overlap=0, max_chunk_size=100, strategy=sentence}}]"
        )
    else:
        assert client.inference.update(**call).body["chunking_settings"] == CHUNKING


def test_a_key_rotation_resets_the_chunking_where_elasticsearch_did(
    client: Elasticsearch, hf_server: RunningServer
) -> None:
    client.inference.put_hugging_face(
        task_type="text_embedding",
        huggingface_inference_id="emb",
        service="hugging_face",
        service_settings=settings(hf_server),
        chunking_settings=CHUNKING,
    )
    updated = client.inference.update(
        task_type="text_embedding",
        inference_id="emb",
        inference_config={"service_settings": {"api_key": HF_KEY + "-2"}}
        if version_of(client) < "9.4.0"
        else {"service_settings": {"api_key": HF_KEY, "rate_limit": {"requests_per_minute": 60}}},
    )
    # elastic/elasticsearch#139574 until 9.2.6 / 9.3.1 (and 9.4 on main).
    reset = {"strategy": "word", "max_chunk_size": 250, "overlap": 100}
    expected = reset if version_of(client) < "9.2.6" else CHUNKING
    assert updated.body["chunking_settings"] == expected
    shown = client.inference.get(inference_id="emb").body["endpoints"][0]
    assert shown["chunking_settings"] == expected


def test_delete_with_dry_run_then_for_real(client: Elasticsearch, hf_server: RunningServer) -> None:
    client.inference.put_hugging_face(
        task_type="text_embedding",
        huggingface_inference_id="emb",
        service="hugging_face",
        service_settings=settings(hf_server),
    )
    dry = client.inference.delete(task_type="text_embedding", inference_id="emb", dry_run=True)
    assert dry.body == {
        "acknowledged": False,
        "pipelines": [],
        "indexes": [],
        "error_message": "",
    }
    assert client.inference.get(inference_id="emb").meta.status == 200
    client.inference.delete(task_type="text_embedding", inference_id="emb")
    with pytest.raises(NotFoundError) as gone:
        client.inference.get(inference_id="emb")
    assert gone.value.body["error"]["type"] == "resource_not_found_exception"


def test_text_embedding_inference_answers_one_vector_per_input(
    client: Elasticsearch, hf_server: RunningServer
) -> None:
    client.inference.put_hugging_face(
        task_type="text_embedding",
        huggingface_inference_id="emb",
        service="hugging_face",
        service_settings=settings(hf_server),
    )
    answer = client.inference.text_embedding(inference_id="emb", input=["how big", "how small"])
    vectors = [item["embedding"] for item in answer.body["text_embedding"]]
    assert [len(v) for v in vectors] == [384, 384]
    generic = client.inference.inference(inference_id="emb", input="how big")
    assert [item["embedding"] for item in generic.body["text_embedding"]] == vectors[:1]


def test_rerank_inference_ranks_the_documents(
    client: Elasticsearch, hf_server: RunningServer
) -> None:
    client.inference.put_hugging_face(
        task_type="rerank",
        huggingface_inference_id="rr",
        service="hugging_face",
        service_settings=settings(hf_server, "/rerank"),
    )
    answer = client.inference.rerank(
        inference_id="rr", query="big", input=["a big house", "a small cat", "big"]
    )
    ranked = answer.body["rerank"]
    assert sorted(item["index"] for item in ranked) == [0, 1, 2]
    scores = [item["relevance_score"] for item in ranked]
    assert scores == sorted(scores, reverse=True)


def test_completion_inference_answers_the_model_text(
    client: Elasticsearch, hf_server: RunningServer
) -> None:
    client.inference.put_hugging_face(
        task_type="completion",
        huggingface_inference_id="chat",
        service="hugging_face",
        service_settings={**settings(hf_server, "/v1/chat/completions"), "model_id": "tgi"},
    )
    answer = client.inference.completion(inference_id="chat", input="say hi")
    (result,) = answer.body["completion"]
    assert isinstance(result["result"], str) and result["result"]
