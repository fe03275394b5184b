"""chunking_settings on hugging_face text_embedding endpoints: strategies, limits, version gates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._helpers import error_of, hf_body

URL = "http://127.0.0.1:9/embed"
PLAINTEXT = ["(?<!\\n)\\n\\n(?!\\n)", "(?<!\\n)\\n(?!\\n)"]


def put_chunking(make_es: Any, version: str, chunking: Any) -> httpx.Response:
    es = make_es(version=version, default_endpoints=False)
    es.put(
        "/_cluster/settings", json={"persistent": {"xpack.inference.skip_validate_and_start": True}}
    )
    response: httpx.Response = es.put(
        "/_inference/text_embedding/c", json={**hf_body(URL), "chunking_settings": chunking}
    )
    return response


@pytest.mark.parametrize(
    ("chunking", "stored"),
    [
        ({}, {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}),
        (None, {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}),
        (
            {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0},
            {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0},
        ),
        (
            {"strategy": "word", "max_chunk_size": 100, "overlap": 50},
            {"strategy": "word", "max_chunk_size": 100, "overlap": 50},
        ),
        ({"strategy": "none"}, {"strategy": "none"}),
        (
            {"strategy": "recursive", "max_chunk_size": 10},
            {"strategy": "recursive", "max_chunk_size": 10, "separators": PLAINTEXT},
        ),
        (
            {"strategy": "recursive", "max_chunk_size": 50, "separator_group": "Markdown"},
            {
                "strategy": "recursive",
                "max_chunk_size": 50,
                "separators": [
                    "\n# ",
                    "\n## ",
                    "\n### ",
                    "\n#### ",
                    "\n##### ",
                    "\n###### ",
                    "\n^(?!\\s*$).*\\n-{1,}\\n",
                    "\n^(?!\\s*$).*\\n={1,}\\n",
                ],
            },
        ),
        (
            {"strategy": "recursive", "max_chunk_size": 50, "separators": ["\n\n"]},
            {"strategy": "recursive", "max_chunk_size": 50, "separators": ["\n\n"]},
        ),
    ],
    ids=[
        "an empty object means the sentence default",
        "null means the sentence default",
        "sentence with overlap 0",
        "word with the largest overlap",
        "none disables chunking",
        "recursive defaults to plaintext separators",
        "a separator group expands to its separators",
        "explicit separators are kept",
    ],
)
def test_valid_chunking_settings_are_stored_in_their_output_shape(
    make_es: Any, chunking: Any, stored: dict[str, Any]
) -> None:
    response = put_chunking(make_es, "9.1.0", chunking)
    assert response.status_code == 200, response.text
    assert response.json()["chunking_settings"] == stored
    assert list(response.json()["chunking_settings"]) == list(stored)


V = "Validation Failed: 1: "
CHUNKING_ERRORS = [
    (
        "9.1.0",
        {"max_chunk_size": 100},
        "illegal_argument_exception",
        "Can't generate Chunker without ChunkingStrategy provided",
    ),
    (
        "9.1.0",
        {"strategy": "Sentence", "max_chunk_size": 100},
        "illegal_argument_exception",
        "Invalid chunkingStrategy Sentence",
    ),
    ("9.0.0", {"strategy": "none"}, "illegal_argument_exception", "Invalid chunkingStrategy none"),
    ("8.19.0", {"strategy": "none"}, None, None),
    (
        "9.1.0",
        {"strategy": "word", "max_chunk_size": 100, "overlap": 10, "sentence_overlap": 1},
        "validation_exception",
        V + "Word based chunking settings can not have the following settings: [sentence_overlap];",
    ),
    (
        "9.1.0",
        {"strategy": "sentence", "max_chunk_size": 100, "overlap": 1},
        "validation_exception",
        V + "Sentence based chunking settings can not have the following settings: [overlap];",
    ),
    (
        "9.1.0",
        {"strategy": "sentence"},
        "validation_exception",
        V + "[chunking_settings] does not contain the required setting [max_chunk_size];",
    ),
    (
        "9.1.0",
        {"strategy": "word", "max_chunk_size": 5, "overlap": 1},
        "validation_exception",
        V
        + "[chunking_settings] Invalid value [5.0]. [max_chunk_size] must be a greater than or equal to"
        " [10.0];",
    ),
    (
        "9.4.0",
        {"strategy": "word", "max_chunk_size": 5, "overlap": 1},
        "validation_exception",
        V
        + "[chunking_settings] Invalid value [5.0]. [max_chunk_size] must be greater than or equal to [10.0];",
    ),
    (
        "9.1.0",
        {"strategy": "sentence", "max_chunk_size": 301},
        "validation_exception",
        V
        + "[chunking_settings] Invalid value [301.0]. [max_chunk_size] must be a less than or equal to [300.0];",
    ),
    ("9.4.0", {"strategy": "sentence", "max_chunk_size": 301}, None, None),
    (
        "9.1.0",
        {"strategy": "word", "max_chunk_size": 250, "overlap": 200},
        "validation_exception",
        V
        + "[chunking_settings] Invalid value [200.0]. [overlap] must be a less than or equal to [125.0];",
    ),
    (
        "9.1.0",
        {"strategy": "word", "max_chunk_size": 250},
        "validation_exception",
        V + "[chunking_settings] does not contain the required setting [overlap];",
    ),
    (
        "9.1.0",
        {"strategy": "word", "max_chunk_size": 250, "overlap": 0},
        "validation_exception",
        V + "[chunking_settings] Invalid value [0]. [overlap] must be a positive integer;",
    ),
    (
        "9.1.0",
        {"strategy": "sentence", "max_chunk_size": 100, "sentence_overlap": 2},
        "validation_exception",
        V + "sentence_overlap[2] must be either 0 or 1;",
    ),
    (
        "9.1.0",
        {
            "strategy": "recursive",
            "max_chunk_size": 50,
            "separators": ["a"],
            "separator_group": "markdown",
        },
        "validation_exception",
        V + "Recursive chunking settings can not have both separators and separator_set;",
    ),
    (
        "9.1.0",
        {"strategy": "recursive", "max_chunk_size": 50, "separators": []},
        "validation_exception",
        V + "Recursive chunking settings can not have an empty list of separators;",
    ),
    (
        "9.1.0",
        {"strategy": "recursive", "max_chunk_size": 50, "separator_group": "foo"},
        "validation_exception",
        V
        + "[chunking_settings] Invalid value [foo] received. [separator_group] must be one of [markdown,"
        " plaintext];",
    ),
    (
        "9.1.0",
        {"strategy": "word", "max_chunk_size": 5, "overlap": 3, "extra": 1},
        "validation_exception",
        "Validation Failed: 1: Word based chunking settings can not have the following settings: [extra];"
        "2: [chunking_settings] Invalid value [5.0]. [max_chunk_size] must be a greater than or equal to [10.0];"
        "3: [chunking_settings] Invalid value [3.0]. [overlap] must be a less than or equal to [2.0];",
    ),
]


@pytest.mark.parametrize(
    ("version", "chunking", "error_type", "reason"),
    CHUNKING_ERRORS,
    ids=[
        "strategy is required",
        "strategy names are case sensitive",
        "none is unknown before 9.1",
        "none exists on 8.19",
        "word rejects sentence keys",
        "sentence rejects word keys",
        "max_chunk_size is required",
        "max_chunk_size has a minimum (old wording)",
        "max_chunk_size has a minimum (new wording)",
        "max_chunk_size is capped at 300 up to 9.1",
        "the cap is gone in 9.4",
        "word overlap is at most half the chunk size",
        "word overlap is required",
        "word overlap must be positive",
        "sentence_overlap is 0 or 1",
        "recursive takes separators or a group, not both",
        "recursive separators cannot be empty",
        "recursive separator groups are an enum",
        "chunking problems accumulate",
    ],
)
def test_chunking_errors_and_version_gates(
    make_es: Any, version: str, chunking: dict[str, Any], error_type: str | None, reason: str | None
) -> None:
    response = put_chunking(make_es, version, chunking)
    if error_type is None:
        assert response.status_code == 200, response.text
    else:
        assert error_of(response) == (400, error_type, reason)


def test_chunking_settings_are_an_unknown_setting_before_8_16(make_es: Any) -> None:
    response = put_chunking(make_es, "8.15.0", {"strategy": "none"})
    assert error_of(response)[2] == (
        "Model configuration contains settings [{chunking_settings={strategy=none}}] unknown to the"
        " [hugging_face] service"
    )
