"""The change-request summary: what ``pulumi preview --json`` says a change does, endpoint by endpoint.

One row per inference endpoint the preview touches: the action (create, update, replace, delete),
the fields that change and why, what blocks it, and version notes. Fields and reasons come from the
same lifecycle table the provider's ``diff`` uses (``providers.model.plan`` over the step's old
outputs and new inputs); a secret never shows in the preview (``[secret]`` on both sides), so a
changed one is taken from the step's ``replaceReasons`` or the provider's own diagnostic line.

What blocks a delete or a replacement is what blocks it in ``delete``: the ingest pipelines and
``semantic_text`` indexes that use the endpoint, unless ``force`` is set. Looking them up needs the
cluster, so the caller passes a ``references`` function (the CLI asks ``DELETE …?dry_run=true``);
this module does no I/O of its own.

A Hugging Face Inference Endpoint the stack declares (``huggingface_endpoints:``) gets a row too,
with the fields and reasons of its own lifecycle table (``providers.hf_model.plan``); nothing in
Elasticsearch uses it directly, so it is never blocked (the Elasticsearch endpoints its URL feeds
have rows of their own when a new URL replaces them).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from providers import hf_model
from providers.errors import ProviderError
from providers.model import Change, plan
from providers.schema import SchemaSet
from providers.versions import Version, supports

__all__ = [
    "EXIT_CODES",
    "References",
    "Row",
    "Summary",
    "render_json",
    "render_markdown",
    "summarize",
]

Status = Literal["no_change", "invalid", "changes", "blocked", "error"]
# The exit code of `es-inference summary` for each outcome (2 is argparse's usage error).
EXIT_CODES: dict[Status, int] = {
    "no_change": 0,
    "invalid": 1,
    "changes": 3,
    "blocked": 4,
    "error": 5,
}
# (pipelines, indexes) that use an endpoint, given its task type and id.
References = Callable[[str, str], tuple[list[str], list[str]]]

_RESOURCE_TYPE = "elasticsearch:InferenceEndpoint"
_HF_RESOURCE_TYPE = "huggingface:InferenceEndpoint"
HF_ENDPOINT = "huggingface_endpoint"
"""The ``service`` of a row for a Hugging Face Inference Endpoint (its ``task_type`` is HF's task)."""
# pulumi.runtime.rpc.UNKNOWN: how the preview shows a value not known until apply.
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SECRET = "[secret]"
_CHANGED_SECRET = "[changed secret]"
_ACTIONS = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "delete": "delete",
}
_DIAGNOSTIC = re.compile(r"^info: es-inference: (?P<id>[^:\s]+): (?P<text>.+?)\s*$", re.DOTALL)
_WHY = {
    "create": "declared in the stack file, not on the cluster yet",
    "delete": "no longer declared in the stack file",
}
_HF_WHY = {
    "create": "declared in the stack file, not on Hugging Face yet",
    "delete": "no longer declared in the stack file",
}
_VERSIONED = re.compile(r"Elasticsearch \d+\.\d+|\d+\.\d+\.\d+\+|version not yet recorded")
_INVALID = re.compile(r" is invalid \(\d+ errors?\):| has a problem: ")


@dataclass(frozen=True)
class Row:
    """What the change does to one endpoint."""

    inference_id: str
    action: str
    task_type: str
    service: str
    changes: list[Change] = field(default_factory=list)
    force: bool = False
    pipelines: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    references_unknown: str = ""
    version_notes: list[str] = field(default_factory=list)

    @property
    def is_hf_endpoint(self) -> bool:
        """Whether the row is a Hugging Face Inference Endpoint (else an Elasticsearch one)."""
        return self.service == HF_ENDPOINT

    @property
    def why(self) -> str:
        """Why the endpoint changes, in a line."""
        reasons = _HF_WHY if self.is_hf_endpoint else _WHY
        if self.action in reasons:
            return reasons[self.action]
        return "; ".join(f"{c.path}: {c.reason}" for c in self.changes)

    @property
    def blocked(self) -> bool:
        """Whether ``pulumi up`` would stop at this endpoint and delete nothing."""
        return bool(self.pipelines or self.indexes) and not self.force


@dataclass(frozen=True)
class Summary:
    """The rows of one preview, plus what kept it from being complete."""

    stack: str
    rows: list[Row] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        """The outcome, most serious first: invalid, error, blocked, changes, no change."""
        if self.invalid:
            return "invalid"
        if self.errors or any(r.references_unknown for r in self.rows):
            return "error"
        if any(r.blocked for r in self.rows):
            return "blocked"
        return "changes" if self.rows else "no_change"

    @property
    def exit_code(self) -> int:
        """The command's exit status for this outcome (see EXIT_CODES)."""
        return EXIT_CODES[self.status]


def _secret_paths(schemas: SchemaSet, service: str, task_type: str) -> list[str]:
    schema = schemas.endpoint(service, task_type)
    return [".".join(str(p) for p in path) for path in (schema.secret_paths if schema else [])]


def _with_changed_secrets(
    inputs: Mapping[str, Any], changed: Sequence[str], secret_paths: Sequence[str]
) -> dict[str, Any]:
    """The new inputs with each secret the engine says changed made to differ from ``[secret]``."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in inputs.items()}
    for path in secret_paths:
        group, _, name = path.partition(".")
        if path not in changed or group not in out:
            continue
        if not name:
            out[group] = _CHANGED_SECRET
        elif isinstance(out[group], dict) and name in out[group]:
            out[group][name] = _CHANGED_SECRET
    return out


def _row(
    step: Mapping[str, Any],
    action: str,
    diagnostics: Mapping[str, str],
    schemas: SchemaSet,
    declared_force: Callable[[str], bool],
    cluster_version: Version | None,
) -> Row:
    old = step.get("oldState") or {}
    new = step.get("newState") or {}
    olds: dict[str, Any] = dict(old.get("outputs") or {})
    news: dict[str, Any] = dict(new.get("inputs") or {})
    current = news or olds
    inference_id = str(current.get("inference_id") or step["urn"].rsplit("::", 1)[-1])
    service, task_type = str(current.get("service", "")), str(current.get("task_type", ""))
    force = bool(olds.get("force")) or declared_force(inference_id)
    recorded = None
    with contextlib.suppress(ValueError):
        recorded = Version.parse(str(olds.get("elasticsearch_version", "")))
    version = recorded or cluster_version
    notes: list[str] = []
    changes: list[Change] = []
    if action in ("update", "replace"):
        said = diagnostics.get(inference_id, "")
        secrets = _secret_paths(schemas, service, task_type)
        changed = [*step.get("replaceReasons", []), *step.get("diffReasons", [])]
        changed += [p for p in secrets if p in said]
        schema = schemas.endpoint(service, task_type)
        inputs = _with_changed_secrets(news, changed, secrets)
        changes = plan(olds, inputs, schema, version, lambda v: v == _UNKNOWN).changes
        known = {c.path for c in changes}
        changes += [
            Change(path, "replace", "the engine reports it changed")
            for path in step.get("replaceReasons", [])
            if path not in known
        ]
        notes = [f"{c.path}: {c.reason}" for c in changes if _VERSIONED.search(c.reason)]
    if action in ("create", "replace"):
        schema = schemas.endpoint(service, task_type)
        since = schema.since if schema is not None else ()
        if since and version is not None and not supports(version, since):
            notes.append(
                f"{service} {task_type} endpoints need Elasticsearch {' or '.join(since)} or "
                f"later; the cluster runs {version}, so the create fails"
            )
        elif since and version is None:
            notes.append(
                f"{service} {task_type} endpoints need Elasticsearch {' or '.join(since)}+"
            )
    return Row(inference_id, action, task_type, service, changes, force, version_notes=notes)


def _hf_row(step: Mapping[str, Any], action: str) -> Row:
    """A Hugging Face endpoint's row: its lifecycle table over the step's outputs and inputs."""
    olds: dict[str, Any] = dict((step.get("oldState") or {}).get("outputs") or {})
    news: dict[str, Any] = dict((step.get("newState") or {}).get("inputs") or {})
    current = news or olds
    name = str(current.get("name") or step["urn"].rsplit("::", 1)[-1])
    changes: list[Change] = []
    if action in ("update", "replace"):
        changed = [*step.get("replaceReasons", []), *step.get("diffReasons", [])]
        secrets = [".".join(str(p) for p in path) for path in hf_model.HIDDEN]
        inputs = _with_changed_secrets(news, changed, secrets)
        changes = hf_model.plan(olds, inputs, lambda v: v == _UNKNOWN).changes
    return Row(name, action, str(current.get("task", "")), HF_ENDPOINT, changes)


def _diagnostics(document: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    said: dict[str, str] = {}
    errors: list[str] = []
    for diagnostic in document.get("diagnostics") or []:
        message = str(diagnostic.get("message", "")).strip()
        if str(diagnostic.get("severity", "")).startswith("error"):
            errors.append(message.removeprefix("error: "))
            continue
        found = _DIAGNOSTIC.match(message)
        if found:
            said[found["id"]] = found["text"]
    return said, errors


def summarize(
    document: Mapping[str, Any],
    *,
    stack: str,
    schemas: SchemaSet,
    declared_force: Callable[[str], bool] = lambda _: False,
    references: References | None = None,
    cluster_version: Version | None = None,
    invalid: Sequence[str] = (),
) -> Summary:
    """Summarize a ``pulumi preview --json`` document.

    ``declared_force(id)`` says whether the stack file, as it is now, sets ``force: true`` (the
    provider's delete reads it too). ``references`` looks up what uses an endpoint; ``None`` skips
    the lookup. ``invalid`` lists the stack file's own problems (``es-inference validate``).
    """
    said, errors = _diagnostics(document)
    rows: list[Row] = []
    for step in document.get("steps") or []:
        action = _ACTIONS.get(str(step.get("op")))
        state = step.get("newState") or step.get("oldState") or {}
        kind = str(state.get("type", ""))
        if action is None or not kind.endswith((_RESOURCE_TYPE, _HF_RESOURCE_TYPE)):
            continue
        hf = kind.endswith(_HF_RESOURCE_TYPE)
        if step.get("op") in ("create-replacement", "delete-replaced") and any(
            r.inference_id == step["urn"].rsplit("::", 1)[-1] and r.is_hf_endpoint == hf
            for r in rows
        ):
            continue
        if hf:
            rows.append(_hf_row(step, action))
        else:
            rows.append(_row(step, action, said, schemas, declared_force, cluster_version))
    checked: list[Row] = []
    for row in rows:
        if (
            references is not None
            and row.action in ("delete", "replace")
            and not row.is_hf_endpoint
        ):
            olds = next(
                (
                    (s.get("oldState") or {}).get("outputs") or {}
                    for s in document.get("steps") or []
                    if s.get("urn", "").endswith(f"::{row.inference_id}")
                ),
                {},
            )
            try:
                pipelines, indexes = references(
                    str(olds.get("task_type", row.task_type)), row.inference_id
                )
            except ProviderError as exc:  # shown in the row; the status becomes "error"
                row = _replace(row, references_unknown=str(exc))
            else:
                row = _replace(row, pipelines=pipelines, indexes=indexes)
        checked.append(row)
    failed = [e for e in errors if not _INVALID.search(e) and "non-zero exit code" not in e]
    declared_invalid = [e for e in errors if _INVALID.search(e)]
    if errors and not failed and not declared_invalid:
        failed = errors
    # The stack file's own problems say the same as the preview's, more precisely.
    return Summary(stack, checked, list(invalid) or declared_invalid, failed)


def _replace(row: Row, **changes: Any) -> Row:
    values = {name: getattr(row, name) for name in Row.__dataclass_fields__}
    return Row(**{**values, **changes})


def _effect(change: Change, row: Row) -> str:
    if row.action == "replace" and change.action != "replace":
        return "re-created with it"
    return {"replace": "replace", "update": "in place", "state": "state only"}[change.action]


def _blocker(row: Row) -> str:
    users = []
    if row.pipelines:
        users.append(f"ingest pipelines {', '.join(row.pipelines)}")
    if row.indexes:
        users.append(f"semantic_text indexes {', '.join(row.indexes)}")
    return " and ".join(users)


def render_json(summary: Summary) -> dict[str, Any]:
    """The summary as a JSON-ready document for tools."""
    counts: dict[str, int] = {}
    for row in summary.rows:
        counts[row.action] = counts.get(row.action, 0) + 1
    return {
        "stack": summary.stack,
        "status": summary.status,
        "exit_code": summary.exit_code,
        "counts": counts,
        "endpoints": [
            {
                "inference_id": row.inference_id,
                "action": row.action,
                "task_type": row.task_type,
                "service": row.service,
                "why": row.why,
                "changes": [
                    {"field": c.path, "effect": _effect(c, row), "reason": c.reason}
                    for c in row.changes
                ],
                "blocked": row.blocked,
                "force": row.force,
                "used_by": {"pipelines": row.pipelines, "indexes": row.indexes},
                "references_unchecked": row.references_unknown or None,
                "version_notes": row.version_notes,
            }
            for row in summary.rows
        ],
        "invalid": summary.invalid,
        "errors": summary.errors,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "—"


_HEADLINES: dict[Status, str] = {
    "no_change": "no changes",
    "invalid": "the stack file is invalid, nothing can be applied",
    "changes": "changes, nothing blocks them",
    "blocked": "blocked: `pulumi up` would stop and delete nothing",
    "error": "the summary is incomplete",
}


def render_markdown(summary: Summary) -> str:
    """The summary as Markdown for a change-request comment."""
    counts = render_json(summary)["counts"]
    tally = ", ".join(f"{n} {action}" for action, n in counts.items())
    lines = [
        f"### es-inference: stack `{summary.stack}`: {_HEADLINES[summary.status]}",
        "",
    ]
    if tally:
        lines += [f"{tally}.", ""]
    for title, problems in (("Invalid", summary.invalid), ("Errors", summary.errors)):
        if problems:
            lines += [f"**{title}:**", "", "```", *problems, "```", ""]
    if summary.rows:
        lines += [
            "| endpoint | action | fields that change | why | blocked by | version notes |",
            "|---|---|---|---|---|---|",
        ]
        for row in summary.rows:
            fields = ", ".join(f"`{c.path}` ({_effect(c, row)})" for c in row.changes)
            why = row.why
            if row.references_unknown:
                blocker = f"not checked: {row.references_unknown}"
            elif row.blocked:
                blocker = f"{_blocker(row)} (set `force: true` to go ahead)"
            elif row.pipelines or row.indexes:
                blocker = f"nothing (`force: true`; {_blocker(row)} fail until it exists again)"
            else:
                blocker = ""
            name = f"`{row.inference_id}`" + (
                " (Hugging Face endpoint)" if row.is_hf_endpoint else ""
            )
            lines.append(
                f"| {name} | **{row.action}** | {_cell(fields)} | {_cell(why)} "
                f"| {_cell(blocker)} | {_cell('; '.join(row.version_notes))} |"
            )
        lines.append("")
    return "\n".join(lines)
