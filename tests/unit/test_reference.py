"""The stack reference is generated from schemas/ and the committed copies are never stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from providers.cli import main
from providers.reference import README_BEGIN, README_END, stack_reference
from providers.schema import load_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_readme_table_and_reference_match_the_schemas(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["docs", "--check", "--root", str(ROOT)]) == 0, capsys.readouterr().err


def test_a_stale_reference_is_reported_then_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "stack-reference.md").write_text("# old\n", encoding="utf-8")

    assert main(["docs", "--check", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"es-inference docs: {tmp_path / 'docs' / 'stack-reference.md'} is stale; "
        "run es-inference docs\n"
    )
    assert (tmp_path / "docs" / "stack-reference.md").read_text(encoding="utf-8") == "# old\n"

    assert main(["docs", "--root", str(tmp_path)]) == 0
    assert main(["docs", "--check", "--root", str(tmp_path)]) == 0


def test_a_readme_without_the_markers_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("# no markers\n", encoding="utf-8")
    assert main(["docs", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"es-inference docs: {tmp_path / 'README.md'}: the README has no "
        f"{README_BEGIN!r} … {README_END!r} markers\n"
    )


def test_the_reference_has_a_section_per_service_and_task_type() -> None:
    text = stack_reference(load_schemas())
    for pair in load_schemas().supported():
        service, task_type = pair.split("/")
        assert f"### `{service}` / `{task_type}`" in text


def test_the_reference_states_the_rules_the_provider_applies() -> None:
    text = stack_reference(load_schemas())
    assert (
        "| `service_settings.num_allocations` |  | integer; ≥ 1 |  | never a change while "
        '{"adaptive_allocations": {"enabled": true}}; else update in place |  | '
        "filled in by Elasticsearch when `deployment_id` is declared |" in text
    )
    assert "rotates with the other `aws` secrets" in text
    assert "needs exactly one of api_key, entra_id, client_secret" in text
