"""Read ``stacks/<stack>.yaml`` and validate it whole, before Pulumi declares any resource.

Every problem is reported at once, each as ``<file>: <json path>: <message>``. Secrets are never
written in a stack file: a field the schemas mark ``writeOnly`` must be a reference,
``{secret: <Pulumi config key>}`` or ``{env: <VARIABLE>}``, resolved later by the program.
"""

from __future__ import annotations

import errno
import math
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any

import yaml

from providers.connection import tls_conflicts
from providers.errors import DeclarationError
from providers.hf_stack import (
    HF_URL_PLACEHOLDER,
    HfEndpointDeclaration,
    check_hf_endpoints,
    hf_url_reference,
)
from providers.schema import (
    MAX_PROBLEMS,
    PathKey,
    Problem,
    SchemaSet,
    format_path,
    load_schemas,
)
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
    "unreadable",
]

# A memo: (key, version, compute) -> the value computed for that version of the key.
Remember = Callable[[Hashable, Hashable, Callable[[], Any]], Any]
# Bounds of a stack file, far above any real one (1000 endpoints are about 300 KB, 20,000
# values, 6 levels deep) and far below what exhausts memory or the parser's C stack.
MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 500_000
_TOO_LARGE = (
    f"larger than {MAX_BYTES // (1024 * 1024)} MiB, the most a stack file may be "
    "(an endpoint takes about 300 bytes)"
)
_TOO_MANY = Problem(
    "$",
    f"more than {MAX_PROBLEMS} problems; these are the first {MAX_PROBLEMS} in the file, "
    "fix them and validate again",
    "",
)

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
    adopt: bool = False
    secret_rotation: str = "replace"
    smoke_test: bool | None = None  # read by `es-inference smoke` only; None: the stack's


@dataclass(frozen=True)
class StackDeclaration:
    """A validated stack file."""

    source: str
    elasticsearch: dict[str, Any] = field(default_factory=dict)
    endpoints: list[EndpointDeclaration] = field(default_factory=list)
    huggingface: dict[str, Any] = field(default_factory=dict)
    huggingface_endpoints: list[HfEndpointDeclaration] = field(default_factory=list)
    smoke_test: bool = False


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
    problem = unreadable(path)
    if problem is not None:
        raise DeclarationError(source, [f"{source}: {problem}"])
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DeclarationError(
            source, [f"{source}: cannot be read: {exc.strerror or type(exc).__name__}"]
        ) from None
    if len(raw) > MAX_BYTES:
        raise DeclarationError(source, [f"{source}: {_TOO_LARGE}"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeclarationError(source, [f"{source}: cannot be read: {exc}"]) from None
    try:
        return _load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = str(exc.problem)
        if isinstance(exc, _OutOfBounds):
            raise DeclarationError(source, [f"{source}: {where}: {problem}"]) from None
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


def unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be a stack file (missing, a directory, a symlink loop...), or None."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return "a symbolic link to a file that does not exist"
        return "no such file; each Pulumi stack reads stacks/<stack>.yaml"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (its links lead back to themselves)"
        return f"cannot be read: {exc.strerror or type(exc).__name__}"
    if S_ISDIR(stat.st_mode):
        return "a directory, not a stack file; name a .yaml file in it"
    if not S_ISREG(stat.st_mode):
        return "not a regular file (a device, pipe or socket); name a .yaml file"
    return None


class _OutOfBounds(yaml.constructor.ConstructorError):
    """Valid YAML, but beyond what a stack file may be (MAX_DEPTH, MAX_VALUES)."""


def _out_of_bounds(problem: str, event: Any) -> _OutOfBounds:
    return _OutOfBounds(None, None, problem, event.start_mark)


def _check_bounds(text: str, loader_class: type[Any]) -> None:
    """Refuse, from the event stream and before any value is built, what would explode later.

    Composing shares an aliased node, but whatever walks the document (validation, copies,
    messages) sees each alias expanded: nine levels of ten aliases are a billion values.
    """
    loader = loader_class(text)
    try:
        values = 0
        sizes: dict[str, int] = {}
        opened: list[tuple[str | None, int]] = []
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                if len(opened) == MAX_DEPTH:
                    raise _out_of_bounds(
                        f"nested more than {MAX_DEPTH} levels deep (a stack file needs about 6)",
                        event,
                    )
                opened.append((event.anchor, values))
                values += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, before = opened.pop()
                if anchor is not None:
                    sizes[anchor] = values - before
            elif isinstance(event, yaml.ScalarEvent):
                values += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for anchor, _ in opened):
                    raise _out_of_bounds(
                        "an alias refers to a value that contains it, so it never ends", event
                    )
                values += sizes.get(str(event.anchor), 1)
            if values > MAX_VALUES:
                raise _out_of_bounds(
                    f"holds more than {MAX_VALUES} values once its aliases are expanded "
                    "(an alias bomb?); use fewer aliases, or split the file",
                    event,
                )
    finally:
        loader.dispose()


def _load(text: str) -> object:
    try:
        return _load_with(text, _FastStrictLoader)
    except yaml.MarkedYAMLError as exc:
        if isinstance(exc, _OwnProblem | _OutOfBounds):
            raise
    # Not valid YAML: let the Python parser say where and what, in its clearer words.
    return _load_with(text, _StrictLoader)


def _load_with(text: str, loader_class: type[Any]) -> object:
    _check_bounds(text, loader_class)
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


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
    # A stack-file option for `es-inference smoke`; the stack schema checked it, no service has it.
    smoke_test = checked.pop("smoke_test", None)
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
        adopt=checked.get("adopt") is True,
        secret_rotation=str(checked.get("secret_rotation", "replace")),
        smoke_test=smoke_test if isinstance(smoke_test, bool) else None,
    )


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _hf_url(entry: dict[str, Any], base: str, hf_names: set[str], problems: list[Problem]) -> Any:
    """Swap ``url: {huggingface_endpoint: <name>}`` for a placeholder; return the reference."""
    settings = entry.get("service_settings")
    ref = hf_url_reference(settings.get("url")) if isinstance(settings, dict) else None
    if ref is None or not isinstance(settings, dict):
        return None
    if ref.name not in hf_names:
        problems.append(
            Problem(
                f"{base}.service_settings.url",
                f"no huggingface_endpoints entry is named {ref.name!r}"
                + (f" (declared: {', '.join(sorted(hf_names))})" if hf_names else ""),
                "service_settings",
            )
        )
    entry["service_settings"] = {**settings, "url": HF_URL_PLACEHOLDER}
    return ref


def _validate(
    document: object, schemas: SchemaSet
) -> tuple[list[Problem], dict[str, Any], list[EndpointDeclaration], list[HfEndpointDeclaration]]:
    non_finite = _non_finite(document)
    odd = {p.path for p in non_finite}  # one message for such a value, not one per bound
    problems = [
        *non_finite,
        *(p for p in schemas.stack_document_problems(document) if p.path not in odd),
    ]
    if not isinstance(document, dict):
        return problems, {}, [], []
    hf_problems, hf_endpoints = check_hf_endpoints(document, schemas, parse_reference)
    problems.extend(hf_problems)
    raw_hf = document.get("huggingface_endpoints")
    hf_names = {
        str(e["name"])
        for e in (raw_hf if isinstance(raw_hf, list) else [])
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    }
    endpoints: list[EndpointDeclaration] = []
    first_seen: dict[str, str] = {}
    flagged = {p.path for p in problems}  # by the stack schema, before any entry is checked
    entries = document.get("endpoints")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if len(problems) > MAX_PROBLEMS:
            break
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
        if f"{base}.service" in flagged or f"{base}.task_type" in flagged:
            continue  # the stack schema already said what is wrong with them
        entry = dict(entry)
        hf_url = _hf_url(entry, base, hf_names, problems)
        declared = _check_endpoint(entry, base, schemas, problems)
        if declared is not None:
            if hf_url is not None:
                declared.service_settings["url"] = hf_url
            endpoints.append(declared)
    unique: dict[tuple[str, str], tuple[int, Problem]] = {}
    for position, problem in enumerate(problems):  # both schemas may flag the same field
        unique.setdefault((problem.path, problem.message), (position, problem))
    ordered = [
        problem
        for _, problem in sorted(
            unique.values(), key=lambda found: (_path_order(found[1].path), found[0])
        )
    ]
    elasticsearch = document.get("elasticsearch")
    if isinstance(elasticsearch, dict) and not any(
        p.path.startswith("$.elasticsearch") for p in ordered
    ):
        ordered = [*_tls_problems(elasticsearch), *ordered]
    if len(ordered) > MAX_PROBLEMS:
        ordered = [*ordered[:MAX_PROBLEMS], _TOO_MANY]
    es_settings = elasticsearch if isinstance(elasticsearch, dict) else {}
    return ordered, es_settings, endpoints, hf_endpoints


def _tls_problems(block: Mapping[str, Any]) -> list[Problem]:
    """The connection's TLS rules, offline, for what the stack file itself says."""
    pins = [name for name in ("ca_fingerprint", "ca_file") if block.get(name) is not None]
    return [
        Problem(f"$.elasticsearch.{setting}", why, "elasticsearch")
        for setting, why in tls_conflicts(
            list(block.get("endpoints") or []), pins, block.get("insecure") is True
        )
    ]


def _non_finite(document: object) -> list[Problem]:
    """YAML's ``.nan`` and ``.inf`` anywhere: JSON, Pulumi and every bound compare them wrongly.

    Walked in document order, so that when there are more than MAX_PROBLEMS the first are found.
    """
    found: list[Problem] = []
    pending: list[tuple[PathKey, object]] = [((), document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            shown = "NaN (.nan)" if math.isnan(value) else "infinite"
            top = str(path[0]) if path else ""
            found.append(Problem(format_path(path), f"must be a finite number, not {shown}", top))
            if len(found) > MAX_PROBLEMS:
                break
        elif isinstance(value, dict):
            pending.extend(reversed([((*path, str(k)), v) for k, v in value.items()]))
        elif isinstance(value, list):
            pending.extend(reversed([((*path, i), v) for i, v in enumerate(value)]))
    return found


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
        problems, _, _, _ = _validate(document, load_schemas())
    except RecursionError:
        return [Problem("", "nested too deeply to validate", "")]
    return problems


def load_stack(path: Path, source: str | None = None) -> StackDeclaration:
    """Read and validate a stack file; raise DeclarationError listing every problem."""
    shown = source or str(path)
    document = _read(path, shown)
    try:
        problems, elasticsearch, endpoints, hf_endpoints = _validate(document, load_schemas())
    except RecursionError:
        raise DeclarationError(shown, [f"{shown}: nested too deeply to validate"]) from None
    if problems:
        raise DeclarationError(shown, [f"{shown}: {p}" for p in problems])
    huggingface = document.get("huggingface") if isinstance(document, dict) else None
    return StackDeclaration(
        source=shown,
        elasticsearch=elasticsearch,
        endpoints=endpoints,
        huggingface=huggingface if isinstance(huggingface, dict) else {},
        huggingface_endpoints=hf_endpoints,
        smoke_test=isinstance(document, dict) and document.get("smoke_test") is True,
    )


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
        document = _read(path, str(path))
    except DeclarationError:
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
