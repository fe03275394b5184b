"""Load ``schemas/``, validate stack files and endpoint inputs, and read the schemas' annotations.

No HTTP and no Pulumi here. Every validation problem carries its JSON path; messages are rebuilt
from the failing keyword, so a value is echoed only where it cannot be a secret.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError as JsonSchemaError
from jsonschema.exceptions import relevance
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from providers.errors import SchemaError
from providers.versions import Version

__all__ = [
    "LIFECYCLE_GROUPS",
    "MAX_PROBLEMS",
    "EndpointSchema",
    "FieldRule",
    "Lifecycle",
    "Problem",
    "SchemaSet",
    "format_path",
    "load_schemas",
]

_BASE_URI = "https://schemas.es-inference.invalid/"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}
PathKey = tuple[str | int, ...]
_JSONSCHEMA_VERSION = importlib.metadata.version("jsonschema")
# The most problems one validation reports (then one more says there are more): a hostile file of
# 499,000 wrong entries otherwise made 499,000 errors, 1.9 GB and 35 s for one `validate`.
MAX_PROBLEMS = 100
# The endpoint's fields whose changes the lifecycle rules classify (L2-L5): each, and each field
# of service_settings and task_settings, must say how with x-es-lifecycle.
LIFECYCLE_GROUPS = ("service_settings", "task_settings", "chunking_settings")


@dataclass(frozen=True)
class Problem:
    """One rule broken by one value: where (a JSON path) and what (a message with no secret)."""

    path: str
    message: str
    top_key: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class Lifecycle:
    """How Elasticsearch applies a change to a field: in place (``update``) or by re-creating it.

    ``update_when`` names the behaviour-matrix rule (``behaviour/elasticsearch.yaml``) under which
    the update is in place; where it does not hold, the change replaces.
    """

    kind: Literal["replace", "update"]
    update_since: Version | None = None
    update_when: str | None = None

    @classmethod
    def parse(cls, raw: object) -> Lifecycle:
        """Read an ``x-es-lifecycle`` annotation."""
        if raw in ("replace", "update"):
            return cls("replace" if raw == "replace" else "update")
        if isinstance(raw, dict) and set(raw) == {"update_since"}:
            return cls("update", Version.parse(str(raw["update_since"])))
        if isinstance(raw, dict) and set(raw) == {"update_when"}:
            return cls("update", update_when=str(raw["update_when"]))
        raise SchemaError(
            "x-es-lifecycle must be 'replace', 'update', {update_since: version} or "
            f"{{update_when: rule}}: {raw!r}"
        )


@dataclass(frozen=True)
class FieldRule:
    """What the schemas say about one field of an endpoint."""

    secret: bool = False
    has_default: bool = False
    default: Any = None
    discovered: bool = False
    lifecycle: Lifecycle | None = None
    since: tuple[str, ...] = ()
    discovered_with: tuple[str, ...] = ()
    ignore_when: dict[str, Any] | None = None
    secret_group: str | None = None
    case_insensitive: bool = False

    def same(self, want: Any, have: Any) -> bool:
        """Whether two values are equal as Elasticsearch compares them (``x-es-case-insensitive``)."""
        if self.case_insensitive and isinstance(want, str) and isinstance(have, str):
            return want.casefold() == have.casefold()
        return bool(want == have)

    def is_discovered(self, siblings: Mapping[str, Any]) -> bool:
        """Whether Elasticsearch fills the field in when it is left out next to ``siblings``."""
        return self.discovered or any(name in siblings for name in self.discovered_with)

    def is_ignored(self, siblings: Mapping[str, Any]) -> bool:
        """Whether Elasticsearch moves the field itself when its group holds ``siblings``."""
        return self.ignore_when is not None and _matches(siblings, self.ignore_when)


def _matches(value: object, pattern: object) -> bool:
    """``pattern`` is a partial object: every key it names has the value it gives."""
    if isinstance(pattern, dict):
        return isinstance(value, Mapping) and all(
            k in value and _matches(value[k], v) for k, v in pattern.items()
        )
    return value == pattern


def format_path(parts: Iterable[str | int], base: str = "$") -> str:
    """Render a JSON path the way jsonschema's ``json_path`` does: ``$.a[0].b``."""
    out = base
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _at_most_half_of(
    validator: Validator, spec: Mapping[str, str], instance: object, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    del validator, schema
    if not isinstance(instance, dict):
        return
    prop, of = spec["property"], spec["of"]
    value, whole = _integral(instance.get(prop)), _integral(instance.get(of))
    if value is not None and whole is not None and value > whole // 2:
        yield ValidationError(
            f"must be at most {whole // 2} (half of {of}, rounded down)",
            path=[prop],
            validator_value=whole // 2,
            instance=instance.get(prop),
        )


def _integral(value: object) -> int | None:
    # Pulumi's gRPC structs carry every number as a float: 100.0 is the integer 100.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def _ecma_pattern(
    validator: Validator, pattern: str, instance: object, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` with ECMA-262's ``$`` (the end of the text), as JSON Schema specifies.

    Python's ``$`` also matches before a final newline, which would let ``"e5\\n"`` pass.
    """
    del validator, schema
    if isinstance(instance, str) and not re.search(_ecma(pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _ecma(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


_Validator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {"x-es-at-most-half-of": _at_most_half_of, "pattern": _ecma_pattern},
)


def _show(value: object) -> str:
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            # YAML can hand us dates, binary data and sets: name the kind, never the content.
            return f"a {type(value).__name__} value"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _describe(error: ValidationError, reveal: bool) -> str:
    """A message for one error, built from the keyword and the rule, never from a hidden value."""
    keyword = str(error.validator)
    rule: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    messages = schema.get("x-messages", {})
    custom = messages.get(f"{keyword}:{_json_type(instance)}") or messages.get(keyword)
    if custom:
        return str(custom)
    got = f" (got {_show(instance)})" if reveal else ""
    if keyword == "required":
        missing = [p for p in rule if isinstance(instance, dict) and p not in instance]
        noun = "field" if len(missing) == 1 else "fields"
        return f"missing required {noun} {', '.join(repr(p) for p in missing)}"
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        known = sorted(schema.get("properties", {}))
        extra = (
            sorted((k for k in instance if k not in known), key=repr)
            if isinstance(instance, dict)
            else []
        )
        allowed = f" (allowed: {', '.join(known)})" if known else ""
        noun = "field" if len(extra) == 1 else "fields"
        return f"unknown {noun} {', '.join(repr(k) for k in extra)}{allowed}"
    if keyword == "type":
        wanted = " or ".join(rule) if isinstance(rule, list) else str(rule)
        return f"must be of type {wanted}, not {_json_type(instance)}"
    if keyword == "enum":
        return f"must be one of {', '.join(_show(v) for v in rule)}{got}"
    if keyword == "const":
        return f"must be {_show(rule)}{got}"
    if keyword == "pattern":
        what = schema.get("x-pattern-message") or f"the pattern {rule}"
        return f"must be {what}{got}"
    if keyword == "minLength":
        return "must not be empty" if rule == 1 else f"must be at least {rule} characters long"
    if keyword == "maxLength":
        return f"must be at most {rule} characters long"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return f"must be {op[keyword]} {rule}{got}"
    if keyword == "minItems":
        return f"must have at least {rule} item{'s' if rule != 1 else ''}"
    if keyword == "maxItems":
        return f"must have at most {rule} items"
    if keyword == "dependentRequired":
        present = sorted(k for k in rule if isinstance(instance, dict) and k in instance)
        missing = sorted(
            {
                p
                for k in present
                for p in rule[k]
                if isinstance(instance, dict) and p not in instance
            }
        )
        together = ", ".join(repr(k) for k in present)
        return (
            f"missing required field {', '.join(repr(p) for p in missing)} (needed with {together})"
        )
    if keyword == "oneOf":
        return "must match exactly one of the allowed forms"
    if keyword == "anyOf":
        return "must match at least one of the allowed forms"
    if keyword == "not":
        return "is not allowed here"
    if keyword == "x-es-at-most-half-of":
        return f"{error.message}{got}"
    if keyword == "false" or rule is False:
        return "is not allowed here"
    return f"is invalid (rule: {keyword})"


class EndpointSchema:
    """The schema of one (service, task type) and the field rules its annotations declare."""

    def __init__(
        self, service: str, task_type: str, schema: dict[str, Any], registry: Registry[Any]
    ):
        self.service = service
        self.task_type = task_type
        self.schema = schema
        self.validator = _Validator(schema, registry=registry)
        self.since: tuple[str, ...] = tuple(schema.get("x-es-since", ()))
        self.rules = _collect_rules(schema, registry)
        self.secret_paths = [path for path, rule in self.rules.items() if rule.secret]
        chunking = _follow_ref(
            schema.get("properties", {}).get("chunking_settings"), schema, registry
        )
        self.chunking: dict[str, Any] | None = chunking
        self.allows_task_settings = "task_settings" in schema.get("properties", {})
        self._registry = registry

    def resolved(self, node: object) -> dict[str, Any]:
        """A property's schema with its ``$ref`` followed (sibling keywords win)."""
        return _follow_ref(node, self.schema, self._registry) or {}

    def version_gates(self, instance: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
        """The declared fields that need a minimum Elasticsearch version: (path, since)."""
        gates: list[tuple[str, tuple[str, ...]]] = []
        for path, rule in self.rules.items():
            if not rule.since or len(path) != 2 or path[0] == "chunking_settings":
                continue
            group = instance.get(str(path[0]))
            if isinstance(group, Mapping) and path[1] in group:
                gates.append((f"{path[0]}.{path[1]}", rule.since))
        return gates

    def problems(
        self,
        instance: object,
        base: str = "$",
        unknown: Sequence[PathKey] = (),
    ) -> list[Problem]:
        """Every rule ``instance`` breaks, in document order; paths under ``unknown`` are skipped."""
        return _problems(self.validator, instance, base, unknown, self.secret_paths)


def _problems(
    validator: Validator,
    instance: object,
    base: str,
    unknown: Sequence[PathKey],
    secret_paths: Sequence[PathKey],
) -> list[Problem]:
    relevant = (
        e
        for e in validator.iter_errors(instance)  # type: ignore[arg-type]
        if not any(tuple(e.absolute_path)[: len(u)] == u for u in unknown)
    )
    errors = list(itertools.islice(relevant, MAX_PROBLEMS + 1))  # see MAX_PROBLEMS
    errors.sort(key=relevance, reverse=True)
    errors.sort(
        key=lambda e: [(0, p) if isinstance(p, int) else (1, str(p)) for p in e.absolute_path]
    )
    out: list[Problem] = []
    seen: set[Problem] = set()
    for error in errors:
        path = tuple(error.absolute_path)
        hidden = (
            "service_settings" in path  # urls may carry tokens; api keys are secrets
            # endpoints and file names may carry user:password@ or tokens; numbers cannot
            or (path[:1] in _CONNECTION_SECTIONS and not _is_number(error.instance))
            or any(path[: len(s)] == s for s in secret_paths)
        )
        top = str(path[0]) if path else ""
        problem = Problem(format_path(path, base), _describe(error, reveal=not hidden), top)
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out


_CONNECTION_SECTIONS = (("elasticsearch",), ("huggingface",))


def _follow_ref(
    node: object, root: Mapping[str, Any], registry: Registry[Any]
) -> dict[str, Any] | None:
    """Follow ``$ref`` (keeping sibling keywords, which win) so annotations can be read."""
    if not isinstance(node, dict):
        return None
    if "$ref" not in node:
        return node
    resolver = registry.resolver(base_uri=str(root.get("$id", _BASE_URI)))
    try:
        target = resolver.lookup(node["$ref"])
    except Unresolvable as exc:
        raise SchemaError(f"unresolvable $ref {node['$ref']!r} in {root.get('$id')}") from exc
    merged = dict(target.contents) if isinstance(target.contents, dict) else {}
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return merged


def _needs_lifecycle(path: PathKey) -> bool:
    """Whether the plan compares the field at ``path`` by its own lifecycle (model.plan)."""
    if len(path) == 1:
        return path[0] in LIFECYCLE_GROUPS
    return len(path) == 2 and path[0] in ("service_settings", "task_settings")


def _schema_path(path: PathKey) -> PathKey:
    return tuple(part for name in path for part in ("properties", name))


def _collect_rules(schema: dict[str, Any], registry: Registry[Any]) -> dict[PathKey, FieldRule]:
    rules: dict[PathKey, FieldRule] = {}

    def walk(node: dict[str, Any], path: PathKey) -> None:
        for name, raw in node.get("properties", {}).items():
            sub = _follow_ref(raw, schema, registry)
            if sub is None:
                continue
            lifecycle = sub.get("x-es-lifecycle")
            key: PathKey = (*path, str(name))
            if lifecycle is None and _needs_lifecycle(key):
                raise SchemaError(
                    f"{schema.get('$id')}: {format_path(_schema_path(key))} has no x-es-lifecycle "
                    "('replace', 'update', {update_since} or {update_when}): say how Elasticsearch "
                    "applies a change to it"
                )
            rules[key] = FieldRule(
                secret=bool(sub.get("writeOnly", False)),
                has_default="default" in sub,
                default=sub.get("default"),
                discovered=bool(sub.get("x-es-discovered", False)),
                lifecycle=Lifecycle.parse(lifecycle) if lifecycle is not None else None,
                since=tuple(sub.get("x-es-since", ())),
                discovered_with=tuple(sub.get("x-es-discovered-with", ())),
                ignore_when=sub.get("x-es-ignore-when"),
                secret_group=sub.get("x-es-secret-group"),
                case_insensitive=bool(sub.get("x-es-case-insensitive", False)),
            )
            if name != "chunking_settings":
                walk(sub, key)

    walk(schema, ())
    return rules


def _checked_stamp(contents: Mapping[Path, bytes]) -> Path:
    """Where a successful meta-schema check of exactly these files (and this jsonschema) is noted.

    The check costs about 0.3 s of CPU for the project's schemas, in every Python process of
    every command (the program and each provider host), while the files change only with a
    release or an edit. The note is an empty file named by a digest of every file's path and
    bytes and of jsonschema's version, in the cache the project's scripts use
    (``$ES_INFERENCE_CACHE``, else ``$XDG_CACHE_HOME/pulumi-es-inference``, else
    ``~/.cache/pulumi-es-inference``): any edit changes the name, so an edited schema is
    always checked again.
    """
    digest = hashlib.sha256(_JSONSCHEMA_VERSION.encode())
    for rel, data in sorted(contents.items()):
        digest.update(rel.as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
    cache = os.environ.get("ES_INFERENCE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pulumi-es-inference"
    )
    return Path(cache) / "schemas-checked" / digest.hexdigest()


def _note_checked(stamp: Path) -> None:
    """Record a passed check; a cache that cannot be written only means checking again."""
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:
        pass


class SchemaSet:
    """Every schema under one directory, checked against the JSON Schema meta-schema on load.

    The meta-schema check is skipped when these very files passed it before (see
    ``_checked_stamp``).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        contents: dict[Path, bytes] = {}
        for path in sorted(directory.rglob("*.schema.json")):
            try:
                contents[path.relative_to(directory)] = path.read_bytes()
            except OSError as exc:
                raise SchemaError(f"{path}: not readable JSON: {exc}") from exc
        stamp = _checked_stamp(contents)
        checked = stamp.is_file()
        documents: dict[Path, dict[str, Any]] = {}
        for rel, data in contents.items():
            path = directory / rel
            try:
                document = json.loads(data.decode("utf-8"))
                if not checked:
                    _Validator.check_schema(document)
            except ValueError as exc:
                raise SchemaError(f"{path}: not readable JSON: {exc}") from exc
            except JsonSchemaError as exc:
                raise SchemaError(f"{path}: not a valid JSON Schema: {exc.message}") from exc
            # jsonschema re-picks the validator class from a referenced document's $schema, which
            # would drop our custom keyword; the files keep $schema for editors and check_schema.
            document.pop("$schema", None)
            documents[rel] = document
        if Path("stack.schema.json") not in documents:
            raise SchemaError(f"{directory}: stack.schema.json is missing")
        self.registry: Registry[Any] = Registry().with_resources(
            (
                doc.get("$id", _BASE_URI + rel.as_posix()),
                Resource.from_contents(doc, default_specification=DRAFT202012),
            )
            for rel, doc in documents.items()
        )
        self._documents = documents
        self._document_validators: dict[str, Validator] = {}
        self.stack_schema = documents[Path("stack.schema.json")]
        self.stack_validator = _Validator(self.stack_schema, registry=self.registry)
        stack_id = self.stack_schema.get("$id", _BASE_URI + "stack.schema.json")
        self._reference_validator = _Validator(
            {"$ref": f"{stack_id}#/$defs/secret_reference"}, registry=self.registry
        )
        self._endpoint_documents: dict[tuple[str, str], dict[str, Any]] = {
            (rel.parts[0], rel.name.removesuffix(".schema.json")): doc
            for rel, doc in documents.items()
            if len(rel.parts) == 2 and rel.parts[0] != "common"
        }
        self._endpoints: dict[tuple[str, str], EndpointSchema] = {}
        if not checked:
            # New content: every endpoint schema's annotations are read now, so that a missing
            # or wrong one is a load-time error; content that passed before is read on first use.
            for key in self._endpoint_documents:
                self.endpoint(*key)
            _note_checked(stamp)

    def endpoint(self, service: str, task_type: str) -> EndpointSchema | None:
        """The schema for ``service``/``task_type``, or None when the project has none."""
        key = (service, task_type)
        found = self._endpoints.get(key)
        if found is None and key in self._endpoint_documents:
            found = EndpointSchema(service, task_type, self._endpoint_documents[key], self.registry)
            self._endpoints[key] = found
        return found

    def supported(self) -> list[str]:
        """``service/task_type`` pairs that have a schema, sorted."""
        return sorted(f"{s}/{t}" for s, t in self._endpoint_documents)

    def document_problems(
        self,
        name: str,
        instance: object,
        base: str = "$",
        unknown: Sequence[PathKey] = (),
        hidden: Sequence[PathKey] = (),
    ) -> list[Problem]:
        """Every rule of the top-level ``schemas/<name>.schema.json`` that ``instance`` breaks.

        Values under ``hidden`` paths (secrets) are never echoed in a message.
        """
        validator = self._document_validators.get(name)
        if validator is None:
            document = self._documents.get(Path(f"{name}.schema.json"))
            if document is None:
                raise SchemaError(f"{self.directory}: {name}.schema.json is missing")
            validator = _Validator(document, registry=self.registry)
            self._document_validators[name] = validator
        return _problems(validator, instance, base, unknown, hidden)

    def reference_problems(self, reference: object) -> list[Problem]:
        """Problems of a secret reference, by the stack schema's ``secret_reference`` rule."""
        return _problems(self._reference_validator, reference, "$", (), ())

    def stack_document_problems(self, document: object) -> list[Problem]:
        """Every rule of stack.schema.json the whole stack file breaks."""
        return _problems(self.stack_validator, document, "$", (), ())


def _default_directory() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "schemas", here / "_schemas"):
        if (candidate / "stack.schema.json").is_file():
            return candidate
    raise SchemaError(f"no schemas directory next to {here} (looked for ../schemas and _schemas)")


@cache
def load_schemas(directory: str | None = None) -> SchemaSet:
    """The project's schemas (``schemas/`` in a checkout, ``providers/_schemas`` in a wheel)."""
    return SchemaSet(Path(directory) if directory else _default_directory())
