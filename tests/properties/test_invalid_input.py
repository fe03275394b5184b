"""Invalid stack files and provider inputs: every one is reported, located, stable and secret-free.

Bad inputs are generated from the schemas' own rules (``_strategies``): wrong types, out-of-range
numbers, bad ids, unknown keys, missing fields, bad chunking combinations, literal secrets,
malformed secret references, broken YAML, duplicate keys, non-mapping documents, deep nesting,
huge strings, unicode. Each hides a random token where a secret may sit; no message may show it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness.provider_host import ProviderHost, serialized
from providers.cli import main
from providers.errors import DeclarationError
from providers.inference_endpoint import InferenceEndpointProvider
from providers.model import plain_numbers
from providers.schema import Problem
from providers.secret_references import SecretReference
from providers.stack import EndpointDeclaration, load_stack, stack_problems
from tests.properties._strategies import (
    MARKER,
    PAIRS,
    SCHEMAS,
    BadFile,
    BadInputs,
    budget,
    endpoint_sites,
    invalid,
    invalid_inputs,
    invalid_stack_files,
    record,
    tokens,
    valid_inputs,
    valid_stacks,
)

PROJECT = Path(__file__).resolve().parents[2]
STACK_FILE = "stacks/props.yaml"
# Read errors have no JSON path: a YAML location, or what made the file unreadable.
_LOCATED = re.compile(
    r"line \d+, column \d+: (not valid YAML: \S.*|nested more than \d+ levels deep \(.*\)"
    r"|holds more than \d+ values once its aliases are expanded .*)"
)
_UNREADABLE = re.compile(
    r"not valid YAML \([A-Za-z]+\)|cannot be read: \S.*|nested too deeply to (read|validate)"
)
_TOP_LEVEL = {
    name
    for schema in (SCHEMAS.endpoint(*pair) for pair in PAIRS)
    for name in (schema.schema["properties"] if schema else ())
}


def _cli(*args: str) -> tuple[int, str, str]:
    with redirect_stdout(io.StringIO()) as out, redirect_stderr(io.StringIO()) as err:
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _assert_located_and_clean(problem: Problem, token: str) -> None:
    assert problem.message.strip(), f"empty message at {problem.path!r}"
    if problem.path:
        assert problem.path.startswith("$"), problem
    else:
        assert _LOCATED.fullmatch(problem.message) or _UNREADABLE.fullmatch(problem.message), (
            problem
        )
    assert "\n" not in str(problem), f"a problem spans lines: {problem}"
    assert token not in str(problem) and MARKER not in str(problem), f"secret shown: {problem}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stacks")


# --- stack files ---------------------------------------------------------------------------------


@budget(300)
@given(bad=invalid_stack_files())
def test_every_invalid_stack_file_gets_located_problems_that_never_show_its_secret(
    bad: BadFile, workdir: Path
) -> None:
    record("invalid stack files: stack_problems + load_stack", bad.kind)
    path = workdir / "library.yaml"
    path.write_bytes(bad.content)

    problems = stack_problems(path, STACK_FILE)

    assert problems, "a broken stack file was reported valid"
    for problem in problems:
        _assert_located_and_clean(problem, bad.token)
    assert stack_problems(path, STACK_FILE) == problems, "validating twice differs"
    with pytest.raises(DeclarationError) as raised:
        load_stack(path, STACK_FILE)
    assert raised.value.problems == [f"{STACK_FILE}: {p}" for p in problems]
    assert bad.token not in str(raised.value)


@budget(200)
@given(bad=invalid_stack_files())
def test_validate_exits_1_with_one_line_per_problem_for_every_invalid_stack_file(
    bad: BadFile, workdir: Path
) -> None:
    record("invalid stack files: es-inference validate", bad.kind)
    path = workdir / "cli.yaml"
    path.write_bytes(bad.content)
    file = str(path)

    code, out, err = _cli("validate", file)

    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines, "exit 1 without a problem line"
    assert lines == [f"{file}: {p}" for p in stack_problems(path, file)]
    for line in lines:
        assert re.match(
            rf"{re.escape(file)}: (\$|line \d+, column \d+: |not valid YAML|cannot be read|nested too deeply)",
            line,
        )
        assert bad.token not in line and MARKER not in line
    code, out, err = _cli("validate", "--format", "json", file)
    assert (code, err) == (1, "")
    assert bad.token not in out
    errors = [{"path": p.path, "message": p.message} for p in stack_problems(path, file)]
    assert json.loads(out) == {
        "valid": False,
        "files": [{"file": file, "valid": False, "errors": errors}],
    }


@budget(120)
@given(document=valid_stacks(), style=st.sampled_from([False, True, None]))
def test_valid_stack_files_validate_clean_and_load_one_declaration_per_entry(
    document: dict[str, Any], style: bool | None, workdir: Path
) -> None:
    record("valid stack files: validate + load_stack round trip")
    path = workdir / "valid.yaml"
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=style)
    path.write_text(text, encoding="utf-8")

    assert stack_problems(path, STACK_FILE) == []
    stack = load_stack(path, STACK_FILE)

    assert stack.source == STACK_FILE
    assert stack.elasticsearch == document.get("elasticsearch", {})
    expected = [_declared(index, entry) for index, entry in enumerate(document["endpoints"])]
    assert stack.endpoints == expected
    assert _cli("validate", str(path)) == (0, "", "1 stack file valid\n")


def _declared(index: int, entry: dict[str, Any]) -> EndpointDeclaration:
    settings = dict(entry["service_settings"])
    schema = SCHEMAS.endpoint(entry["service"], entry["task_type"])
    assert schema is not None
    for top, field in schema.secret_paths:
        ((kind, name),) = entry[str(top)][str(field)].items()
        settings[str(field)] = SecretReference(kind, name)
    return EndpointDeclaration(
        path=f"$.endpoints[{index}]",
        inference_id=entry["inference_id"],
        task_type=entry["task_type"],
        service=entry["service"],
        service_settings=settings,
        task_settings=entry.get("task_settings"),
        chunking_settings=entry.get("chunking_settings"),
        force=entry.get("force", False),
        adopt=entry.get("adopt", False),
        secret_rotation=entry.get("secret_rotation", "replace"),
    )


# --- provider inputs through the real dynamic-provider host --------------------------------------


class Host:
    """The module's provider host and every token sent to it (shown briefly in failure reports)."""

    def __init__(self, running: ProviderHost) -> None:
        self.running = running
        self.sent: list[str] = []

    def check(
        self, news: dict[str, Any], token: str
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.sent.append(token)
        return self.running.check({}, news)

    def __repr__(self) -> str:
        return f"<provider host, {len(self.sent)} checks>"


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    """One host for the module; at the end, its stderr must hold none of the tokens sent."""
    running = ProviderHost(str(PROJECT))
    running.configure({})
    watched = Host(running)
    yield watched
    stderr = running.close()
    assert not [t for t in watched.sent if t in stderr] and MARKER not in stderr, stderr[-2000:]


@pytest.fixture(scope="module")
def provider() -> str:
    return serialized(
        InferenceEndpointProvider({"endpoints": ["http://127.0.0.1:9"]}, stack_file=STACK_FILE)
    )


@budget(300)
@given(bad=invalid_inputs())
def test_check_reports_every_invalid_input_under_a_top_level_property_without_the_api_key(
    bad: BadInputs, host: Host, provider: str
) -> None:
    record("invalid provider inputs: check through the host", f"inputs: {bad.kind}")

    returned, failures = host.check({"__provider": provider, **bad.inputs}, bad.token)

    assert failures, "check accepted invalid inputs"
    # Numbers cross the wire as doubles; the provider shows them as written (0.0 -> 0).
    inference_id = plain_numbers(returned.get("inference_id"))
    # A mapping's key order does not survive the wire, so only a scalar id is compared whole.
    shown = repr(inference_id) if not isinstance(inference_id, (dict, list)) else ""
    prefix = f"{STACK_FILE}: endpoint {shown}"
    for prop, reason in failures:
        assert prop in set(bad.inputs) | _TOP_LEVEL, prop
        assert reason.startswith(prefix), reason
        assert re.match(r"[^:]*: endpoint .*?: (\$\S*: |no schema for service )\S", reason), reason
        assert bad.token not in prop + reason and MARKER not in prop + reason, reason


@budget(100)
@given(data=tokens.flatmap(lambda t: st.tuples(st.just(t), valid_inputs(t))))
def test_check_accepts_every_valid_input(
    data: tuple[str, dict[str, Any]], host: Host, provider: str
) -> None:
    record("valid provider inputs: check through the host")
    token, inputs = data

    returned, failures = host.check({"__provider": provider, **inputs}, token)

    assert failures == []
    assert returned["inference_id"] == inputs["inference_id"]


# --- regression tables: the smallest inputs behind the failures the properties found -------------

_ENDPOINT = """\
endpoints:
  - inference_id: e5
    task_type: text_embedding
    service: hugging_face
    service_settings:
      url: http://127.0.0.1:8080/embed
      api_key: {secret: hfApiKey}
"""
_TOKEN = f"{MARKER}regression0token"


def _problems_of(workdir: Path, text: str) -> list[Problem]:
    path = workdir / "case.yaml"
    path.write_text(text, encoding="utf-8")
    return stack_problems(path, STACK_FILE)


def _load_problems(workdir: Path, text: str) -> list[str]:
    path = workdir / "case.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeclarationError) as raised:
        load_stack(path, STACK_FILE)
    return raised.value.problems


@pytest.mark.parametrize(
    "text",
    [
        _ENDPOINT.replace("task_type: text_embedding", "task_type: 2024-02-29"),
        _ENDPOINT.replace("task_type: text_embedding", "task_type: !!binary aGVsbG8="),
        _ENDPOINT.replace("task_type: text_embedding", "task_type: !!set {a, b}"),
        _ENDPOINT
        + "    chunking_settings: {strategy: sentence, max_chunk_size: 250, sentence_overlap: 2024-02-29}\n",
        _ENDPOINT + "1: one\nother: two\n",
        _ENDPOINT + "elasticsearch: {~: x, other: y}\n",
        "? [a, b]\n: 1\n" + _ENDPOINT,
        "? {a: 1}\n: 1\n" + _ENDPOINT,
        "endpoints: " + "[" * 1000 + "]" * 1000 + "\n",
        "endpoints:\n  - " + '{"a": ' * 1000 + "1" + "}" * 1000 + "\n",
    ],
    ids=[
        "a date where task_type is expected is a problem, not a crash",
        "binary data where task_type is expected is a problem, not a crash",
        "a set where task_type is expected is a problem, not a crash",
        "a date where sentence_overlap is expected is a problem, not a crash",
        "an integer key beside a string key is a problem, not a crash",
        "a null key beside a string key is a problem, not a crash",
        "a sequence used as a key is a problem, not a crash",
        "a mapping used as a key is a problem, not a crash",
        "lists nested 1000 deep are a problem, not a crash",
        "mappings nested 1000 deep are a problem, not a crash",
    ],
)
def test_yaml_only_values_keys_and_deep_nesting(workdir: Path, text: str) -> None:
    path = workdir / "case.yaml"
    path.write_text(text, encoding="utf-8")

    problems = stack_problems(path, STACK_FILE)
    code, out, err = _cli("validate", str(path))

    assert problems
    for problem in problems:
        _assert_located_and_clean(problem, _TOKEN)
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"{path}: {p}" for p in stack_problems(path, str(path))]


_REFERENCE_MESSAGE = "must be {secret: <config key>} or {env: <VARIABLE>}"


@pytest.mark.parametrize("where", ["service_settings", "elasticsearch"])
@pytest.mark.parametrize(
    "reference",
    ["{secret: ''}", "{env: ''}", "{env: 1BAD}", "{secret: 'has space'}", "{env: MY-VAR}"],
    ids=[
        "an empty config key",
        "an empty variable name",
        "a variable name starting with a digit",
        "a config key with a space",
        "a variable name with a dash",
    ],
)
def test_malformed_secret_references_are_refused_in_service_settings_as_in_elasticsearch(
    workdir: Path, where: str, reference: str
) -> None:
    if where == "service_settings":
        text, path = (
            _ENDPOINT.replace("{secret: hfApiKey}", reference),
            "$.endpoints[0].service_settings.api_key",
        )
    else:
        text = (
            _ENDPOINT
            + f"elasticsearch:\n  endpoints: [http://127.0.0.1:9200]\n  api_key: {reference}\n"
        )
        path = "$.elasticsearch.api_key"

    assert _load_problems(workdir, text) == [f"{STACK_FILE}: {path}: {_REFERENCE_MESSAGE}"]


_ID_RULE = "must be lowercase letters, digits, '_', '-' and '.', starting and ending with a letter or digit"
_URL_RULE = "must be an absolute http:// or https:// URL"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            _ENDPOINT.replace("inference_id: e5", "inference_id: |\n      e5"),
            f"$.endpoints[0].inference_id: {_ID_RULE} (got 'e5\\n')",
        ),
        (
            _ENDPOINT.replace(
                "url: http://127.0.0.1:8080/embed", 'url: "http://127.0.0.1:8080/embed\\n"'
            ),
            f"$.endpoints[0].service_settings.url: {_URL_RULE}",
        ),
        (
            _ENDPOINT + 'elasticsearch:\n  endpoints: ["http://127.0.0.1:9200\\n"]\n',
            f"$.elasticsearch.endpoints[0]: {_URL_RULE}",  # hidden: it may carry user:password@
        ),
        (
            _ENDPOINT + 'elasticsearch:\n  api_key: {env: "ES_API_KEY\\n"}\n',
            f"$.elasticsearch.api_key: {_REFERENCE_MESSAGE}",
        ),
    ],
    ids=[
        "an inference_id written as a block scalar ends in a newline Elasticsearch refuses",
        "a url ending in a newline is refused",
        "an Elasticsearch endpoint ending in a newline is refused",
        "an environment variable name ending in a newline is refused",
    ],
)
def test_a_trailing_newline_does_not_slip_past_an_anchored_pattern(
    workdir: Path, text: str, problem: str
) -> None:
    assert _load_problems(workdir, text) == [f"{STACK_FILE}: {problem}"]


def test_check_refuses_an_inference_id_ending_in_a_newline(host: Host, provider: str) -> None:
    inputs = {
        "__provider": provider,
        "inference_id": "e5\n",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {"url": "http://127.0.0.1:8080/embed", "api_key": _TOKEN},
    }

    _, failures = host.check(inputs, _TOKEN)

    assert failures == [
        (
            "inference_id",
            f"{STACK_FILE}: endpoint 'e5\\n': $.inference_id: {_ID_RULE} (got 'e5\\n')",
        )
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (_ENDPOINT + f"elasticsearch:\n  password: *{_TOKEN}\n", "line 9, column 13: "),
        (_ENDPOINT + f"elasticsearch:\n  api_key: !{_TOKEN}\n", "line 9, column 12: "),
        (_ENDPOINT + f"elasticsearch:\n  bearer_token: !!{_TOKEN} x\n", "line 9, column 17: "),
        (_ENDPOINT.replace("{secret: hfApiKey}", f"*{_TOKEN}"), "line 7, column 16: "),
    ],
    ids=[
        "a password starting with * (read as an alias) is not quoted back",
        "an API key starting with ! (read as a tag) is not quoted back",
        "a bearer token starting with !! (read as a tag) is not quoted back",
        "a service api_key starting with * (read as an alias) is not quoted back",
    ],
)
def test_secrets_that_yaml_reads_as_aliases_or_tags_stay_out_of_the_message(
    workdir: Path, text: str, where: str
) -> None:
    problems = _problems_of(workdir, text)

    assert [p.path for p in problems] == [""]
    assert problems[0].message.startswith(f"{where}not valid YAML: ")
    assert _TOKEN not in problems[0].message


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://elastic:{_TOKEN}@127.0.0.1:9200",
        f"127.0.0.1:9200?api_key={_TOKEN}",
        f"https://elastic:{_TOKEN}@ 127.0.0.1:9200",
    ],
    ids=[
        "credentials in an ftp url",
        "an api_key query on a url without a scheme",
        "credentials in a url with a space",
    ],
)
def test_an_invalid_elasticsearch_url_is_not_quoted_because_it_may_carry_credentials(
    workdir: Path, url: str
) -> None:
    problems = _problems_of(workdir, _ENDPOINT + f"elasticsearch:\n  endpoints: ['{url}']\n")

    assert [p.path for p in problems] == ["$.elasticsearch.endpoints[0]"]
    assert problems[0].message.startswith(_URL_RULE)
    assert _TOKEN not in problems[0].message


_WORD_OVERLAP_RULE = "must be at most 50 (half of max_chunk_size, rounded down)"


def test_a_stack_file_refuses_a_word_overlap_above_half_the_chunk_size(workdir: Path) -> None:
    text = _ENDPOINT + "    chunking_settings: {strategy: word, max_chunk_size: 100, overlap: 60}\n"

    assert _load_problems(workdir, text) == [
        f"{STACK_FILE}: $.endpoints[0].chunking_settings.overlap: {_WORD_OVERLAP_RULE} (got 60)"
    ]


def test_check_refuses_a_word_overlap_above_half_the_chunk_size_as_the_stack_file_does(
    host: Host, provider: str
) -> None:
    inputs = {
        "__provider": provider,
        "inference_id": "e5",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {"url": "http://127.0.0.1:8080/embed", "api_key": _TOKEN},
        "chunking_settings": {"strategy": "word", "max_chunk_size": 100, "overlap": 60},
    }

    _, failures = host.check(inputs, _TOKEN)

    assert [prop for prop, _ in failures] == ["chunking_settings"]
    assert failures[0][1].startswith(
        f"{STACK_FILE}: endpoint 'e5': $.chunking_settings.overlap: {_WORD_OVERLAP_RULE}"
    )


@pytest.mark.parametrize("pair", PAIRS, ids=["/".join(p) for p in PAIRS])
def test_every_field_of_every_schema_has_a_way_to_be_broken(pair: tuple[str, str]) -> None:
    # The generators above pick a field at random; one they cannot break fails them only on the
    # draws that pick it (a server-filled field, `not: {}`, did so once in a CI run).
    for site in endpoint_sites(pair, ("endpoints", 0))[1:]:
        for stack in (True, False):
            invalid(site, "SeKrEt", stack=stack)  # asserts that there is at least one way
