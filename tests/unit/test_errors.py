"""Errors carry their facts as fields and are rendered in one place (providers/errors.py)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

import providers
from providers.errors import (
    ConnectionSettingsError,
    DeclarationError,
    ElasticsearchError,
    ElasticsearchUnreachable,
    EndpointConflict,
    EndpointLost,
    UnsupportedElasticsearchVersion,
    ambiguous_write_hint,
)

PATH = "/_inference/rerank/rr"
WHERE = "stacks/dev.yaml: endpoint 'rr'"


def _unavailable() -> ElasticsearchError:
    return ElasticsearchError.failed(
        "PUT",
        PATH,
        status=503,
        error_type="cluster_block_exception",
        reason="blocked",
        caused_by=["x: y"],
        inference_id="rr",
    )


def test_a_failed_request_renders_method_path_status_type_reason_and_causes() -> None:
    error = _unavailable()

    assert str(error) == f"PUT {PATH} failed: 503 cluster_block_exception: blocked; caused by x: y"
    assert (error.method, error.path, error.status) == ("PUT", PATH, 503)
    assert (error.error_type, error.reason, error.attempts, error.hint) == (
        "cluster_block_exception",
        "blocked",
        1,
        "",
    )


def test_attempts_and_a_hint_render_after_the_failure_in_that_order() -> None:
    error = _unavailable()
    error.attempts, error.elapsed = 3, 2.04
    error.hint = ambiguous_write_hint("update", "rr")

    assert str(error) == (
        f"PUT {PATH} failed: 503 cluster_block_exception: blocked; caused by x: y (gave up after "
        "3 attempts in 2.0 s). Elasticsearch may have applied it; run pulumi up again"
    )


def test_an_error_that_names_no_endpoint_takes_the_where_prefix() -> None:
    version = UnsupportedElasticsearchVersion.needs("this provider", ("8.17.0",), "8.15.0", "rr")
    settings = ConnectionSettingsError("no Elasticsearch endpoint is configured")

    assert (version.located, settings.located, _unavailable().located) == (False, False, True)
    assert DeclarationError.dimensions_mismatch(WHERE, 384, 768).located
    version.where = WHERE
    assert str(version) == (
        f"{WHERE}: this provider need Elasticsearch 8.17.0 or later; the cluster runs 8.15.0"
    )


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            lambda cause: EndpointConflict.differs(cause, "rr", ["task_settings.top_n"]),
            ". Elasticsearch already has an endpoint 'rr' that differs from the declaration in "
            "task_settings.top_n; delete it in Elasticsearch or choose another inference_id",
        ),
        (
            lambda cause: EndpointLost.after_replacement(cause, "rr"),
            ". The replacement already deleted the previous endpoint 'rr', so Elasticsearch has "
            "none now; fix the cause and run pulumi up to create it",
        ),
    ],
    ids=["a conflict keeps the failed PUT and adds the fields", "a lost endpoint keeps the cause"],
)
def test_an_error_built_from_another_keeps_its_fields(
    build: Callable[[ElasticsearchError], ElasticsearchError], expected: str
) -> None:
    cause = _unavailable()
    cause.attempts, cause.elapsed, cause.after_ambiguous_attempt = 2, 1.0, True

    error = build(cause)

    assert str(error) == f"{cause}{expected}"
    assert (error.status, error.error_type, error.after_ambiguous_attempt) == (
        503,
        "cluster_block_exception",
        True,
    )


def test_an_untrusted_certificate_says_how_to_trust_it() -> None:
    error = ElasticsearchUnreachable.no_response(
        "GET", "/", "https://es:9200", "ConnectError: bad cert", untrusted_certificate=True
    )
    assert str(error) == (
        "GET / failed: no response from https://es:9200 (ConnectError: bad cert); configure "
        "ca_file or ca_fingerprint for this cluster's CA (or insecure: true for a test cluster)"
    )


def _edits_exception_args(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Attribute) and t.attr == "args" for t in node.targets)
    ]


def test_no_message_is_built_by_editing_an_exception() -> None:
    package = Path(providers.__file__).resolve().parent
    edits = {p.name: _edits_exception_args(p) for p in sorted(package.rglob("*.py"))}
    assert {name: lines for name, lines in edits.items() if lines} == {}
