"""The smoke test's checks of an answer's shape, the sizes it expects, and which endpoints it calls.

The answers below are the shapes of Elasticsearch's specification
(``specification/inference/_types/Results.ts``); tests/e2e/test_pipeline_commands.py runs the
command against the emulator, which calls the Hugging Face test server as Elasticsearch does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.smoke import answer_problems, call_for, changed_endpoints, expected_dimensions
from providers.stack import load_stack

MAPPING = {
    "docs": {
        "mappings": {
            "properties": {
                "title": {"type": "text"},
                "body": {
                    "type": "semantic_text",
                    "inference_id": "hf-minilm",
                    "model_settings": {"task_type": "text_embedding", "dimensions": 768},
                },
                "meta": {
                    "properties": {
                        "summary": {"type": "semantic_text", "inference_id": "hf-minilm"}
                    }
                },
            }
        }
    },
    "other": {
        "mappings": {
            "properties": {
                "body": {
                    "type": "semantic_text",
                    "inference_id": "elsewhere",
                    "model_settings": {"task_type": "text_embedding", "dimensions": 3},
                }
            }
        }
    },
}


def test_the_expected_sizes_are_the_endpoints_dimensions_and_each_semantic_text_field_using_it() -> (
    None
):
    live = {"service_settings": {"dimensions": 384}}

    assert expected_dimensions("hf-minilm", live, MAPPING) == [
        ("the endpoint's service_settings.dimensions", 384),
        ("model_settings of semantic_text field docs.body", 768),
    ]


def test_an_embedding_of_another_size_fails_naming_where_the_size_comes_from() -> None:
    answer = {"text_embedding": [{"embedding": [0.1] * 384}]}
    expected = expected_dimensions("hf-minilm", {"service_settings": {"dimensions": 384}}, MAPPING)

    assert answer_problems("text_embedding", answer, expected=expected) == [
        "the embedding has 384 dimensions but model_settings of semantic_text field docs.body "
        "says 768"
    ]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            {"text_embedding": []},
            "text_embedding should hold one embedding for the one input, got []",
        ),
        (
            {"text_embedding": [{"embedding": []}]},
            "text_embedding[0].embedding is not a non-empty list: []",
        ),
        (
            {"completion": [{"result": "x"}]},
            "no text_embedding in the answer (keys: ['completion'])",
        ),
    ],
    ids=["no embedding", "an empty embedding", "another task's answer"],
)
def test_an_embedding_answer_of_the_wrong_shape_fails(
    answer: dict[str, object], problem: str
) -> None:
    assert answer_problems("text_embedding", answer) == [problem]


def test_bit_embeddings_count_eight_dimensions_per_value() -> None:
    answer = {"text_embedding_bits": [{"embedding": [1, 2, 3, 4]}]}

    assert answer_problems("text_embedding", answer, expected=[("declared", 32)]) == []


def test_rerank_must_return_ranked_documents_within_top_n_with_text_when_asked() -> None:
    good = {
        "rerank": [
            {"index": 0, "relevance_score": 0.9, "text": "a"},
            {"index": 1, "relevance_score": 0.1, "text": "b"},
        ]
    }
    unranked = {
        "rerank": [{"index": 1, "relevance_score": 0.1}, {"index": 0, "relevance_score": 0.9}]
    }

    assert answer_problems("rerank", good, task_settings={"return_documents": True}) == []
    assert answer_problems(
        "rerank", unranked, task_settings={"return_documents": True, "top_n": 1}
    ) == [
        "rerank[0] has no text although return_documents is true",
        "rerank[1] has no text although return_documents is true",
        "rerank is not ranked by relevance_score: [0.1, 0.9]",
        "rerank returned 2 documents although top_n is 1",
    ]
    assert answer_problems("rerank", {"rerank": []}) == [
        'rerank returned no ranked documents: {"rerank": []}'
    ]


def test_completion_and_chat_completion_must_return_text() -> None:
    chunk = {"object": "chat.completion.chunk", "choices": [{"delta": {"content": "Echo"}}]}

    assert answer_problems("completion", {"completion": [{"result": "Echo: hi"}]}) == []
    assert answer_problems("completion", {"completion": [{"result": " "}]}) == [
        'completion returned no text: {"completion": [{"result": " "}]}'
    ]
    assert answer_problems("chat_completion", {"events": [chunk], "done": True}) == []
    assert answer_problems("chat_completion", {"events": [], "done": True}) == [
        'the chat_completion stream sent no event: {"events": [], "done": true}'
    ]


def test_each_task_type_is_called_with_a_tiny_input_and_chat_completion_streams() -> None:
    assert call_for("text_embedding").body == {
        "input": ["es-inference smoke test: is this endpoint serving?"]
    }
    assert call_for("rerank").body["query"] == "which text is about a smoke test?"
    assert (call_for("completion").stream, call_for("chat_completion").stream) == (False, True)


def test_the_changed_endpoints_are_read_from_pulumi_up_json_events_or_a_preview() -> None:
    urn = "urn:pulumi:prod::es-inference::pulumi-python:dynamic/elasticsearch:InferenceEndpoint::"
    events = [
        {"resOutputsEvent": {"metadata": {"op": "create", "urn": f"{urn}hf-new"}}},
        {"resOutputsEvent": {"metadata": {"op": "same", "urn": f"{urn}hf-same"}}},
        {"resOutputsEvent": {"metadata": {"op": "delete-replaced", "urn": f"{urn}hf-rerank"}}},
        {"resOutputsEvent": {"metadata": {"op": "create-replacement", "urn": f"{urn}hf-rerank"}}},
        {"resOutputsEvent": {"metadata": {"op": "delete", "urn": f"{urn}hf-gone"}}},
        {"diagnosticEvent": {"message": "update failed"}},
    ]
    preview = Path(__file__).resolve().parents[1] / "fixtures" / "summary" / "change.json"

    assert changed_endpoints("\n".join(json.dumps(e) for e in events)) == {"hf-new", "hf-rerank"}
    assert changed_endpoints(preview.read_text()) == {"hf-rerank"}


def test_smoke_test_is_a_stack_and_endpoint_option_that_never_reaches_the_resource(
    tmp_path: Path,
) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text(
        "smoke_test: true\n"
        "endpoints:\n"
        "  - {inference_id: a, task_type: rerank, service: hugging_face, smoke_test: false,\n"
        "     service_settings: {url: 'http://127.0.0.1:1/rerank', api_key: {env: K}}}\n"
        "  - {inference_id: b, task_type: rerank, service: hugging_face,\n"
        "     service_settings: {url: 'http://127.0.0.1:1/rerank', api_key: {env: K}}}\n"
    )

    declaration = load_stack(path)

    assert declaration.smoke_test is True
    assert [e.smoke_test for e in declaration.endpoints] == [False, None]
