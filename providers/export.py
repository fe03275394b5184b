"""`es-inference export`: a stack file for the endpoints a cluster already has.

Pulumi cannot import into dynamic providers (pulumi/pulumi#16175), so bringing existing endpoints
under management goes the other way: write the stack file from what Elasticsearch holds, set the
secrets it references, and let `pulumi up` adopt each endpoint (its settings already match).

``stack_document`` and ``render`` are pure; ``providers.cli`` reads the cluster with the provider's
own client and writes the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from providers.model import effective_chunking, plain_numbers
from providers.schema import EndpointSchema, SchemaSet
from providers.stack import dump_stack

__all__ = ["Export", "render", "secret_key", "stack_document"]


@dataclass
class Export:
    """The stack document, the config keys its secrets need, and what could not be exported."""

    document: dict[str, Any]
    secret_keys: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def secret_key(inference_id: str, name: str) -> str:
    """The Pulumi config key an exported secret is referenced by, e.g. ``hf-minilm.api_key``."""
    return f"{inference_id}.{name}"


def _service_settings(
    live: Mapping[str, Any],
    schema: EndpointSchema,
    inference_id: str,
    keys: list[str],
    notes: list[str] | None = None,
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    found = plain_numbers(dict(live))
    for name, value in found.items():
        rule = schema.rules.get(("service_settings", name))
        if rule is not None and (
            rule.is_discovered(found)
            or rule.is_ignored(found)
            or (rule.has_default and value == rule.default)
        ):
            continue  # measured or filled in by Elasticsearch: declaring it adds nothing
        settings[name] = value
    names = [str(p[1]) for p in schema.secret_paths if len(p) == 2 and p[0] == "service_settings"]
    fitting = _fitting_secrets(settings, names, schema)
    if len(fitting) > 1 and notes is not None:
        notes.append(
            f"{inference_id}: Elasticsearch does not say which of {', '.join(fitting[0])} / "
            f"{' / '.join(', '.join(f) for f in fitting[1:])} it authenticates with; "
            f"{', '.join(fitting[0])} is assumed"
        )
    for name in fitting[0] if fitting else names:
        key = secret_key(inference_id, name)
        settings[name] = {"secret": key}
        keys.append(key)
    return settings


def _fitting_secrets(
    settings: Mapping[str, Any], names: list[str], schema: EndpointSchema
) -> list[tuple[str, ...]]:
    """The smallest sets of secrets the schema accepts beside the visible settings.

    Elasticsearch never returns secrets, so which ones an endpoint holds (an api_key or an
    OAuth2 client secret) is read from the schema's rules: the first fitting set is declared.
    """
    for size in range(len(names) + 1):
        fitting = []
        for chosen in combinations(names, size):
            candidate = {
                "service_settings": {**settings, **{n: "<secret reference>" for n in chosen}}
            }
            found = schema.problems(candidate)
            if not any(p.path.startswith("$.service_settings") for p in found):
                fitting.append(chosen)
        if fitting:
            return fitting
    return []


def _chunking(live: Mapping[str, Any] | None, schema: EndpointSchema) -> dict[str, Any] | None:
    if live is None or schema.chunking is None:
        return None
    chunking: dict[str, Any] = plain_numbers(dict(live))
    if chunking == effective_chunking(None, schema.chunking):
        return None
    groups: dict[str, list[str]] = schema.chunking.get("x-es-separator-groups", {})
    for group, separators in groups.items():
        if chunking.get("strategy") == "recursive" and chunking.get("separators") == separators:
            chunking.pop("separators")
            chunking["separator_group"] = group
            break
    return chunking


def stack_document(
    endpoints: Iterable[Mapping[str, Any]],
    schemas: SchemaSet,
    elasticsearch_urls: list[str] | None = None,
) -> Export:
    """The stack file that declares ``endpoints`` (as ``GET _inference/_all`` lists them)."""
    result = Export(document={})
    declared: list[dict[str, Any]] = []
    for live in sorted(endpoints, key=lambda e: str(e.get("inference_id"))):
        inference_id = str(live.get("inference_id"))
        service, task_type = str(live.get("service")), str(live.get("task_type"))
        if inference_id.startswith("."):
            continue  # preconfigured by Elasticsearch: not ours to declare
        schema = schemas.endpoint(service, task_type)
        if schema is None:
            result.skipped.append(f"{inference_id} ({service} {task_type}: no schema here)")
            continue
        entry: dict[str, Any] = {
            "inference_id": inference_id,
            "task_type": task_type,
            "service": service,
            "service_settings": _service_settings(
                live.get("service_settings") or {},
                schema,
                inference_id,
                result.secret_keys,
                result.notes,
            ),
        }
        if live.get("task_settings") and schema.allows_task_settings:
            entry["task_settings"] = plain_numbers(dict(live["task_settings"]))
        chunking = _chunking(live.get("chunking_settings"), schema)
        if chunking is not None:
            entry["chunking_settings"] = chunking
        # This stack did not create it: taking it over must be explicit (see create's refusal).
        entry["adopt"] = True
        declared.append(entry)
    if elasticsearch_urls:
        result.document["elasticsearch"] = {"endpoints": list(elasticsearch_urls)}
    result.document["endpoints"] = declared
    return result


def render(export: Export, source: str) -> str:
    """The stack file's text: a header saying what to do next, then the YAML."""
    lines = [f"# Written by `es-inference export` from {source}."]
    if export.secret_keys:
        lines += [
            "# Elasticsearch never returns secrets: set each one, then `pulumi up` adopts the",
            "# endpoints (each says adopt: true; their settings already match) and writes the",
            "# keys into them:",
            *(f"#   pulumi config set --secret {key} <value>" for key in export.secret_keys),
        ]
    lines += [f"# {note}" for note in export.notes]
    if export.skipped:
        lines.append("# Not exported (no schema for their service and task type):")
        lines += [f"#   {what}" for what in export.skipped]
    return "\n".join(lines) + "\n" + dump_stack(export.document)
