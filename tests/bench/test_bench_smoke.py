"""The benchmark suite runs end to end (``scripts/bench --smoke``) and writes every table.

It runs the real Pulumi CLI (N = 1 and 3) and the emulator, in about a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.environment import run_bench

pytestmark = pytest.mark.e2e

PHASES = {
    "preview": "preview (new stack)",
    "up": "up",
    "refresh": "refresh",
    "preview_nochange": "preview (no change)",
    "destroy": "destroy",
}
OPS = ["create", "read", "update", "delete"]
SIZES = ["1", "3"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The output folder of one ``scripts/bench --smoke`` run."""
    out = tmp_path_factory.mktemp("bench")
    run_bench(out, "--smoke", timeout=1200)
    yield out


def _results(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "results.json").read_text()))


def test_the_smoke_run_writes_the_tables_the_profile_the_plot_and_the_raw_data(
    smoke_run: Path,
) -> None:
    written = {p.relative_to(smoke_run).as_posix() for p in smoke_run.rglob("*") if p.is_file()}
    assert {"results.md", "profile.md", "scale.png", "results.json"} <= written
    assert {"raw/per_op_samples.json", "raw/profile-lifecycle.pstats"} <= written
    assert (smoke_run / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("size", SIZES, ids=[f"at N={n}" for n in SIZES])
@pytest.mark.parametrize(
    "phase", list(PHASES.values()), ids=[f"the {t} phase" for t in PHASES.values()]
)
def test_the_scale_table_has_a_row_for(smoke_run: Path, phase: str, size: str) -> None:
    rows = (smoke_run / "results.md").read_text().splitlines()
    assert any(row.startswith(f"| {phase} | {size} | ") for row in rows)


@pytest.mark.parametrize("op", OPS, ids=[f"the {op} operation" for op in OPS])
def test_the_per_operation_table_has_a_row_for(smoke_run: Path, op: str) -> None:
    rows = (smoke_run / "results.md").read_text().splitlines()
    assert any(row.startswith(f"| {op} | ") and row.count("|") == 9 for row in rows)


def test_the_raw_json_holds_every_phase_at_every_size_for_ours_and_the_floor(
    smoke_run: Path,
) -> None:
    scale = _results(smoke_run)["scale"]
    for kind in ("ours", "noop"):
        assert sorted(scale[kind]) == SIZES
        for size in SIZES:
            phases = scale[kind][size]["phases"]
            assert sorted(phases) == sorted(PHASES)
            assert all(p["seconds"] > 0 for p in phases.values())


def test_the_raw_json_holds_median_and_p90_of_every_operation_and_variant(
    smoke_run: Path,
) -> None:
    stats = _results(smoke_run)["per_op"]["stats"]
    assert sorted(stats) == ["client", "provider", "raw", "raw_seq"]
    for by_op in stats.values():
        assert sorted(by_op) == sorted(OPS)
        assert all(s["p90"] >= s["median"] > 0 for s in by_op.values())


def test_the_profile_covers_the_lifecycle_the_no_change_preview_and_the_import(
    smoke_run: Path,
) -> None:
    text = (smoke_run / "profile.md").read_text()
    for heading in (
        "## (i) create, read, update, delete",
        "## (ii) check + diff",
        "## (iii) import",
    ):
        assert heading in text
