"""The drift and orphan check: stack files against what a cluster holds. Pure.

For each declared endpoint the live one (from one ``GET _inference/_all``) is reconciled and planned
against the declaration with the lifecycle table the provider uses, so a difference is drift exactly
when ``pulumi up`` would change something, and server-filled values never are. Secrets cannot be
compared (Elasticsearch never returns them). Endpoints the cluster has that no stack file declares
are undeclared, except preconfigured ones (ids starting with ``.``, which users cannot create).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from providers.model import Change, plan, reconcile
from providers.schema import SchemaSet
from providers.secret_references import SecretReference
from providers.stack import EndpointDeclaration
from providers.versions import Version

__all__ = [
    "EXIT_CODES",
    "Finding",
    "Report",
    "compare",
    "declared_inputs",
    "render_json",
    "render_text",
    "worst",
]

Status = Literal["in_sync", "invalid", "drift", "undeclared", "error"]
# The exit code of `es-inference check` for each outcome (2 is argparse's usage error).
EXIT_CODES: dict[Status, int] = {
    "in_sync": 0,
    "invalid": 1,
    "drift": 3,
    "undeclared": 4,
    "error": 5,
}
_SEVERITY: tuple[Status, ...] = ("invalid", "error", "drift", "undeclared", "in_sync")
Kind = Literal["in_sync", "drift", "missing", "undeclared"]
_SECRET_PLACEHOLDER = "[secret]"
_PLAIN = (str, int, float, bool, dict, list, type(None))


@dataclass(frozen=True)
class Finding:
    """One endpoint: in sync, drifted, missing from the cluster, or declared by no stack."""

    kind: Kind
    inference_id: str
    task_type: str
    service: str
    stack_file: str = ""
    changes: list[Change] = field(default_factory=list)
    pipelines: list[str] | None = None
    indexes: list[str] | None = None

    def describe(self) -> str:
        """One line for a person."""
        if self.kind == "drift":
            what = "; ".join(f"{c.path} ({_FIX[c.action]})" for c in self.changes)
            return f"{self.inference_id}: differs from {self.stack_file}: {what}"
        if self.kind == "missing":
            return (
                f"{self.inference_id}: declared in {self.stack_file} but not on the cluster "
                "(pulumi up creates it)"
            )
        if self.kind == "undeclared":
            users = [
                f"ingest pipelines {', '.join(self.pipelines)}" if self.pipelines else "",
                f"semantic_text indexes {', '.join(self.indexes)}" if self.indexes else "",
            ]
            used = " and ".join(u for u in users if u)
            if self.pipelines is None:
                use = "references not checked"
            else:
                use = f"used by {used}" if used else "nothing uses it"
            return (
                f"{self.inference_id} ({self.service} {self.task_type}): no stack file "
                f"declares it; {use}"
            )
        return f"{self.inference_id}: in sync with {self.stack_file}"


_FIX = {
    "replace": "pulumi up re-creates it",
    "update": "pulumi up updates it in place",
    "state": "state only",
}


@dataclass(frozen=True)
class Report:
    """Every finding on one cluster, plus what stopped the check."""

    cluster: str
    version: str
    findings: list[Finding] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        """The outcome, most serious first: invalid, error, drift or missing, undeclared."""
        kinds = {f.kind for f in self.findings}
        if self.invalid:
            return "invalid"
        if self.errors:
            return "error"
        if kinds & {"drift", "missing"}:
            return "drift"
        return "undeclared" if "undeclared" in kinds else "in_sync"

    @property
    def exit_code(self) -> int:
        """The command's exit status (see EXIT_CODES)."""
        return EXIT_CODES[self.status]


def declared_inputs(
    endpoint: EndpointDeclaration, live: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The declaration as the provider's inputs, each secret reference a placeholder.

    A value known only at deploy time (``url: {huggingface_endpoint: <name>}``, the URL of a
    Hugging Face endpoint another resource manages) takes the ``live`` value: it cannot drift here.
    """
    known = (live or {}).get("service_settings") or {}
    settings = {
        name: _SECRET_PLACEHOLDER
        if isinstance(value, SecretReference)
        else value
        if isinstance(value, _PLAIN)
        else known.get(name)
        for name, value in endpoint.service_settings.items()
    }
    inputs: dict[str, Any] = {
        "inference_id": endpoint.inference_id,
        "task_type": endpoint.task_type,
        "service": endpoint.service,
        "service_settings": settings,
        "force": endpoint.force,
        "secret_rotation": endpoint.secret_rotation,
    }
    if endpoint.task_settings:
        inputs["task_settings"] = endpoint.task_settings
    if endpoint.chunking_settings:
        inputs["chunking_settings"] = endpoint.chunking_settings
    return inputs


def compare(
    declared: Mapping[str, Sequence[EndpointDeclaration]],
    live: Iterable[Mapping[str, Any]],
    schemas: SchemaSet,
    version: Version,
    *,
    checked: Iterable[str] | None = None,
    references: Callable[[str, str], tuple[list[str], list[str]]] | None = None,
) -> list[Finding]:
    """Findings for the stack files in ``declared`` (by file) against the ``live`` endpoints.

    Every file in ``declared`` counts for what is undeclared; only those in ``checked`` (default:
    all) are checked for drift and missing endpoints. ``references`` says what uses an
    undeclared endpoint; None leaves that unchecked.
    """
    on_cluster = {str(e.get("inference_id")): e for e in live}
    wanted = set(declared) if checked is None else set(checked)
    findings: list[Finding] = []
    for source, endpoints in declared.items():
        if source not in wanted:
            continue
        for endpoint in endpoints:
            current = on_cluster.get(endpoint.inference_id)
            base = (endpoint.inference_id, endpoint.task_type, endpoint.service, source)
            if current is None:
                findings.append(Finding("missing", *base))
                continue
            inputs = declared_inputs(endpoint, current)
            schema = schemas.endpoint(endpoint.service, endpoint.task_type)
            outs = reconcile(inputs, current, schema, version)
            changes = plan(outs, inputs, schema, version).changes
            findings.append(Finding("drift" if changes else "in_sync", *base, changes=changes))
    known = {e.inference_id for endpoints in declared.values() for e in endpoints}
    for inference_id, current in sorted(on_cluster.items()):
        if inference_id in known or inference_id.startswith("."):
            continue
        task_type, service = str(current.get("task_type")), str(current.get("service"))
        pipelines = indexes = None
        if references is not None:
            pipelines, indexes = references(task_type, inference_id)
        findings.append(
            Finding("undeclared", inference_id, task_type, service, "", [], pipelines, indexes)
        )
    return findings


def worst(statuses: Iterable[Status]) -> Status:
    """The most serious of several outcomes (``in_sync`` when there are none)."""
    return min(statuses, key=_SEVERITY.index, default="in_sync")


def _finding_json(finding: Finding) -> dict[str, Any]:
    used_by = None
    if finding.pipelines is not None:
        used_by = {"pipelines": finding.pipelines, "indexes": finding.indexes or []}
    return {
        "inference_id": finding.inference_id,
        "finding": finding.kind,
        "task_type": finding.task_type,
        "service": finding.service,
        "stack_file": finding.stack_file or None,
        "changes": [
            {"field": c.path, "effect": c.action, "reason": c.reason} for c in finding.changes
        ],
        "used_by": used_by,
        "message": finding.describe(),
    }


def render_json(reports: Sequence[Report]) -> dict[str, Any]:
    """The ``check --format json`` document: the outcome and every cluster's findings."""
    status = worst(r.status for r in reports)
    return {
        "status": status,
        "exit_code": EXIT_CODES[status],
        "clusters": [
            {
                "cluster": r.cluster,
                "elasticsearch_version": r.version,
                "status": r.status,
                "endpoints": [_finding_json(f) for f in r.findings],
                "invalid": r.invalid,
                "errors": r.errors,
            }
            for r in reports
        ],
    }


def render_text(reports: Sequence[Report], *, verbose: bool = False) -> list[str]:
    """The ``check`` report for a person: problems, then each cluster's findings and count."""
    lines: list[str] = []
    for report in reports:
        lines.extend([*report.invalid, *report.errors])
        if report.cluster:
            lines.append(f"{report.cluster} (Elasticsearch {report.version or 'unknown'}):")
        for finding in report.findings:
            if finding.kind != "in_sync" or verbose:
                lines.append(f"  {finding.kind.replace('_', ' '):<10} {finding.describe()}")
        in_sync = sum(1 for f in report.findings if f.kind == "in_sync")
        if report.cluster and not report.errors:
            lines.append(f"  {in_sync} endpoint{'s' if in_sync != 1 else ''} in sync")
    return lines
