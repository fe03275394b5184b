"""The schemas under schemas/: valid JSON Schema, the reference's rules, messages and annotations."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pulumi.runtime.rpc import UNKNOWN

from providers.errors import SchemaError
from providers.schema import EndpointSchema, FieldRule, Lifecycle, Problem, load_schemas

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_FILES = sorted(SCHEMA_DIR.rglob("*.json"))
EXPECTED_FILES = [
    "amazonbedrock/chat_completion.schema.json",
    "amazonbedrock/completion.schema.json",
    "amazonbedrock/text_embedding.schema.json",
    "anthropic/chat_completion.schema.json",
    "anthropic/completion.schema.json",
    "azureopenai/chat_completion.schema.json",
    "azureopenai/completion.schema.json",
    "azureopenai/text_embedding.schema.json",
    "cohere/completion.schema.json",
    "cohere/rerank.schema.json",
    "cohere/text_embedding.schema.json",
    "common/chunking_settings.schema.json",
    "common/endpoint.schema.json",
    "elastic/chat_completion.schema.json",
    "elastic/rerank.schema.json",
    "elastic/sparse_embedding.schema.json",
    "elastic/text_embedding.schema.json",
    "elasticsearch/rerank.schema.json",
    "elasticsearch/sparse_embedding.schema.json",
    "elasticsearch/text_embedding.schema.json",
    "googlevertexai/chat_completion.schema.json",
    "googlevertexai/completion.schema.json",
    "googlevertexai/rerank.schema.json",
    "googlevertexai/text_embedding.schema.json",
    "hugging_face/chat_completion.schema.json",
    "hugging_face/completion.schema.json",
    "hugging_face/rerank.schema.json",
    "hugging_face/sparse_embedding.schema.json",
    "hugging_face/text_embedding.schema.json",
    "huggingface_endpoint.schema.json",
    "jinaai/rerank.schema.json",
    "jinaai/text_embedding.schema.json",
    "mistral/chat_completion.schema.json",
    "mistral/completion.schema.json",
    "mistral/text_embedding.schema.json",
    "openai/chat_completion.schema.json",
    "openai/completion.schema.json",
    "openai/text_embedding.schema.json",
    "stack.schema.json",
    "voyageai/rerank.schema.json",
    "voyageai/text_embedding.schema.json",
]
TASK_TYPES = ["text_embedding", "rerank", "completion", "chat_completion"]
URLS = {
    "text_embedding": "http://127.0.0.1:18080/embed",
    "rerank": "http://127.0.0.1:18080/rerank",
    "completion": "http://127.0.0.1:18080/v1/chat/completions",
    "chat_completion": "http://127.0.0.1:18080/v1/chat/completions",
}
ID_RULE = "must be lowercase letters, digits, '_', '-' and '.', starting and ending with a letter or digit"
TEXT_EMBEDDING_SETTINGS = "api_key, dimensions, max_input_tokens, rate_limit, similarity, url"
DELETE = object()


def schema(task_type: str) -> EndpointSchema:
    found = load_schemas().endpoint("hugging_face", task_type)
    assert found is not None
    return found


def endpoint(task_type: str = "text_embedding", **changes: Any) -> dict[str, Any]:
    """A valid endpoint of ``task_type``; ``service_settings`` changes merge, DELETE removes."""
    doc: dict[str, Any] = {
        "inference_id": "hf-e5",
        "task_type": task_type,
        "service": "hugging_face",
        "service_settings": {"api_key": "hf_schema_test_key", "url": URLS[task_type]},
    }
    settings = changes.pop("service_settings", {})
    for name, value in settings.items():
        if value is DELETE:
            del doc["service_settings"][name]
        else:
            doc["service_settings"][name] = value
    doc.update(changes)
    return doc


def problems(instance: object, task_type: str = "text_embedding") -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in schema(task_type).problems(instance)]


# --- the files ----------------------------------------------------------------------------------


def test_the_project_ships_exactly_the_expected_schema_files() -> None:
    assert [p.relative_to(SCHEMA_DIR).as_posix() for p in SCHEMA_FILES] == EXPECTED_FILES


@pytest.mark.parametrize(
    "path",
    SCHEMA_FILES,
    ids=[f"{p.relative_to(SCHEMA_DIR).as_posix()} is valid Draft 2020-12" for p in SCHEMA_FILES],
)
def test_every_schema_file_passes_the_draft_2020_12_meta_schema(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)


def test_the_schema_set_offers_one_schema_per_hugging_face_task_type() -> None:
    supported = [s for s in load_schemas().supported() if s.startswith("hugging_face/")]
    assert supported == [
        "hugging_face/chat_completion",
        "hugging_face/completion",
        "hugging_face/rerank",
        "hugging_face/sparse_embedding",
        "hugging_face/text_embedding",
    ]


# --- valid inputs -------------------------------------------------------------------------------

VALID = [
    ("a single-character inference_id is valid", endpoint(inference_id="a")),
    ("a single digit is a valid inference_id", endpoint(inference_id="7")),
    (
        "dots, dashes and underscores inside an id are valid",
        endpoint(inference_id="my.e5_small-v2"),
    ),
    ("an id may start and end with a digit", endpoint(inference_id="0e5-2")),
    ("similarity cosine is accepted", endpoint(service_settings={"similarity": "cosine"})),
    (
        "similarity dot_product is accepted",
        endpoint(service_settings={"similarity": "dot_product"}),
    ),
    ("similarity l2_norm is accepted", endpoint(service_settings={"similarity": "l2_norm"})),
    (
        "dimensions and max_input_tokens of 1 are accepted",
        endpoint(service_settings={"dimensions": 1, "max_input_tokens": 1}),
    ),
    (
        "a positive rate limit is accepted",
        endpoint(service_settings={"rate_limit": {"requests_per_minute": 1}}),
    ),
    (
        "model_id is allowed on completion",
        endpoint("completion", service_settings={"model_id": "m"}),
    ),
    (
        "model_id is allowed on chat_completion",
        endpoint("chat_completion", service_settings={"model_id": "tgi"}),
    ),
    (
        "rerank takes return_documents and top_n",
        endpoint("rerank", task_settings={"return_documents": False, "top_n": 1}),
    ),
    ("rerank takes empty task_settings", endpoint("rerank", task_settings={})),
    (
        "sentence chunking needs only max_chunk_size 20",
        endpoint(chunking_settings={"strategy": "sentence", "max_chunk_size": 20}),
    ),
    (
        "sentence chunking takes sentence_overlap 0",
        endpoint(
            chunking_settings={"strategy": "sentence", "max_chunk_size": 300, "sentence_overlap": 0}
        ),
    ),
    (
        "word chunking takes an overlap of exactly half",
        endpoint(chunking_settings={"strategy": "word", "max_chunk_size": 10, "overlap": 5}),
    ),
    (
        "word chunking rounds half of an odd size down",
        endpoint(chunking_settings={"strategy": "word", "max_chunk_size": 11, "overlap": 5}),
    ),
    (
        "recursive chunking takes the plaintext group",
        endpoint(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 10,
                "separator_group": "plaintext",
            }
        ),
    ),
    (
        "recursive chunking takes the markdown group",
        endpoint(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 200,
                "separator_group": "markdown",
            }
        ),
    ),
    (
        "recursive chunking takes 50 separators",
        endpoint(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 10,
                "separators": ["\n"] * 50,
            }
        ),
    ),
    (
        "recursive chunking may leave both separator options out",
        endpoint(chunking_settings={"strategy": "recursive", "max_chunk_size": 10}),
    ),
    ("none chunking is the strategy alone", endpoint(chunking_settings={"strategy": "none"})),
    ("force true is accepted", endpoint(force=True)),
    ("secret_rotation update is accepted", endpoint(secret_rotation="update")),
    ("secret_rotation replace is accepted", endpoint("rerank", secret_rotation="replace")),
]


@pytest.mark.parametrize(("instance"), [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_a_valid_endpoint_has_no_problem(instance: dict[str, Any]) -> None:
    assert problems(instance, instance["task_type"]) == []


# --- invalid inputs -----------------------------------------------------------------------------

INVALID: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "an upper-case inference_id is refused",
        endpoint(inference_id="E5"),
        [("$.inference_id", f"{ID_RULE} (got 'E5')")],
    ),
    (
        "a leading dot is reserved for preconfigured endpoints",
        endpoint(inference_id=".e5"),
        [("$.inference_id", f"{ID_RULE} (got '.e5')")],
    ),
    (
        "an id may not end with a dash",
        endpoint(inference_id="e5-"),
        [("$.inference_id", f"{ID_RULE} (got 'e5-')")],
    ),
    (
        "_all is not an inference_id",
        endpoint(inference_id="_all"),
        [("$.inference_id", f"{ID_RULE} (got '_all')")],
    ),
    (
        "an empty inference_id is refused",
        endpoint(inference_id=""),
        [("$.inference_id", f"{ID_RULE} (got '')")],
    ),
    (
        "a numeric inference_id is refused by type",
        endpoint(inference_id=5),
        [("$.inference_id", "must be of type string, not integer")],
    ),
    (
        "api_key is required",
        endpoint(service_settings={"api_key": DELETE}),
        [("$.service_settings", "missing required field 'api_key'")],
    ),
    (
        "url is required",
        endpoint(service_settings={"url": DELETE}),
        [("$.service_settings", "missing required field 'url'")],
    ),
    (
        "api_key and url missing are named together",
        endpoint(service_settings={"url": DELETE, "api_key": DELETE}),
        [("$.service_settings", "missing required fields 'api_key', 'url'")],
    ),
    (
        "an empty api_key is refused",
        endpoint(service_settings={"api_key": ""}),
        [("$.service_settings.api_key", "must not be empty")],
    ),
    (
        "a url that is not http or https is refused",
        endpoint(service_settings={"url": "ftp://127.0.0.1/embed"}),
        [("$.service_settings.url", "must be an absolute http:// or https:// URL")],
    ),
    (
        "a relative url is refused",
        endpoint(service_settings={"url": "embed"}),
        [("$.service_settings.url", "must be an absolute http:// or https:// URL")],
    ),
    (
        "model_id is not allowed on text_embedding",
        endpoint(service_settings={"model_id": "m"}),
        [("$.service_settings", f"unknown field 'model_id' (allowed: {TEXT_EMBEDDING_SETTINGS})")],
    ),
    (
        "model_id is not allowed on rerank",
        endpoint("rerank", service_settings={"model_id": "m"}),
        [("$.service_settings", "unknown field 'model_id' (allowed: api_key, rate_limit, url)")],
    ),
    (
        "similarity must be one of the three metrics",
        endpoint(service_settings={"similarity": "euclidean"}),
        [("$.service_settings.similarity", "must be one of 'cosine', 'dot_product', 'l2_norm'")],
    ),
    (
        "similarity is not allowed on completion",
        endpoint("completion", service_settings={"similarity": "cosine"}),
        [
            (
                "$.service_settings",
                "unknown field 'similarity' (allowed: api_key, model_id, rate_limit, url)",
            )
        ],
    ),
    (
        "dimensions must be positive",
        endpoint(service_settings={"dimensions": 0}),
        [("$.service_settings.dimensions", "must be >= 1")],
    ),
    (
        "dimensions must be an integer",
        endpoint(service_settings={"dimensions": "384"}),
        [("$.service_settings.dimensions", "must be of type integer, not string")],
    ),
    (
        "max_input_tokens must be positive",
        endpoint(service_settings={"max_input_tokens": -1}),
        [("$.service_settings.max_input_tokens", "must be >= 1")],
    ),
    (
        "requests_per_minute must be positive",
        endpoint(service_settings={"rate_limit": {"requests_per_minute": 0}}),
        [("$.service_settings.rate_limit.requests_per_minute", "must be >= 1")],
    ),
    (
        "rate_limit takes no other key",
        endpoint(service_settings={"rate_limit": {"requests_per_minute": 60, "burst": 5}}),
        [("$.service_settings.rate_limit", "unknown field 'burst' (allowed: requests_per_minute)")],
    ),
    (
        "rate_limit needs requests_per_minute",
        endpoint(service_settings={"rate_limit": {}}),
        [("$.service_settings.rate_limit", "missing required field 'requests_per_minute'")],
    ),
    (
        "return_documents must be a boolean",
        endpoint("rerank", task_settings={"return_documents": "yes"}),
        [("$.task_settings.return_documents", "must be of type boolean, not string")],
    ),
    (
        "top_n must be positive",
        endpoint("rerank", task_settings={"top_n": 0}),
        [("$.task_settings.top_n", "must be >= 1 (got 0)")],
    ),
    (
        "rerank task_settings take no other key",
        endpoint("rerank", task_settings={"top_k": 3}),
        [("$.task_settings", "unknown field 'top_k' (allowed: return_documents, top_n)")],
    ),
    (
        "task_settings are only for rerank, not text_embedding",
        endpoint(task_settings={"top_n": 1}),
        [
            (
                "$",
                "unknown field 'task_settings' (allowed: adopt, chunking_settings, force, inference_id, "
                "secret_rotation, service, service_settings, task_type)",
            )
        ],
    ),
    (
        "task_settings are only for rerank, not chat_completion",
        endpoint("chat_completion", task_settings={}),
        [
            (
                "$",
                "unknown field 'task_settings' (allowed: adopt, force, inference_id, secret_rotation, "
                "service, service_settings, task_type)",
            )
        ],
    ),
    (
        "chunking is only for text_embedding, not rerank",
        endpoint("rerank", chunking_settings={"strategy": "none"}),
        [
            (
                "$",
                "unknown field 'chunking_settings' (allowed: adopt, force, inference_id, secret_rotation, "
                "service, service_settings, task_settings, task_type)",
            )
        ],
    ),
    (
        "chunking is only for text_embedding, not completion",
        endpoint("completion", chunking_settings={"strategy": "none"}),
        [
            (
                "$",
                "unknown field 'chunking_settings' (allowed: adopt, force, inference_id, secret_rotation, "
                "service, service_settings, task_type)",
            )
        ],
    ),
    (
        "sentence chunking needs max_chunk_size",
        endpoint(chunking_settings={"strategy": "sentence"}),
        [("$.chunking_settings", "missing required field 'max_chunk_size'")],
    ),
    (
        "sentence chunks are at least 20",
        endpoint(chunking_settings={"strategy": "sentence", "max_chunk_size": 19}),
        [("$.chunking_settings.max_chunk_size", "must be >= 20 (got 19)")],
    ),
    (
        "sentence_overlap is 0 or 1",
        endpoint(
            chunking_settings={"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 2}
        ),
        [("$.chunking_settings.sentence_overlap", "must be one of 0, 1 (got 2)")],
    ),
    (
        "sentence chunking takes no word overlap",
        endpoint(chunking_settings={"strategy": "sentence", "max_chunk_size": 250, "overlap": 1}),
        [
            (
                "$.chunking_settings",
                "unknown field 'overlap' (allowed: max_chunk_size, sentence_overlap, strategy)",
            )
        ],
    ),
    (
        "word chunks are at least 10",
        endpoint(chunking_settings={"strategy": "word", "max_chunk_size": 9, "overlap": 1}),
        [("$.chunking_settings.max_chunk_size", "must be >= 10 (got 9)")],
    ),
    (
        "word chunking requires an overlap",
        endpoint(chunking_settings={"strategy": "word", "max_chunk_size": 100}),
        [("$.chunking_settings", "missing required field 'overlap'")],
    ),
    (
        "a word overlap of 0 is refused",
        endpoint(chunking_settings={"strategy": "word", "max_chunk_size": 100, "overlap": 0}),
        [("$.chunking_settings.overlap", "must be >= 1 (got 0)")],
    ),
    (
        "a word overlap above half the chunk is refused",
        endpoint(chunking_settings={"strategy": "word", "max_chunk_size": 100, "overlap": 51}),
        [
            (
                "$.chunking_settings.overlap",
                "must be at most 50 (half of max_chunk_size, rounded down) (got 51)",
            )
        ],
    ),
    (
        "half of an odd word chunk is rounded down",
        endpoint(chunking_settings={"strategy": "word", "max_chunk_size": 11, "overlap": 6}),
        [
            (
                "$.chunking_settings.overlap",
                "must be at most 5 (half of max_chunk_size, rounded down) (got 6)",
            )
        ],
    ),
    (
        "recursive chunks are at least 10",
        endpoint(chunking_settings={"strategy": "recursive", "max_chunk_size": 9}),
        [("$.chunking_settings.max_chunk_size", "must be >= 10 (got 9)")],
    ),
    (
        "separator_group and separators exclude each other",
        endpoint(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 10,
                "separator_group": "markdown",
                "separators": ["\n"],
            }
        ),
        [("$.chunking_settings", "use either separator_group or separators, not both")],
    ),
    (
        "separator_group is plaintext or markdown",
        endpoint(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 10,
                "separator_group": "html",
            }
        ),
        [
            (
                "$.chunking_settings.separator_group",
                "must be one of 'plaintext', 'markdown' (got 'html')",
            )
        ],
    ),
    (
        "an empty separators list is refused",
        endpoint(
            chunking_settings={"strategy": "recursive", "max_chunk_size": 10, "separators": []}
        ),
        [("$.chunking_settings.separators", "must have at least 1 item")],
    ),
    (
        "more than 50 separators are refused",
        endpoint(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 10,
                "separators": ["\n"] * 51,
            }
        ),
        [("$.chunking_settings.separators", "must have at most 50 items")],
    ),
    (
        "an empty separator is refused",
        endpoint(
            chunking_settings={"strategy": "recursive", "max_chunk_size": 10, "separators": [""]}
        ),
        [("$.chunking_settings.separators[0]", "must not be empty")],
    ),
    (
        "none chunking is the strategy and nothing else",
        endpoint(chunking_settings={"strategy": "none", "max_chunk_size": 10}),
        [("$.chunking_settings", "unknown field 'max_chunk_size' (allowed: strategy)")],
    ),
    (
        "chunking needs a strategy",
        endpoint(chunking_settings={"max_chunk_size": 250}),
        [("$.chunking_settings", "missing required field 'strategy'")],
    ),
    (
        "strategies are case-sensitive",
        endpoint(chunking_settings={"strategy": "Sentence", "max_chunk_size": 250}),
        [
            (
                "$.chunking_settings.strategy",
                "must be one of 'sentence', 'word', 'recursive', 'none' (got 'Sentence')",
            )
        ],
    ),
    (
        "force must be a boolean",
        endpoint(force="yes"),
        [("$.force", "must be of type boolean, not string")],
    ),
    (
        "secret_rotation is replace or update",
        endpoint(secret_rotation="in_place"),
        [("$.secret_rotation", "must be one of 'replace', 'update' (got 'in_place')")],
    ),
    (
        "the schema of one service refuses another",
        endpoint("completion", service="openai"),
        [("$.service", "must be 'hugging_face' (got 'openai')")],
    ),
]


@pytest.mark.parametrize(
    ("instance", "expected"), [(v[1], v[2]) for v in INVALID], ids=[v[0] for v in INVALID]
)
def test_an_invalid_endpoint_has_exactly_these_problems(
    instance: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems(instance, instance["task_type"]) == expected


def test_every_problem_is_reported_in_path_order_not_just_the_first() -> None:
    instance = endpoint(
        inference_id="E5",
        force="yes",
        task_settings={},
        service_settings={
            "api_key": DELETE,
            "url": "ftp://x",
            "similarity": "euclid",
            "dimensions": 0,
            "rate_limit": {"requests_per_minute": 0},
        },
        chunking_settings={"strategy": "word", "max_chunk_size": 9, "overlap": 0},
    )
    assert schema("text_embedding").problems(instance) == [
        Problem(
            "$",
            "unknown field 'task_settings' (allowed: adopt, chunking_settings, force, inference_id, "
            "secret_rotation, service, service_settings, task_type)",
            "",
        ),
        Problem("$.chunking_settings.max_chunk_size", "must be >= 10 (got 9)", "chunking_settings"),
        Problem("$.chunking_settings.overlap", "must be >= 1 (got 0)", "chunking_settings"),
        Problem("$.force", "must be of type boolean, not string", "force"),
        Problem("$.inference_id", f"{ID_RULE} (got 'E5')", "inference_id"),
        Problem("$.service_settings", "missing required field 'api_key'", "service_settings"),
        Problem("$.service_settings.dimensions", "must be >= 1", "service_settings"),
        Problem(
            "$.service_settings.rate_limit.requests_per_minute", "must be >= 1", "service_settings"
        ),
        Problem(
            "$.service_settings.similarity",
            "must be one of 'cosine', 'dot_product', 'l2_norm'",
            "service_settings",
        ),
        Problem(
            "$.service_settings.url",
            "must be an absolute http:// or https:// URL",
            "service_settings",
        ),
    ]


def test_problem_paths_can_be_rooted_at_a_stack_entry() -> None:
    found = schema("rerank").problems(
        endpoint("rerank", task_settings={"top_n": 0}), "$.endpoints[3]"
    )
    assert [str(p) for p in found] == ["$.endpoints[3].task_settings.top_n: must be >= 1 (got 0)"]


# --- no value under service_settings is ever echoed ---------------------------------------------

MARK = "LEAKED-VALUE-7f3e"
HIDDEN = [
    ("a bad url is not repeated", {"url": f"ftp://{MARK}"}),
    ("a bad similarity is not repeated", {"similarity": MARK}),
    ("a non-integer dimensions is not repeated", {"dimensions": MARK}),
    ("a non-string api_key is not repeated", {"api_key": {"token": MARK}}),
    ("a bad requests_per_minute is not repeated", {"rate_limit": {"requests_per_minute": MARK}}),
    ("a rate_limit of the wrong type is not repeated", {"rate_limit": MARK}),
    ("an unknown setting's value is not repeated", {"region": MARK}),
]


@pytest.mark.parametrize("settings", [h[1] for h in HIDDEN], ids=[h[0] for h in HIDDEN])
def test_no_problem_under_service_settings_contains_the_offending_value(
    settings: dict[str, Any],
) -> None:
    found = schema("text_embedding").problems(endpoint(service_settings=settings))
    assert found, "the value must be refused for this check to mean anything"
    for problem in found:
        assert MARK not in str(problem)


def test_service_settings_of_the_wrong_type_are_not_repeated() -> None:
    found = schema("text_embedding").problems({**endpoint(), "service_settings": MARK})
    assert [str(p) for p in found] == ["$.service_settings: must be of type object, not string"]


def test_the_same_kind_of_value_outside_service_settings_is_shown() -> None:
    # The redaction is specific: elsewhere the value helps the user and is no secret.
    found = schema("rerank").problems(endpoint("rerank", inference_id=MARK))
    assert [str(p) for p in found] == [f"$.inference_id: {ID_RULE} (got '{MARK}')"]


# --- unknown values (preview) -------------------------------------------------------------------


def test_an_unknown_url_is_not_validated() -> None:
    instance = endpoint(service_settings={"url": UNKNOWN})
    assert problems(instance) == [
        ("$.service_settings.url", "must be an absolute http:// or https:// URL")
    ]
    assert schema("text_embedding").problems(instance, unknown=[("service_settings", "url")]) == []


def test_unknown_paths_are_skipped_with_everything_under_them() -> None:
    instance = endpoint()
    instance["service_settings"] = UNKNOWN
    assert schema("text_embedding").problems(instance, unknown=[("service_settings",)]) == []


def test_other_problems_are_still_reported_next_to_an_unknown_value() -> None:
    instance = endpoint(service_settings={"url": UNKNOWN, "dimensions": 0})
    found = schema("text_embedding").problems(instance, unknown=[("service_settings", "url")])
    assert [str(p) for p in found] == ["$.service_settings.dimensions: must be >= 1"]


# --- annotations read by EndpointSchema.rules ---------------------------------------------------

REPLACE = Lifecycle("replace")
UPDATE_HF_SETTINGS = Lifecycle(
    "update", update_when="update.hugging_face.updatable_service_settings"
)
UPDATE_CHUNKING = Lifecycle("update", update_when="update.chunking_settings_accepted")
RATE_LIMIT = FieldRule(
    has_default=True,
    default={"requests_per_minute": 3000},
    lifecycle=UPDATE_HF_SETTINGS,
    since=("8.15.0",),
)
RULES = (
    [
        (task_type, ("service_settings", "api_key"), FieldRule(secret=True, lifecycle=REPLACE))
        for task_type in TASK_TYPES
    ]
    + [
        (task_type, ("service_settings", "url"), FieldRule(lifecycle=REPLACE))
        for task_type in TASK_TYPES
    ]
    + [(task_type, ("service_settings", "rate_limit"), RATE_LIMIT) for task_type in TASK_TYPES]
    + [
        (
            "text_embedding",
            ("service_settings", "dimensions"),
            FieldRule(discovered=True, lifecycle=REPLACE),
        ),
        (
            "text_embedding",
            ("service_settings", "similarity"),
            FieldRule(has_default=True, default="cosine", lifecycle=REPLACE),
        ),
        (
            "text_embedding",
            ("chunking_settings",),
            FieldRule(
                has_default=True,
                default={"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
                lifecycle=UPDATE_CHUNKING,
                since=("8.16.0",),
            ),
        ),
        ("completion", ("service_settings", "model_id"), FieldRule(lifecycle=REPLACE)),
        ("rerank", ("task_settings", "top_n"), FieldRule(lifecycle=Lifecycle("update"))),
        ("rerank", ("task_settings",), FieldRule(lifecycle=Lifecycle("update"))),
        ("rerank", ("service_settings",), FieldRule(lifecycle=REPLACE)),
    ]
)


@pytest.mark.parametrize(
    ("task_type", "path", "rule"),
    RULES,
    ids=[f"{t} {'.'.join(p)} is annotated as the reference says" for t, p, _ in RULES],
)
def test_the_schema_annotations_become_field_rules(
    task_type: str, path: tuple[str, ...], rule: FieldRule
) -> None:
    assert schema(task_type).rules[path] == rule


@pytest.mark.parametrize(
    "task_type", TASK_TYPES, ids=[f"{t} has one secret, api_key" for t in TASK_TYPES]
)
def test_api_key_is_the_only_secret(task_type: str) -> None:
    assert schema(task_type).secret_paths == [("service_settings", "api_key")]


@pytest.mark.parametrize(
    ("task_type", "since"),
    [
        ("text_embedding", ("8.12.0",)),
        ("rerank", ("8.19.0", "9.1.0")),
        ("completion", ("8.19.0", "9.1.0")),
        ("chat_completion", ("8.19.0", "9.1.0")),
    ],
    ids=[
        "text_embedding exists since 8.12",
        "rerank exists since 8.19 and 9.1",
        "completion exists since 8.19 and 9.1",
        "chat_completion exists since 8.19 and 9.1",
    ],
)
def test_each_task_type_names_its_first_versions(task_type: str, since: tuple[str, ...]) -> None:
    assert schema(task_type).since == since


def test_only_text_embedding_has_chunking_and_only_rerank_has_task_settings() -> None:
    assert {t: schema(t).chunking is not None for t in TASK_TYPES} == {
        "text_embedding": True,
        "rerank": False,
        "completion": False,
        "chat_completion": False,
    }
    assert {t: schema(t).allows_task_settings for t in TASK_TYPES} == {
        "text_embedding": False,
        "rerank": True,
        "completion": False,
        "chat_completion": False,
    }


def test_validation_leaves_the_instance_untouched() -> None:
    instance = endpoint(service_settings={"similarity": "euclid"})
    before = copy.deepcopy(instance)
    schema("text_embedding").problems(instance)
    assert instance == before


@pytest.mark.parametrize(
    ("file", "field"),
    [
        ("hugging_face/rerank.schema.json", ("task_settings", "top_n")),
        ("hugging_face/rerank.schema.json", ("service_settings",)),
        ("hugging_face/text_embedding.schema.json", ("chunking_settings",)),
    ],
    ids=[
        "a task_settings field without one",
        "the service_settings group without one",
        "chunking_settings without one",
    ],
)
def test_a_field_without_a_lifecycle_annotation_is_a_schema_error(
    tmp_path: Path, file: str, field: tuple[str, ...]
) -> None:
    shutil.copytree(SCHEMA_DIR, tmp_path / "schemas")
    path = tmp_path / "schemas" / file
    document = json.loads(path.read_text())
    node = document
    for name in field:
        node = node["properties"][name]
    del node["x-es-lifecycle"]
    path.write_text(json.dumps(document))

    with pytest.raises(SchemaError) as raised:
        load_schemas(str(tmp_path / "schemas"))

    where = "".join(f".properties.{name}" for name in field)
    assert str(raised.value) == (
        f"{document['$id']}: ${where} has no x-es-lifecycle ('replace', 'update', "
        "{update_since} or {update_when}): say how Elasticsearch applies a change to it"
    )


# --- The meta-schema check, done once per content -----------------------------------------------


def _stamps(cache: Path) -> list[str]:
    folder = cache / "schemas-checked"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_passed_meta_schema_check_is_noted_once_per_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ES_INFERENCE_CACHE", str(tmp_path / "cache"))
    shutil.copytree(SCHEMA_DIR, tmp_path / "schemas")
    load_schemas(str(tmp_path / "schemas"))
    first = _stamps(tmp_path / "cache")
    assert len(first) == 1

    load_schemas.cache_clear()
    load_schemas(str(tmp_path / "schemas"))
    assert _stamps(tmp_path / "cache") == first, "the same files need no second note"

    path = tmp_path / "schemas" / "hugging_face" / "rerank.schema.json"
    path.write_text(path.read_text().replace('"title"', '"description": "edited", "title"', 1))
    load_schemas.cache_clear()
    load_schemas(str(tmp_path / "schemas"))
    assert len(_stamps(tmp_path / "cache")) == 2, "an edit is checked, and noted, anew"


def test_an_edited_schema_is_checked_although_its_earlier_content_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ES_INFERENCE_CACHE", str(tmp_path / "cache"))
    shutil.copytree(SCHEMA_DIR, tmp_path / "schemas")
    load_schemas(str(tmp_path / "schemas"))
    path = tmp_path / "schemas" / "hugging_face" / "rerank.schema.json"
    document = json.loads(path.read_text())
    document["properties"]["task_settings"]["type"] = "a shape"
    path.write_text(json.dumps(document))
    load_schemas.cache_clear()

    with pytest.raises(SchemaError) as raised:
        load_schemas(str(tmp_path / "schemas"))

    assert str(raised.value).startswith(f"{path}: not a valid JSON Schema: ")
    assert "'a shape' is not valid under any of the given schemas" in str(raised.value)
    assert len(_stamps(tmp_path / "cache")) == 1, "a failed check is not noted"


def test_schemas_load_and_are_checked_when_the_cache_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("ES_INFERENCE_CACHE", str(blocked))
    shutil.copytree(SCHEMA_DIR, tmp_path / "schemas")
    assert "hugging_face/rerank" in load_schemas(str(tmp_path / "schemas")).supported()

    path = tmp_path / "schemas" / "hugging_face" / "rerank.schema.json"
    path.write_text(path.read_text().replace('"type": "object"', '"type": 5', 1))
    load_schemas.cache_clear()
    with pytest.raises(SchemaError, match="not a valid JSON Schema"):
        load_schemas(str(tmp_path / "schemas"))
