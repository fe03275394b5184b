"""Read ``stacks/<stack>.yaml`` and validate it whole, before Pulumi declares any resource.

Every problem is reported at once, each as ``<file>: <json path>: <message>``. Secrets are never
written in a stack file: a field the schemas mark ``writeOnly`` must be a reference,
``{secret: <Pulumi config key>}`` or ``{env: <VARIABLE>}``, resolved later by the program.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from providers.errors import DeclarationError
from providers.schema import PathKey, Problem, SchemaSet, format_path, load_schemas
from providers.secret_references import (
    MALFORMED,
    SecretReference,
    literal_secret,
    parse_reference,
)

__all__ = [
    "EndpointDeclaration",
    "StackDeclaration",
    "declared_force",
    "dump_stack",
    "load_stack",
    "stack_problems",
]

# A memo: (key, version, compute) -> the value computed for that version of the key.
Remember = Callable[[Hashable, Hashable, Callable[[], Any]], Any]
_PLACEHOLDER = "<secret reference>"
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# What PyYAML itself puts in quotes: one character, an escape, or a token name like '<stream end>'.
_HARMLESS = re.compile(r"'(?:.|\\.{1,3}|<[a-z ]+>)'")


@dataclass(frozen=True)
class EndpointDeclaration:
    """One entry of ``endpoints:``; secret fields hold a SecretReference instead of a value."""

    path: str
    inference_id: str
    task_type: str
    service: str
    service_settings: dict[str, Any]
    task_settings: dict[str, Any] | None = None
    chunking_settings: dict[str, Any] | None = None
    force: bool = False
    secret_rotation: str = "replace"


@dataclass(frozen=True)
class StackDeclaration:
    """A validated stack file."""

    source: str
    elasticsearch: dict[str, Any] = field(default_factory=dict)
    endpoints: list[EndpointDeclaration] = field(default_factory=list)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


class _FastStrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml (about 5x faster); its syntax errors are vaguer, see _load."""


class _OwnProblem(yaml.constructor.ConstructorError):
    """A problem this module found while reading YAML; its words quote no value."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            raise _OwnProblem(
                None,
                None,
                "a mapping key must be a plain value, not a list or mapping",
                key_node.start_mark,
            ) from None
        if duplicate:
            raise _OwnProblem(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice (first on line {seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return dict(loader.construct_mapping(node, deep=True))


for _loader in (_StrictLoader, _FastStrictLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read(path: Path, source: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeclarationError(
            source, [f"{source}: no such file; each Pulumi stack reads stacks/<stack>.yaml"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeclarationError(source, [f"{source}: cannot be read: {exc}"]) from None
    try:
        return _load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = str(exc.problem)
        if not isinstance(exc, _OwnProblem):
            # The parser quotes aliases and tags, and an unquoted secret such as *abc or !abc
            # reads as one: keep only short quotes (a stray ':' or tab), never longer text.
            problem = _QUOTED.sub(lambda m: m[0] if _HARMLESS.fullmatch(m[0]) else "(…)", problem)
        raise DeclarationError(source, [f"{source}: {where}: not valid YAML: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise DeclarationError(
            source, [f"{source}: not valid YAML ({type(exc).__name__})"]
        ) from None
    except RecursionError:
        raise DeclarationError(source, [f"{source}: nested too deeply to read"]) from None


def _load(text: str) -> object:
    try:
        return yaml.load(text, Loader=_FastStrictLoader)
    except yaml.MarkedYAMLError as exc:
        if isinstance(exc, _OwnProblem):
            raise
    # Not valid YAML: let the Python parser say where and what, in its clearer words.
    return yaml.load(text, Loader=_StrictLoader)


def _get(document: object, path: PathKey) -> object:
    for part in path:
        if isinstance(part, str) and isinstance(document, dict):
            document = document.get(part)
        else:
            return None
    return document


def _set(document: dict[str, Any], path: PathKey, value: object) -> None:
    *parents, last = path
    target: Any = document
    for part in parents:
        target = target[part]
    target[last] = value


def _check_endpoint(
    entry: dict[str, Any], base: str, schemas: SchemaSet, problems: list[Problem]
) -> EndpointDeclaration | None:
    service, task_type = entry.get("service"), entry.get("task_type")
    if not isinstance(service, str) or not isinstance(task_type, str):
        return None
    schema = schemas.endpoint(service, task_type)
    if schema is None:
        problems.append(
            Problem(
                base,
                f"no schema for service {service!r} with task_type {task_type!r} "
                f"(supported: {', '.join(schemas.supported())})",
                "",
            )
        )
        return None
    checked = _deep_copy(entry)
    references: dict[PathKey, SecretReference] = {}
    for path in schema.secret_paths:
        raw = _get(entry, path)
        if raw is None:
            continue
        where = format_path(path, base)
        if isinstance(raw, str):
            problems.append(Problem(where, literal_secret(path[-1]), str(path[0])))
        elif (ref := parse_reference(raw)) is None or schemas.reference_problems(raw):
            problems.append(Problem(where, MALFORMED, str(path[0])))
        else:
            references[path] = ref
        _set(checked, path, _PLACEHOLDER)
    found = schema.problems(checked, base)
    problems.extend(found)
    if found or len(references) != sum(
        1 for p in schema.secret_paths if _get(entry, p) is not None
    ):
        return None
    for path, ref in references.items():
        _set(checked, path, ref)
    return EndpointDeclaration(
        path=base,
        inference_id=checked["inference_id"],
        task_type=task_type,
        service=service,
        service_settings=checked["service_settings"],
        task_settings=checked.get("task_settings"),
        chunking_settings=checked.get("chunking_settings"),
        force=bool(checked.get("force", False)),
        secret_rotation=str(checked.get("secret_rotation", "replace")),
    )


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _validate(
    document: object, schemas: SchemaSet
) -> tuple[list[Problem], dict[str, Any], list[EndpointDeclaration]]:
    problems = schemas.stack_document_problems(document)
    if not isinstance(document, dict):
        return problems, {}, []
    endpoints: list[EndpointDeclaration] = []
    first_seen: dict[str, str] = {}
    entries = document.get("endpoints")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        base = f"$.endpoints[{index}]"
        inference_id = entry.get("inference_id")
        if isinstance(inference_id, str):
            if inference_id in first_seen:
                problems.append(
                    Problem(
                        f"{base}.inference_id",
                        f"{inference_id!r} is declared twice (first at {first_seen[inference_id]})",
                        "inference_id",
                    )
                )
            first_seen.setdefault(inference_id, base)
        if any(p.path in (f"{base}.service", f"{base}.task_type") for p in problems):
            continue  # the stack schema already said what is wrong with them
        declared = _check_endpoint(entry, base, schemas, problems)
        if declared is not None:
            endpoints.append(declared)
    unique: dict[tuple[str, str], Problem] = {}
    for problem in problems:  # both schemas may flag the same field
        unique.setdefault((problem.path, problem.message), problem)
    ordered = sorted(unique.values(), key=lambda p: (_path_order(p.path), problems.index(p)))
    elasticsearch = document.get("elasticsearch")
    return ordered, elasticsearch if isinstance(elasticsearch, dict) else {}, endpoints


def _path_order(path: str) -> list[tuple[int, int | str]]:
    out: list[tuple[int, int | str]] = []
    for chunk in path.replace("]", "").replace("[", ".").split(".")[1:]:
        out.append((0, int(chunk)) if chunk.isdigit() else (1, chunk))
    return out


def stack_problems(path: Path, source: str | None = None) -> list[Problem]:
    """Every problem of the stack file at ``path``; unreadable files give one path-less problem."""
    shown = source or str(path)
    try:
        document = _read(path, shown)
    except DeclarationError as exc:
        return [Problem("", p.removeprefix(f"{shown}: "), "") for p in exc.problems]
    try:
        problems, _, _ = _validate(document, load_schemas())
    except RecursionError:
        return [Problem("", "nested too deeply to validate", "")]
    return problems


def load_stack(path: Path, source: str | None = None) -> StackDeclaration:
    """Read and validate a stack file; raise DeclarationError listing every problem."""
    shown = source or str(path)
    document = _read(path, shown)
    try:
        problems, elasticsearch, endpoints = _validate(document, load_schemas())
    except RecursionError:
        raise DeclarationError(shown, [f"{shown}: nested too deeply to validate"]) from None
    if problems:
        raise DeclarationError(shown, [f"{shown}: {p}" for p in problems])
    return StackDeclaration(source=shown, elasticsearch=elasticsearch, endpoints=endpoints)


def declared_force(path: Path, inference_id: str, remember: Remember | None = None) -> bool:
    """Whether the stack file, as it is now, sets ``force: true`` on ``inference_id``.

    Best effort and silent: a missing or broken file means no. With ``remember`` (the session's
    memo) the file is parsed once per version (mtime and size), not once per delete: a destroy
    of N endpoints asks N times.
    """
    try:
        stat = path.stat()
    except OSError:
        return False
    if remember is None:
        return _forces(path).get(inference_id, False)
    version = (stat.st_mtime_ns, stat.st_size)
    forces = remember(("force", path.resolve()), version, lambda: _forces(path))
    return bool(forces.get(inference_id, False))


def _forces(path: Path) -> dict[str, bool]:
    try:
        document = _load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return {}
    entries = document.get("endpoints") if isinstance(document, Mapping) else None
    return {
        str(entry.get("inference_id")): entry.get("force") is True
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, Mapping)
    }


def dump_stack(document: Mapping[str, Any]) -> str:
    """A stack document as YAML, keys in the order given (for ``es-inference export``)."""
    text: str = yaml.safe_dump(dict(document), sort_keys=False, width=100, allow_unicode=True)
    return text
