"""The stack file's ``huggingface_endpoints:`` section and ``{huggingface_endpoint: <name>}`` URLs.

Validated whole with the rest of the stack file (``providers.stack``): every problem with the
file's JSON path. ``token`` and the values of ``secrets`` must be references; an Elasticsearch
endpoint's ``service_settings.url`` may name a declared HF endpoint instead of a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from providers.hf_model import input_problems
from providers.schema import Problem, SchemaSet

__all__ = [
    "HF_URL_PLACEHOLDER",
    "HfEndpointDeclaration",
    "HfUrlReference",
    "check_hf_endpoints",
    "hf_url_reference",
]

HF_URL_PLACEHOLDER = "https://huggingface-endpoint.invalid/"
_PLACEHOLDER = "<secret reference>"
_REFERENCE_RULE = "must be {secret: <config key>} or {env: <VARIABLE>}"
_LITERAL_RULE = (
    "a secret must not be written in a stack file; reference it as {secret: <config key>} "
    "(pulumi config set --secret <config key> <value>) or {env: <VARIABLE>}"
)


@dataclass(frozen=True)
class HfUrlReference:
    """An Elasticsearch endpoint's URL taken from a declared Hugging Face endpoint."""

    name: str


@dataclass(frozen=True)
class HfEndpointDeclaration:
    """One entry of ``huggingface_endpoints:``; ``token`` and secret values are references."""

    path: str
    name: str
    fields: dict[str, Any]
    token: Any
    secrets: dict[str, Any] = field(default_factory=dict)


def hf_url_reference(raw: object) -> HfUrlReference | None:
    """``{huggingface_endpoint: <name>}`` as a reference, else None."""
    if isinstance(raw, dict) and set(raw) == {"huggingface_endpoint"}:
        name = raw["huggingface_endpoint"]
        if isinstance(name, str):
            return HfUrlReference(name)
    return None


def check_hf_endpoints(
    document: dict[str, Any],
    schemas: SchemaSet,
    reference: Callable[[object], Any],
) -> tuple[list[Problem], list[HfEndpointDeclaration]]:
    """Problems of ``huggingface_endpoints:`` and the valid declarations.

    ``reference`` turns ``{secret: …}`` / ``{env: …}`` into a reference (None if it is not one).
    """
    problems: list[Problem] = []
    declared: list[HfEndpointDeclaration] = []
    entries = document.get("huggingface_endpoints")
    first: dict[tuple[object, str], str] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        base = f"$.huggingface_endpoints[{index}]"
        if not isinstance(entry, dict):
            continue
        checked = dict(entry)
        found: list[Problem] = []
        token = None
        if "token" in entry:
            token = _secret(entry["token"], f"{base}.token", "token", schemas, reference, found)
            checked["token"] = _PLACEHOLDER
        secrets: dict[str, Any] = {}
        raw_secrets = entry.get("secrets")
        if isinstance(raw_secrets, dict):
            for key, value in raw_secrets.items():
                where = f"{base}.secrets.{key}"
                ref = _secret(value, where, "secrets", schemas, reference, found)
                if ref is not None:
                    secrets[str(key)] = ref
            checked["secrets"] = {k: _PLACEHOLDER for k in raw_secrets}
        found.extend(input_problems(checked, base))
        name = entry.get("name")
        if isinstance(name, str):
            key = (entry.get("namespace"), name)
            if key in first:
                found.append(
                    Problem(
                        f"{base}.name",
                        f"{name!r} is declared twice (first at {first[key]})",
                        "name",
                    )
                )
            first.setdefault(key, base)
        problems.extend(found)
        if not found and token is not None:
            fields = {k: v for k, v in checked.items() if k not in ("token", "secrets")}
            declared.append(HfEndpointDeclaration(base, str(name), fields, token, secrets))
    return problems, declared


def _secret(
    raw: object,
    where: str,
    top: str,
    schemas: SchemaSet,
    reference: Callable[[object], Any],
    problems: list[Problem],
) -> Any:
    if isinstance(raw, str):
        problems.append(Problem(where, _LITERAL_RULE, top))
        return None
    ref = reference(raw)
    if ref is None or schemas.reference_problems(raw):
        problems.append(Problem(where, _REFERENCE_RULE, top))
        return None
    return ref
