"""``es-inference validate``: exit codes 0/1/2, ``file: path: message`` lines, and JSON output."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from providers.cli import main
from providers.schema import load_schemas

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "stacks"
SUPPORTED = ", ".join(load_schemas().supported())
BROKEN = [
    (
        "$.elasticsearch.endpoints[0]",
        "must be an absolute http:// or https:// URL",
    ),
    (
        "$.elasticsearch.retry",
        "unknown field 'jitter' (allowed: deadline, initial_backoff, max_backoff, max_retry_after)",
    ),
    ("$.elasticsearch.retry.deadline", "must be >= 0 (got -1)"),
    ("$.elasticsearch.timeout", "must be > 0 (got 0)"),
    (
        "$.endpoints[0].chunking_settings.overlap",
        "must be at most 50 (half of max_chunk_size, rounded down) (got 60)",
    ),
    ("$.endpoints[0].service_settings.dimensions", "must be >= 1"),
    (
        "$.endpoints[0].service_settings.rate_limit",
        "unknown field 'burst' (allowed: requests_per_minute)",
    ),
    ("$.endpoints[0].service_settings.rate_limit.requests_per_minute", "must be >= 1"),
    (
        "$.endpoints[0].service_settings.similarity",
        "must be one of 'cosine', 'dot_product', 'l2_norm'",
    ),
    ("$.endpoints[1].service_settings", "missing required field 'api_key'"),
    ("$.endpoints[1].task_settings.return_documents", "must be of type boolean, not string"),
    ("$.endpoints[1].task_settings.top_n", "must be >= 1 (got 0)"),
    (
        "$.endpoints[2]",
        "unknown field 'chunking_settings' (allowed: adopt, force, inference_id, secret_rotation, service, service_settings, task_type)",
    ),
    (
        "$.endpoints[3]",
        f"no schema for service 'hugging_face' with task_type 'embedding' (supported: {SUPPORTED})",
    ),
    ("$.endpoints[4]", "must be of type object, not string"),
]
LITERAL = [
    (
        "$.elasticsearch.api_key",
        "a secret must not be written in a stack file; reference it as {secret: <config key>} "
        "(pulumi config set --secret <config key> <value>) or {env: <VARIABLE>}",
    ),
    (
        "$.elasticsearch.password",
        "a secret must not be written in a stack file; reference it as {secret: <config key>} "
        "(pulumi config set --secret <config key> <value>) or {env: <VARIABLE>}",
    ),
    (
        "$.endpoints[0].service_settings.api_key",
        "a secret must not be written in a stack file; reference it as {secret: <config key>} "
        "(pulumi config set --secret <config key> <api_key>) or {env: <VARIABLE>}",
    ),
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with stacks/dev.yaml (valid), broken.yaml and leaky.yaml (invalid)."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(FIXTURES / "valid.yaml", stacks / "dev.yaml")
    shutil.copy(FIXTURES / "every-problem.yaml", stacks / "broken.yaml")
    shutil.copy(FIXTURES / "literal-secret.yaml", stacks / "leaky.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lines(file: str, problems: list[tuple[str, str]]) -> list[str]:
    return [f"{file}: {path}: {message}" for path, message in problems]


def test_a_valid_stack_exits_0_and_says_so_on_stderr(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--stack", "dev"]) == 0
    assert capsys.readouterr() == ("", "1 stack file valid\n")


def test_several_valid_files_are_counted(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(project / "stacks" / "dev.yaml", project / "prod.yaml")
    assert main(["validate", "stacks/dev.yaml", "prod.yaml"]) == 0
    assert capsys.readouterr() == ("", "2 stack files valid\n")


def test_an_invalid_stack_exits_1_with_one_line_per_problem(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "stacks/broken.yaml"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == lines("stacks/broken.yaml", BROKEN)
    assert err == ""


def test_without_arguments_every_stack_file_is_checked_in_name_order(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate"]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == lines("stacks/broken.yaml", BROKEN) + lines(
        "stacks/leaky.yaml", LITERAL
    )


def test_literal_secrets_are_reported_but_never_printed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--stack", "leaky"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == lines("stacks/leaky.yaml", LITERAL)
    for literal in ("es-LITERAL-key-5f2a", "pw-LITERAL-9d3c", "hf_LITERAL_token_7c1e"):
        assert literal not in out + err


def test_a_named_stack_that_does_not_exist_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--stack", "prod"]) == 2
    assert capsys.readouterr() == (
        "",
        "es-inference validate: stacks/prod.yaml: no such file; each Pulumi stack reads "
        "stacks/<stack>.yaml\n",
    )


def test_json_output_lists_every_file_with_its_errors(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--format", "json", "stacks/dev.yaml", "stacks/broken.yaml"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "valid": False,
        "files": [
            {"file": "stacks/dev.yaml", "valid": True, "errors": []},
            {
                "file": "stacks/broken.yaml",
                "valid": False,
                "errors": [{"path": p, "message": m} for p, m in BROKEN],
            },
        ],
    }


def test_json_output_of_a_valid_stack_says_valid(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--format", "json", "--stack", "dev"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "valid": True,
        "files": [{"file": "stacks/dev.yaml", "valid": True, "errors": []}],
    }
    assert err == ""


def test_json_output_of_an_unreadable_file_has_an_empty_path(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "stacks" / "syntax.yaml").write_text("endpoints: [\n", encoding="utf-8")
    assert main(["validate", "--format", "json", "--stack", "syntax"]) == 1
    assert json.loads(capsys.readouterr().out)["files"][0]["errors"] == [
        {
            "path": "",
            "message": "line 2, column 1: not valid YAML: expected the node content, but found '<stream end>'",
        }
    ]


USAGE = [
    (
        ["validate", "stacks/dev.yaml", "--stack", "dev"],
        "es-inference validate: give files or --stack, not both\n",
    ),
    (["validate", "--format", "xml"], None),
    (["validate", "--stack"], None),
    ([], None),
    (["frobnicate"], None),
]


@pytest.mark.parametrize(
    ("argv", "message"),
    USAGE,
    ids=[
        "files and --stack together are a usage error",
        "an unknown format is a usage error",
        "--stack without a name is a usage error",
        "no command is a usage error",
        "an unknown command is a usage error",
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str | None, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    if message is not None:
        assert err == message
    else:
        assert err.startswith("usage: es-inference")


def test_no_stacks_directory_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    assert capsys.readouterr() == (
        "",
        "es-inference validate: no stacks/*.yaml here; name the files\n",
    )


def test_help_exits_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--help"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("usage: es-inference validate [-h] [--stack NAME]")
    assert "exit 0 valid, 1 invalid, 2 usage error" not in err


def test_the_installed_command_validates_offline(project: Path) -> None:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "es-inference"), "validate", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*"},
    )
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert [(f["file"], f["valid"], len(f["errors"])) for f in document["files"]] == [
        ("stacks/broken.yaml", False, 15),
        ("stacks/dev.yaml", True, 0),
        ("stacks/leaky.yaml", False, 3),
    ]
    assert done.stderr == ""
