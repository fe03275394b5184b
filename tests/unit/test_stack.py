"""Stack files: loading, every problem as ``<file>: <path>: <message>``, secrets only by reference."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import pytest

from providers.errors import DeclarationError
from providers.schema import Problem, load_schemas
from providers.secret_references import SecretReference
from providers.session import ProcessState
from providers.stack import (
    EndpointDeclaration,
    StackDeclaration,
    declared_force,
    load_stack,
    stack_problems,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stacks"
SUPPORTED = ", ".join(load_schemas().supported())
GUIDANCE = (
    "a secret must not be written in a stack file; reference it as {{secret: <config key>}} "
    "(pulumi config set --secret <config key> <{name}>) or {{env: <VARIABLE>}}"
)
MALFORMED = "must be {secret: <config key>} or {env: <VARIABLE>}"


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.yaml"


def refused(path: Path, source: str) -> DeclarationError:
    with pytest.raises(DeclarationError) as caught:
        load_stack(path, source)
    return caught.value


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def one_endpoint(api_key: str) -> str:
    return (
        "endpoints:\n"
        "  - inference_id: hf-minilm\n"
        "    task_type: text_embedding\n"
        "    service: hugging_face\n"
        "    service_settings:\n"
        "      url: http://127.0.0.1:18080/embed\n"
        f"      api_key: {api_key}\n"
    )


def test_a_valid_demo_like_stack_loads_with_secret_references() -> None:
    assert load_stack(fixture("valid"), "stacks/dev.yaml") == StackDeclaration(
        source="stacks/dev.yaml",
        elasticsearch={
            "endpoints": ["http://127.0.0.1:19200", "http://127.0.0.1:19201"],
            "api_key": {"secret": "esApiKey"},
            "timeout": 45,
            "retry": {
                "deadline": 30,
                "initial_backoff": 0.25,
                "max_backoff": 5,
                "max_retry_after": 10,
            },
        },
        endpoints=[
            EndpointDeclaration(
                path="$.endpoints[0]",
                inference_id="hf-minilm",
                task_type="text_embedding",
                service="hugging_face",
                service_settings={
                    "url": "http://127.0.0.1:18080/embed",
                    "api_key": SecretReference("secret", "hfApiKey"),
                    "similarity": "dot_product",
                },
                chunking_settings={
                    "strategy": "sentence",
                    "max_chunk_size": 250,
                    "sentence_overlap": 1,
                },
            ),
            EndpointDeclaration(
                path="$.endpoints[1]",
                inference_id="hf-rerank",
                task_type="rerank",
                service="hugging_face",
                service_settings={
                    "url": "http://127.0.0.1:18080/rerank",
                    "api_key": SecretReference("env", "HF_API_KEY"),
                },
                task_settings={"return_documents": True, "top_n": 3},
            ),
            EndpointDeclaration(
                path="$.endpoints[2]",
                inference_id="hf.chat-1",
                task_type="chat_completion",
                service="hugging_face",
                service_settings={
                    "url": "http://127.0.0.1:18080/v1/chat/completions",
                    "api_key": SecretReference("secret", "other-project:hfApiKey"),
                    "model_id": "tgi",
                    "rate_limit": {"requests_per_minute": 120},
                },
                force=True,
            ),
        ],
    )


def test_the_shipped_demo_stack_is_valid() -> None:
    demo = FIXTURES.parents[2] / "stacks" / "dev.yaml"
    assert [e.inference_id for e in load_stack(demo, "stacks/dev.yaml").endpoints] == [
        "hf-minilm",
        "hf-rerank",
    ]


def test_every_problem_is_listed_with_file_path_and_message() -> None:
    error = refused(fixture("every-problem"), "stacks/broken.yaml")
    lines = [
        "$.elasticsearch.endpoints[0]: must be an absolute http:// or https:// URL",
        "$.elasticsearch.retry: unknown field 'jitter' (allowed: deadline, initial_backoff, max_backoff, max_retry_after)",
        "$.elasticsearch.retry.deadline: must be >= 0 (got -1)",
        "$.elasticsearch.timeout: must be > 0 (got 0)",
        "$.endpoints[0].chunking_settings.overlap: must be at most 50 (half of max_chunk_size, rounded down) (got 60)",
        "$.endpoints[0].service_settings.dimensions: must be >= 1",
        "$.endpoints[0].service_settings.rate_limit: unknown field 'burst' (allowed: requests_per_minute)",
        "$.endpoints[0].service_settings.rate_limit.requests_per_minute: must be >= 1",
        "$.endpoints[0].service_settings.similarity: must be one of 'cosine', 'dot_product', 'l2_norm'",
        "$.endpoints[1].service_settings: missing required field 'api_key'",
        "$.endpoints[1].task_settings.return_documents: must be of type boolean, not string",
        "$.endpoints[1].task_settings.top_n: must be >= 1 (got 0)",
        "$.endpoints[2]: unknown field 'chunking_settings' (allowed: adopt, force, inference_id, secret_rotation, service, service_settings, task_type)",
        f"$.endpoints[3]: no schema for service 'hugging_face' with task_type 'embedding' (supported: {SUPPORTED})",
        "$.endpoints[4]: must be of type object, not string",
    ]
    assert error.source == "stacks/broken.yaml"
    assert error.problems == [f"stacks/broken.yaml: {line}" for line in lines]
    assert str(error) == "\n".join(
        [
            "stacks/broken.yaml is invalid (15 errors):",
            *(f"  stacks/broken.yaml: {line}" for line in lines),
        ]
    )


def test_stack_problems_gives_the_same_problems_as_objects() -> None:
    found = stack_problems(fixture("every-problem"), "stacks/broken.yaml")
    assert len(found) == 15
    assert found[5] == Problem(
        "$.endpoints[0].service_settings.dimensions", "must be >= 1", "service_settings"
    )
    assert found[-1] == Problem("$.endpoints[4]", "must be of type object, not string", "endpoints")


def test_a_valid_stack_has_no_problems() -> None:
    assert stack_problems(fixture("valid")) == []


def test_literal_secrets_are_refused_with_guidance_and_never_repeated() -> None:
    error = refused(fixture("literal-secret"), "stacks/dev.yaml")
    assert str(error) == "\n".join(
        [
            "stacks/dev.yaml is invalid (3 errors):",
            "  stacks/dev.yaml: $.elasticsearch.api_key: " + GUIDANCE.format(name="value"),
            "  stacks/dev.yaml: $.elasticsearch.password: " + GUIDANCE.format(name="value"),
            "  stacks/dev.yaml: $.endpoints[0].service_settings.api_key: "
            + GUIDANCE.format(name="api_key"),
        ]
    )
    for literal in ("es-LITERAL-key-5f2a", "pw-LITERAL-9d3c", "hf_LITERAL_token_7c1e"):
        assert literal not in str(error)


def test_a_literal_secret_next_to_other_problems_is_still_not_repeated(tmp_path: Path) -> None:
    text = one_endpoint("hf_LITERAL_token_7c1e") + "      dimensions: 0\n      similarity: x\n"
    problems = [str(p) for p in stack_problems(write(tmp_path, text))]
    assert problems == [
        "$.endpoints[0].service_settings.api_key: " + GUIDANCE.format(name="api_key"),
        "$.endpoints[0].service_settings.dimensions: must be >= 1",
        "$.endpoints[0].service_settings.similarity: must be one of 'cosine', 'dot_product', 'l2_norm'",
    ]
    assert all("hf_LITERAL_token_7c1e" not in p for p in problems)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("{secret: hfApiKey}", SecretReference("secret", "hfApiKey")),
        ("{secret: 'proj:hfApiKey'}", SecretReference("secret", "proj:hfApiKey")),
        ("{env: HF_API_KEY}", SecretReference("env", "HF_API_KEY")),
    ],
    ids=[
        "a Pulumi config secret reference is accepted",
        "a namespaced config secret reference is accepted",
        "an environment variable reference is accepted",
    ],
)
def test_secret_references_are_accepted(
    tmp_path: Path, reference: str, expected: SecretReference
) -> None:
    declared = load_stack(write(tmp_path, one_endpoint(reference)), "stacks/dev.yaml")
    assert declared.endpoints[0].service_settings["api_key"] == expected


MALFORMED_REFERENCES = [
    ("{secret: k, env: V}", "a reference naming both a secret and a variable is refused"),
    ("{vault: hf}", "a reference of an unknown kind is refused"),
    ("{env: 5}", "a variable name that is not a string is refused"),
    ("{env: 1BAD}", "a variable name starting with a digit is refused"),
    ("{secret: 'has space'}", "a config key with a space is refused"),
    ("{secret: ''}", "an empty config key is refused"),
    ("[hfApiKey]", "a list is not a reference"),
    ("12345", "a number is not a reference"),
]


@pytest.mark.parametrize(
    "reference",
    [m[0] for m in MALFORMED_REFERENCES],
    ids=[f"in an endpoint, {m[1]}" for m in MALFORMED_REFERENCES],
)
def test_a_malformed_reference_in_an_endpoint_is_refused(tmp_path: Path, reference: str) -> None:
    error = refused(write(tmp_path, one_endpoint(reference)), "stacks/dev.yaml")
    assert error.problems == [
        f"stacks/dev.yaml: $.endpoints[0].service_settings.api_key: {MALFORMED}"
    ]


@pytest.mark.parametrize(
    "reference",
    [m[0] for m in MALFORMED_REFERENCES],
    ids=[f"in the elasticsearch block, {m[1]}" for m in MALFORMED_REFERENCES],
)
def test_a_malformed_reference_in_the_elasticsearch_block_is_refused(
    tmp_path: Path, reference: str
) -> None:
    text = f"elasticsearch:\n  endpoints: [http://127.0.0.1:9200]\n  api_key: {reference}\nendpoints: []\n"
    error = refused(write(tmp_path, text), "stacks/dev.yaml")
    assert error.problems == [f"stacks/dev.yaml: $.elasticsearch.api_key: {MALFORMED}"]


def test_a_duplicate_inference_id_names_its_first_declaration() -> None:
    error = refused(fixture("duplicate-id"), "stacks/dev.yaml")
    assert error.problems == [
        "stacks/dev.yaml: $.endpoints[2].inference_id: 'hf-minilm' is declared twice "
        "(first at $.endpoints[0])"
    ]


def test_a_duplicate_yaml_key_is_refused_instead_of_silently_kept() -> None:
    error = refused(fixture("duplicate-key"), "stacks/dev.yaml")
    assert error.problems == [
        "stacks/dev.yaml: line 4, column 5: not valid YAML: found the key 'inference_id' twice "
        "(first on line 2)"
    ]


def test_a_yaml_syntax_error_gives_line_and_column_and_no_snippet() -> None:
    error = refused(fixture("syntax-error"), "stacks/dev.yaml")
    assert str(error) == (
        "stacks/dev.yaml is invalid (1 error):\n"
        "  stacks/dev.yaml: line 6, column 17: not valid YAML: expected ',' or '}', but got ':'"
    )
    assert "hf_SYNTAX_secret_3b8e" not in str(error)


def test_a_missing_file_says_which_file_each_stack_reads(tmp_path: Path) -> None:
    error = refused(tmp_path / "prod.yaml", "stacks/prod.yaml")
    assert str(error) == (
        "stacks/prod.yaml is invalid (1 error):\n"
        "  stacks/prod.yaml: no such file; each Pulumi stack reads stacks/<stack>.yaml"
    )


def test_an_unreadable_file_is_one_problem_without_a_path(tmp_path: Path) -> None:
    assert stack_problems(tmp_path / "prod.yaml", "stacks/prod.yaml") == [
        Problem("", "no such file; each Pulumi stack reads stacks/<stack>.yaml", "")
    ]


def test_the_file_name_defaults_to_the_path(tmp_path: Path) -> None:
    path = write(tmp_path, "endpoints: 5\n")
    assert refused(path, None).problems == [  # type: ignore[arg-type]
        f"{path}: $.endpoints: must be of type array, not integer"
    ]


def test_an_unsupported_service_or_task_type_lists_the_supported_pairs() -> None:
    error = refused(fixture("unsupported"), "stacks/dev.yaml")
    assert error.problems == [
        f"stacks/dev.yaml: $.endpoints[0]: no schema for service 'watsonxai' with task_type "
        f"'text_embedding' (supported: {SUPPORTED})",
        f"stacks/dev.yaml: $.endpoints[1]: no schema for service 'hugging_face' with task_type "
        f"'embedding' (supported: {SUPPORTED})",
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("", "$: must be of type object, not null"),
        ("- a\n- b\n", "$: must be of type object, not array"),
        ("elasticsearch: {}\n", "$: missing required field 'endpoints'"),
    ],
    ids=[
        "an empty file is not a stack",
        "a list is not a stack",
        "a stack must declare endpoints",
    ],
)
def test_a_document_that_is_not_a_stack_is_refused(
    tmp_path: Path, document: str, expected: str
) -> None:
    assert [str(p) for p in stack_problems(write(tmp_path, document))] == [expected]


def test_a_problem_found_by_both_schemas_is_listed_once(tmp_path: Path) -> None:
    # stack.schema.json and the endpoint's schema both check inference_id and force.
    text = one_endpoint("{secret: hfApiKey}").replace("hf-minilm", "HF") + "    force: 'yes'\n"
    error = refused(write(tmp_path, text), "stacks/dev.yaml")
    assert error.problems == [
        "stacks/dev.yaml: $.endpoints[0].force: must be of type boolean, not string",
        "stacks/dev.yaml: $.endpoints[0].inference_id: must be lowercase letters, digits, '_', "
        "'-' and '.', starting and ending with a letter or digit (got 'HF')",
    ]


@pytest.mark.parametrize(
    ("path", "inference_id", "expected"),
    [
        (fixture("force"), "forced", True),
        (fixture("force"), "not-forced", False),
        (fixture("force"), "default", False),
        (fixture("force"), "quoted", False),
        (fixture("force"), "undeclared", False),
        (FIXTURES / "absent.yaml", "forced", False),
        (fixture("syntax-error"), "hf-minilm", False),
        (fixture("duplicate-key"), "hf-minilm", False),
    ],
    ids=[
        "force true is declared force",
        "force false is not",
        "no force is not",
        "a quoted 'true' is not",
        "an id the file does not declare is not",
        "a missing file means no",
        "a file with a syntax error means no",
        "a file with a duplicate key means no",
    ],
)
def test_declared_force_reads_the_file_as_it_is_now(
    path: Path, inference_id: str, expected: bool
) -> None:
    assert declared_force(path, inference_id) is expected


def test_declared_force_on_a_document_that_is_not_a_mapping_is_no(tmp_path: Path) -> None:
    assert (
        declared_force(write(tmp_path, "- inference_id: forced\n  force: true\n"), "forced")
        is False
    )


def test_declared_force_with_the_sessions_memo_reads_each_version_of_the_file_once(
    tmp_path: Path,
) -> None:
    process = ProcessState()
    parsed: list[object] = []

    def remember(key: Hashable, version: Hashable, compute: Callable[[], Any]) -> Any:
        def counted() -> Any:
            parsed.append(version)
            return compute()

        return process.remember(key, version, counted)

    path = write(tmp_path, "endpoints:\n- inference_id: e\n  force: true\n")
    first = [declared_force(path, "e", remember) for _ in range(3)]
    path.write_text("endpoints:\n- inference_id: e\n  force: false\n")

    assert first == [True, True, True]
    assert declared_force(path, "e", remember) is False
    assert len(parsed) == 2


@pytest.mark.parametrize(
    ("entry", "first"),
    [
        ("a", "$.endpoints[0]: must be of type object, not string"),
        (
            "{inference_id: x}",
            "$.endpoints[0]: missing required fields 'task_type', 'service', 'service_settings'",
        ),
        (".nan", "$.endpoints[0]: must be a finite number, not NaN (.nan)"),
    ],
    ids=["wrong entries", "incomplete entries", "non-finite values"],
)
def test_a_file_with_thousands_of_problems_reports_the_first_hundred_and_says_so(
    tmp_path: Path, entry: str, first: str
) -> None:
    # Before the cap, 499,000 wrong entries (1 MB) took 35 s and 1.9 GB to report one by one.
    path = tmp_path / "many.yaml"
    path.write_text("endpoints: [" + ", ".join([entry] * 20_000) + "]\n", encoding="utf-8")

    problems = [str(p) for p in stack_problems(path, str(path))]

    assert len(problems) == 101
    assert problems[0] == first
    assert problems[-1] == (
        "$: more than 100 problems; these are the first 100 in the file, fix them and "
        "validate again"
    )
    assert all(p.startswith("$.endpoints[") for p in problems[:-1])
