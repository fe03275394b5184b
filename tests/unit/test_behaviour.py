"""The behaviour matrix (behaviour/elasticsearch.yaml): every row cited, and the emulator's gates
(emulators/elasticsearch/versions.py) agree with it row by row on every version they can meet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import emulators.elasticsearch.versions as gates
from emulators.elasticsearch.versions import EsVersion
from providers.behaviour import load_behaviour
from providers.errors import SchemaError
from providers.versions import Version

ROOT = Path(__file__).resolve().parents[2]

# Each emulator gate and the matrix row it implements. `negate`: the gate is the row's complement.
GATE_ROWS: list[tuple[str, str, bool]] = [
    ("UPDATE_API", "update.api", False),
    ("UPDATE_WITHOUT_TASK_TYPE", "update.without_task_type", False),
    ("UPDATE_TIMEOUT", "update.timeout_parameter", False),
    ("UPDATE_VALIDATES", "update.validation_call", False),
    ("UPDATE_ACCEPTS_CHUNKING", "update.chunking_settings_accepted", False),
    ("CHUNKING_RESET_ON_UPDATE", "update.chunking_reset", False),
    ("SECRET_REQUIRED_ON_UPDATE", "update.secret_required_with_service_settings", False),
    ("UPDATE_HF_SERVICE_SETTINGS", "update.hugging_face.updatable_service_settings", False),
    ("UPDATE_REJECTS_UNKNOWN_KEYS", "update.rejects_unknown_and_immutable_keys", False),
    ("CHUNKING", "put.chunking_default", False),
    ("CHUNKING_NONE_AND_RECURSIVE", "put.chunking_none_and_recursive", False),
    ("HF_TEXT_EMBEDDING", "put.hugging_face.discovered_embedding", False),
    ("HF_CHAT_AND_RERANK", "put.hugging_face.chat_and_rerank", False),
    ("RATE_LIMIT", "put.hugging_face.rate_limit_default", False),
    ("PUT_TIMEOUT", "put.timeout_parameter", False),
    ("TASK_SETTINGS_CONSUMED", "put.task_settings_consumed", False),
    ("CONFIGURATION_WORDING", "wording.configuration_contains_settings", False),
    ("NUMBER_WORDING_WITHOUT_A", "wording.bound_without_a", False),
    ("TASK_TYPE_OPTIONAL_IN_URL", "api.task_type_optional_in_url", False),
    ("DELETE_DRY_RUN_AND_FORCE", "delete.dry_run_and_force", False),
    ("DEFAULT_ENDPOINTS", "reserved.default_endpoints", False),
    ("DEFAULT_RERANK_ENDPOINT", "reserved.default_rerank_endpoint", False),
    ("DELETE_DEFAULT_WITH_FORCE", "reserved.delete_with_force", False),
    ("INFERENCE_SERVICES_API", "api.get_services", False),
    ("JSON_ERRORS_AS_XCONTENT", "rest.json_errors_as_xcontent", False),
]
# Gates whose row is another row's complement inside a domain (the versions with chunking).
COMPLEMENTS = [
    ("CHUNK_SIZE_CAP_REMOVED", "put.max_chunk_size_cap", "put.chunking_default"),
    ("UPDATE_REJECTS_UNKNOWN_KEYS", "update.ignores_other_service_settings", "update.api"),
]
# Every version the emulator can be asked for, down to the patches the backports land in.
VERSIONS = [
    Version(major, minor, patch)
    for major, minors in ((8, range(11, 20)), (9, range(7)), (10, range(1)))
    for minor in minors
    for patch in range(10)
]


def test_every_row_cites_a_source_and_an_unconfirmed_row_says_what_was_checked() -> None:
    rules = load_behaviour().rules
    assert len(rules) >= 20
    for rule in rules.values():
        assert rule.sources, rule.id
        assert rule.rule, rule.id
        assert rule.confirmed or rule.checked, rule.id


def test_every_emulator_gate_has_a_row() -> None:
    named = {name for name, _, _ in GATE_ROWS} | {name for name, _, _ in COMPLEMENTS}
    exported = {n for n in gates.__all__ if isinstance(getattr(gates, n), gates.Gate | gates.Span)}
    assert exported == named


@pytest.mark.parametrize(
    ("gate", "row"),
    [(g, r) for g, r, _ in GATE_ROWS],
    ids=[f"{g} is row {r}" for g, r, _ in GATE_ROWS],
)
def test_the_gate_holds_exactly_where_the_row_does(gate: str, row: str) -> None:
    rule = load_behaviour().rule(row)
    check = getattr(gates, gate)
    wrong = [str(v) for v in VERSIONS if check(EsVersion(*v)) != rule.holds_on(v)]
    assert wrong == []


@pytest.mark.parametrize(
    ("gate", "row", "domain"), COMPLEMENTS, ids=[f"{g} is not {r}" for g, r, _ in COMPLEMENTS]
)
def test_the_gate_is_the_complement_of_its_row(gate: str, row: str, domain: str) -> None:
    rule, within = load_behaviour().rule(row), load_behaviour().rule(domain)
    check = getattr(gates, gate)
    versions = [v for v in VERSIONS if within.holds_on(v)]
    wrong = [str(v) for v in versions if check(EsVersion(*v)) == rule.holds_on(v)]
    assert wrong == []


def test_the_chunking_reset_row_holds_on_the_patch_releases_before_each_fix() -> None:
    rule = load_behaviour().rule("update.chunking_reset")
    assert [rule.holds_on(Version.parse(v)) for v in ("9.2.5", "9.2.6", "9.3.0", "9.3.1")] == [
        True,
        False,
        True,
        False,
    ]
    # The fix releases are unconfirmed, so the provider assumes the reset until 9.4.0.
    assert [rule.acts_on(Version.parse(v)) for v in ("9.2.6", "9.3.8", "9.4.0")] == [
        True,
        True,
        False,
    ]


def test_every_update_when_annotation_names_a_row() -> None:
    for path in sorted((ROOT / "schemas").rglob("*.schema.json")):
        text = path.read_text(encoding="utf-8")

        def visit(node: object) -> None:
            if isinstance(node, dict):
                lifecycle = node.get("x-es-lifecycle")
                if isinstance(lifecycle, dict) and "update_when" in lifecycle:
                    load_behaviour().rule(lifecycle["update_when"])
                for value in node.values():
                    visit(value)
            elif isinstance(node, list):
                for value in node:
                    visit(value)

        visit(json.loads(text))


def test_a_row_without_a_source_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "elasticsearch.yaml"
    broken.write_text(
        "version: 1\nrules:\n  x:\n    rule: r\n    holds: [[9.0.0, null]]\n"
        "    confirmed: true\n    sources: []\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as caught:
        load_behaviour(str(broken))
    assert str(caught.value) == (
        "behaviour/elasticsearch.yaml: rules.x.sources: every rule cites at least one source"
    )


def test_a_missing_row_is_our_bug_not_the_users() -> None:
    with pytest.raises(SchemaError) as caught:
        load_behaviour().rule("no.such.rule")
    assert str(caught.value) == "behaviour/elasticsearch.yaml: no rule 'no.such.rule'"
