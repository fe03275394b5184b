"""Stack files built to hurt: alias bombs, depth, size, odd numbers, paths that are not files.

Issue 14 rows 1, 6, 10 and 11, at the loader: each is refused with one clear line (file, where,
rule) before any value is expanded. ``tests/properties/test_hostile_yaml.py`` feeds generated ones
to every entry point in a memory-limited process; ``tests/e2e/test_hostile.py`` runs the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.cli import main
from providers.errors import DeclarationError
from providers.schema import load_schemas
from providers.stack import MAX_BYTES, MAX_DEPTH, declared_force, load_stack, stack_problems

VALID_ENDPOINT = """\
  - inference_id: hf-minilm
    task_type: text_embedding
    service: hugging_face
    service_settings:
      url: http://127.0.0.1:1/embed
      api_key: {secret: hfApiKey}
"""


def billion_laughs(levels: int = 9, fan_out: int = 10) -> str:
    """The classic: each level is a list of ``fan_out`` aliases of the one before."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * fan_out)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"endpoints: *a{levels}")
    return "\n".join(lines) + "\n"


def problems_of(tmp_path: Path, text: str | bytes) -> list[str]:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(DeclarationError) as caught:
        load_stack(path, "stacks/hostile.yaml")
    from_validate = [str(p) for p in stack_problems(path, "stacks/hostile.yaml")]
    loaded = [p.removeprefix("stacks/hostile.yaml: ") for p in caught.value.problems]
    assert from_validate == loaded, "validate and the Pulumi program disagree"
    assert declared_force(path, "hf-minilm") is False
    return loaded


def test_a_billion_laughs_file_is_refused_before_anything_is_expanded(tmp_path: Path) -> None:
    assert problems_of(tmp_path, billion_laughs()) == [
        "line 7, column 15: holds more than 500000 values once its aliases are expanded "
        "(an alias bomb?); use fewer aliases, or split the file"
    ]


def test_a_few_aliases_that_share_settings_still_work(tmp_path: Path) -> None:
    text = """\
endpoints:
  - inference_id: one
    task_type: text_embedding
    service: hugging_face
    service_settings: &settings {url: "http://127.0.0.1:1/embed", api_key: {secret: hfApiKey}}
  - {inference_id: two, task_type: text_embedding, service: hugging_face, service_settings: *settings}
"""
    path = tmp_path / "aliases.yaml"
    path.write_text(text)
    assert [e.inference_id for e in load_stack(path).endpoints] == ["one", "two"]


def test_an_alias_inside_the_value_it_names_is_refused(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "endpoints: &loop [*loop]\n") == [
        "line 1, column 19: an alias refers to a value that contains it, so it never ends"
    ]


def test_nesting_beyond_the_bound_is_refused_with_its_location(tmp_path: Path) -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert problems_of(tmp_path, f"endpoints: {deep}\n") == [
        f"line 1, column {11 + MAX_DEPTH}: nested more than {MAX_DEPTH} levels deep "
        "(a stack file needs about 6)"
    ]


def test_nesting_a_million_levels_deep_does_not_crash_the_parser(tmp_path: Path) -> None:
    deep = "[" * 1_000_000
    (message,) = problems_of(tmp_path, f"endpoints: {deep}\n")
    assert message.endswith(
        f"nested more than {MAX_DEPTH} levels deep (a stack file needs about 6)"
    )


def test_a_file_larger_than_the_bound_is_refused_unread(tmp_path: Path) -> None:
    padding = "# " + "x" * 1000 + "\n"
    text = "endpoints:\n" + VALID_ENDPOINT + padding * (MAX_BYTES // len(padding) + 1)
    assert problems_of(tmp_path, text) == [
        "larger than 4 MiB, the most a stack file may be (an endpoint takes about 300 bytes)"
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(".nan", "NaN (.nan)"), (".inf", "infinite"), ("-.Inf", "infinite")],
    ids=["nan", "inf", "-inf"],
)
def test_a_non_finite_timeout_in_the_stack_file_is_refused_by_validate(
    tmp_path: Path, value: str, shown: str
) -> None:
    text = f"elasticsearch:\n  timeout: {value}\n  retry: {{deadline: {value}}}\nendpoints: []\n"
    assert problems_of(tmp_path, text) == [
        f"$.elasticsearch.retry.deadline: must be a finite number, not {shown}",
        f"$.elasticsearch.timeout: must be a finite number, not {shown}",
    ]


def test_absurd_timeouts_in_the_stack_file_are_refused_by_validate(tmp_path: Path) -> None:
    text = "elasticsearch:\n  timeout: 1.0e+300\n  retry: {deadline: 100000}\nendpoints: []\n"
    assert problems_of(tmp_path, text) == [
        "$.elasticsearch.retry.deadline: must be <= 86400 (got 100000)",
        "$.elasticsearch.timeout: must be <= 3600 (got 1e+300)",
    ]


def _embedding(**settings: Any) -> str:
    extra = "".join(f"      {k}: {v}\n" for k, v in settings.items())
    return "endpoints:\n" + VALID_ENDPOINT + extra


def test_dimensions_beyond_a_java_integer_are_refused_offline(tmp_path: Path) -> None:
    text = _embedding(dimensions="99999999999999999999999")
    assert problems_of(tmp_path, text) == [
        "$.endpoints[0].service_settings.dimensions: must be <= 2147483647"
    ]


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("dimensions", 2**31 - 1, True),
        ("dimensions", 2**31, False),
        ("max_input_tokens", 2**31, False),
        ("rate_limit", "{requests_per_minute: 9007199254740991}", True),
        ("rate_limit", "{requests_per_minute: 9007199254740992}", False),
    ],
    ids=lambda v: str(v),
)
def test_integer_bounds_follow_elasticsearchs_java_types(
    tmp_path: Path, field: str, value: object, allowed: bool
) -> None:
    path = tmp_path / "bounds.yaml"
    path.write_text(_embedding(**{field: value}))
    assert (stack_problems(path) == []) is allowed


def _integers(node: object, where: str = "$") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found.append((where, node))
        for key, value in node.items():
            found.extend(_integers(value, f"{where}.{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_integers(value, f"{where}[{index}]"))
    return found


def test_every_integer_in_the_schemas_has_a_maximum_a_java_int_or_a_float_can_hold() -> None:
    schemas = load_schemas()
    documents = [schemas.stack_schema]
    documents += [schemas.endpoint(*p.split("/")).schema for p in schemas.supported()]  # type: ignore[union-attr]
    for path in (schemas.directory / "common").glob("*.schema.json"):
        documents.append(yaml.safe_load(path.read_text(encoding="utf-8")))
    integers = [found for document in documents for found in _integers(document)]
    assert integers
    for where, rule in integers:
        assert rule.get("maximum") in (2**31 - 1, 2**53 - 1), where
        assert "$comment" in rule, f"{where}: say which Java type sets the bound"


# --- row 10: what is not a stack file ------------------------------------------------------------


def _validate(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["validate", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_validate_on_a_directory_says_it_is_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "stacks"
    folder.mkdir()
    assert _validate(str(folder), capsys=capsys) == (
        2,
        f"es-inference validate: {folder}: a directory, not a stack file; name a .yaml file in it\n",
    )


def test_validate_on_a_symlink_loop_says_it_is_a_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = tmp_path / "loop.yaml"
    os.symlink(loop, loop)
    assert _validate(str(loop), capsys=capsys) == (
        2,
        f"es-inference validate: {loop}: a symbolic link loop (its links lead back to themselves)\n",
    )


def test_validate_on_a_dangling_symlink_says_where_it_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "dev.yaml"
    os.symlink(tmp_path / "gone.yaml", link)
    assert _validate(str(link), capsys=capsys) == (
        2,
        f"es-inference validate: {link}: a symbolic link to a file that does not exist\n",
    )


def test_validate_on_a_missing_file_still_says_no_such_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert _validate(str(missing), capsys=capsys) == (
        2,
        f"es-inference validate: {missing}: no such file; each Pulumi stack reads "
        "stacks/<stack>.yaml\n",
    )


def test_the_program_says_the_same_of_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "dev.yaml"
    folder.mkdir()
    with pytest.raises(DeclarationError) as caught:
        load_stack(folder, "stacks/dev.yaml")
    assert caught.value.problems == [
        "stacks/dev.yaml: a directory, not a stack file; name a .yaml file in it"
    ]
