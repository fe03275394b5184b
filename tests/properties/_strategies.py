"""Hypothesis strategies for stack files and provider inputs, derived from the rules in ``schemas/``.

Valid values follow each rule (``type``, ``enum``, ``const``, ``pattern``, ``minimum``, ``required``,
the chunking ``if``/``then`` branches and their ``x-es-*`` constraints). Invalid ones break the rule
of the place they are put, so every generated bad input has at least one problem. A random token
that starts with ``MARKER`` stands for a secret wherever a secret may sit.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import os
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from hypothesis import settings
from hypothesis import strategies as st

from providers.schema import load_schemas

if TYPE_CHECKING:
    from referencing._core import Resolver

__all__ = [
    "GENERATED",
    "KINDS",
    "MARKER",
    "PAIRS",
    "SCHEMAS",
    "Site",
    "budget",
    "endpoint_sites",
    "invalid_inputs",
    "invalid_stack_files",
    "record",
    "tokens",
    "valid_inputs",
    "valid_stacks",
]

SCHEMAS = load_schemas()
STACK_SCHEMA: dict[str, Any] = SCHEMAS.stack_schema
STACK_RESOLVER: Resolver[Any] = SCHEMAS.registry.resolver(base_uri=STACK_SCHEMA["$id"])
SECRET_REFERENCE: dict[str, Any] = STACK_SCHEMA["$defs"]["secret_reference"]
URL_PATTERN: str = STACK_SCHEMA["properties"]["elasticsearch"]["properties"]["endpoints"]["items"][
    "pattern"
]
# Object-level combinators (one auth method of several, allocations XOR adaptive allocations) are
# left to the per-service tables in tests/unit/test_service_schemas.py; these strategies draw
# every other service's endpoints.
_COMBINATORS = ("anyOf", "oneOf", "dependentRequired", "if")


def _drawable(pair: str) -> bool:
    found = SCHEMAS.endpoint(*pair.split("/"))
    assert found is not None
    settings = found.schema["properties"]["service_settings"]
    return not any(k in settings for k in _COMBINATORS)


PAIRS: list[tuple[str, str]] = [
    (service, task_type)
    for service, task_type in (p.split("/") for p in SCHEMAS.supported() if _drawable(p))
]
MARKER = "SeKrEt"
_PLACEHOLDER = "\x00api-key-placeholder\x00"

GENERATED: Counter[str] = Counter()
KINDS: Counter[str] = Counter()


def budget(max_examples: int) -> settings:
    """The selected profile ("ci" unless HYPOTHESIS_PROFILE says otherwise) with this budget."""
    profile = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    return settings(profile, max_examples=max_examples)


def record(prop: str, kind: str | None = None) -> None:
    """Count one example run by ``prop`` (and the kind of bad input, when there is one)."""
    GENERATED[prop] += 1
    if kind is not None:
        KINDS[kind] += 1


# --- text ---------------------------------------------------------------------------------------

# PyYAML refuses control, surrogate and unassigned characters, so valid files never hold them.
_PRINTABLE = st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"))
_NON_ASCII = st.characters(
    min_codepoint=0x80, exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")
)
_KEY_NAMES = st.text(st.sampled_from(string.ascii_lowercase + "_"), min_size=1, max_size=10)


def _no_marker(text: str) -> bool:
    return MARKER not in text and "\n" not in text


def plain_text(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    """Printable text that never contains the secret marker."""
    return st.text(_PRINTABLE, min_size=min_size, max_size=max_size).filter(_no_marker)


tokens = st.text(
    st.sampled_from(string.ascii_letters + string.digits), min_size=16, max_size=16
).map(lambda core: MARKER + core)

_URLS = st.builds(
    "{}://{}{}{}".format,
    st.sampled_from(["http", "https"]),
    st.sampled_from(["127.0.0.1", "localhost", "hf.example.test", "[::1]"]),
    st.sampled_from(["", ":8080", ":9200"]),
    st.from_regex(r"(/[a-z0-9_-]{1,8}){0,3}", fullmatch=True),
)


# --- schema walking -----------------------------------------------------------------------------


def _follow_ref(node: Any, resolver: Resolver[Any]) -> tuple[Any, Resolver[Any]]:
    while isinstance(node, dict) and "$ref" in node:
        found = resolver.lookup(node["$ref"])
        node = {**found.contents, **{k: v for k, v in node.items() if k != "$ref"}}
        resolver = found.resolver
    return node, resolver


def _endpoint_schema(pair: tuple[str, str]) -> tuple[dict[str, Any], Resolver[Any]]:
    found = SCHEMAS.endpoint(*pair)
    assert found is not None
    return found.schema, SCHEMAS.registry.resolver(base_uri=found.schema["$id"])


@dataclass(frozen=True)
class Site:
    """A place in a document the schemas have a rule for; ``secret`` when its value may be one."""

    path: tuple[str | int, ...]
    node: dict[str, Any]
    resolver: Resolver[Any]
    secret: bool

    @property
    def is_reference(self) -> bool:
        """A secret field of a stack file: it must hold ``{secret: k}`` or ``{env: V}``."""
        return bool(self.node.get("writeOnly")) or "oneOf" in self.node


def _sites(
    node: Any, resolver: Resolver[Any], path: tuple[str | int, ...], secret: bool
) -> Iterator[Site]:
    node, resolver = _follow_ref(node, resolver)
    for name, raw in node.get("properties", {}).items():
        sub, sub_resolver = _follow_ref(raw, resolver)
        here = (*path, name)
        hidden = secret or name == "service_settings" or bool(sub.get("writeOnly"))
        yield Site(here, sub, sub_resolver, hidden or "oneOf" in sub)
        if sub.get("type") == "object" and "properties" in sub and "allOf" not in sub:
            yield from _sites(sub, sub_resolver, here, hidden)


def endpoint_sites(pair: tuple[str, str], base: tuple[str | int, ...] = ()) -> list[Site]:
    """Every field of one endpoint's schema, and the endpoint itself."""
    schema, resolver = _endpoint_schema(pair)
    return [Site(base, schema, resolver, False), *_sites(schema, resolver, base, False)]


def _stack_sites(document: dict[str, Any]) -> list[Site]:
    found = list(_sites(STACK_SCHEMA, STACK_RESOLVER, (), False))
    entries = document.get("endpoints")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        pair = (entry.get("service"), entry.get("task_type")) if isinstance(entry, dict) else None
        if pair in PAIRS:
            found += endpoint_sites(pair, ("endpoints", index))
    return found


# --- valid values -------------------------------------------------------------------------------


def valid(
    node: Any, resolver: Resolver[Any], secret: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Values that satisfy ``node``; ``writeOnly`` fields draw from ``secret``."""
    node, resolver = _follow_ref(node, resolver)
    if node.get("writeOnly"):
        return secret
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "oneOf" in node:
        return st.one_of(*(valid(option, resolver, secret) for option in node["oneOf"]))
    kind = node.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low = node.get("minimum", node.get("exclusiveMinimum", -1) + 1)
        return st.integers(low, min(low + 100_000, node.get("maximum", low + 100_000)))
    if kind == "number":
        high = min(1e6, node.get("maximum", 1e6))
        if "exclusiveMinimum" in node:
            return st.floats(node["exclusiveMinimum"], high, exclude_min=True)
        low = node.get("minimum", 0)
        if node.get("not") == {"multipleOf": 1}:  # a Java Double: no integral value
            return st.floats(low, high).filter(lambda f: not f.is_integer())
        return st.floats(low, high) | st.integers(low, min(1000, int(high)))
    if kind == "object" and "additionalProperties" in node and "properties" not in node:
        return st.dictionaries(st.sampled_from(["X-A", "X-B"]), plain_text(1), max_size=2)
    if kind == "string":
        pattern = node.get("pattern")
        if pattern == URL_PATTERN:
            return _URLS
        if pattern:
            return st.from_regex(pattern, fullmatch=True).filter(_no_marker)
        return plain_text(node.get("minLength", 0))
    if kind == "array":
        low = node.get("minItems", 0)
        high = min(node.get("maxItems", low + 3), low + 3)
        return st.lists(valid(node["items"], resolver, secret), min_size=low, max_size=high)
    if kind == "object":
        if "allOf" in node:
            return _conditional(node, resolver, secret)
        properties, required = node.get("properties", {}), node.get("required", [])
        return st.fixed_dictionaries(
            {name: valid(properties[name], resolver, secret) for name in required},
            optional={
                name: valid(sub, resolver, secret)
                for name, sub in properties.items()
                if name not in required and not _never_declared(sub, resolver)
            },
        )
    raise AssertionError(f"no strategy for the schema node {node}")


def _never_declared(node: Any, resolver: Resolver[Any]) -> bool:
    """A field Elasticsearch fills in and refuses when declared (``not: {}``)."""
    return bool(_follow_ref(node, resolver)[0].get("not") == {})


def _conditional(
    node: dict[str, Any], resolver: Resolver[Any], secret: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """One object per ``if``/``then`` branch (the chunking strategies), obeying its extra rules."""
    branches = []
    for rule in node["allOf"]:
        ((field, test),) = rule["if"]["properties"].items()
        then = rule["then"]
        properties = {k: v for k, v in then["properties"].items() if v is not True}
        required = [k for k in then.get("required", []) if k in properties]
        drawn = st.fixed_dictionaries(
            {field: st.just(test["const"])}
            | {k: valid(properties[k], resolver, secret) for k in required},
            optional={
                k: valid(v, resolver, secret) for k, v in properties.items() if k not in required
            },
        )
        branches.append(drawn.flatmap(_obeying(then)))
    return st.one_of(*branches)


def _obeying(then: dict[str, Any]) -> Callable[[dict[str, Any]], st.SearchStrategy[dict[str, Any]]]:
    def fix(value: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        exclusive = then.get("not", {}).get("required")
        if exclusive and all(k in value for k in exclusive):
            value = {k: v for k, v in value.items() if k != exclusive[-1]}
        half = then.get("x-es-at-most-half-of")
        if half and value[half["property"]] > value[half["of"]] // 2:
            low = then["properties"][half["property"]].get("minimum", 0)
            return st.integers(low, value[half["of"]] // 2).map(
                lambda v: {**value, half["property"]: v}
            )
        return st.just(value)

    return fix


_ENDPOINT_IN_STACK = [
    valid(*_endpoint_schema(pair), valid(SECRET_REFERENCE, STACK_RESOLVER, st.nothing()))
    for pair in PAIRS
]
_ENDPOINT_AS_INPUTS = [valid(*_endpoint_schema(pair), st.just(_PLACEHOLDER)) for pair in PAIRS]


def _consistent_tls(block: dict[str, Any]) -> dict[str, Any]:
    """Drop the pins a valid block cannot combine (with each other, insecure, or http://)."""
    urls = block.get("endpoints") or []
    if "ca_fingerprint" in block:
        block.pop("ca_file", None)
    if block.get("insecure") is True or any(u.startswith("http://") for u in urls):
        block.pop("ca_fingerprint", None)
        block.pop("ca_file", None)
    return block


_ELASTICSEARCH = valid(
    STACK_SCHEMA["properties"]["elasticsearch"], STACK_RESOLVER, st.nothing()
).map(_consistent_tls)


def valid_stacks(
    min_endpoints: int = 0, max_endpoints: int = 4
) -> st.SearchStrategy[dict[str, Any]]:
    """Stack documents that satisfy every rule, with unique inference ids."""
    endpoints = st.lists(
        st.one_of(*_ENDPOINT_IN_STACK),
        min_size=min_endpoints,
        max_size=max_endpoints,
        unique_by=lambda e: e["inference_id"],
    )
    return st.fixed_dictionaries(
        {"endpoints": endpoints}, optional={"elasticsearch": _ELASTICSEARCH}
    )


def _with_secret(value: Any, secret: str) -> Any:
    if value == _PLACEHOLDER:
        return secret
    if isinstance(value, dict):
        return {k: _with_secret(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_secret(v, secret) for v in value]
    return value


@st.composite
def valid_inputs(draw: st.DrawFn, secret: str) -> dict[str, Any]:
    """Provider inputs for one endpoint that satisfy its schema; secrets hold ``secret``."""
    return dict(_with_secret(draw(st.one_of(*_ENDPOINT_AS_INPUTS)), secret))


# --- invalid values -----------------------------------------------------------------------------

_JSON_TYPES = ("string", "integer", "number", "boolean", "null", "array", "object")


def _text(site: Site, token: str) -> st.SearchStrategy[str]:
    """Strings for a bad value: they carry the token where the value may be a secret."""
    if site.secret:
        return st.just(token) | plain_text(1).map(lambda s: f"{s} {token}")
    return plain_text()


def _of_type(kind: str, text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return {
        "string": text,
        "integer": st.integers(-(10**6), 10**6),
        "number": st.floats(-1e6, 1e6).filter(lambda f: not f.is_integer()),
        "boolean": st.booleans(),
        "null": st.none(),
        "array": st.lists(text, min_size=1, max_size=2),
        "object": st.dictionaries(_KEY_NAMES, text, min_size=1, max_size=2),
    }[kind]


def _wrong_type(kind: str | list[str], text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    allowed = {kind} if isinstance(kind, str) else set(kind)
    if "number" in allowed:
        allowed.add("integer")
    # Where only integers are allowed, "number" stays wrong: _of_type draws fractional ones.
    return st.one_of(*(_of_type(t, text) for t in _JSON_TYPES if t not in allowed))


def _breaks_pattern(pattern: str, text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    samples = ["", " ", "UPPER", ".leading-dot", "trailing-", "with space", "ftp://host/x", "é"]
    return (st.sampled_from(samples) | text).filter(lambda s: re.search(pattern, s) is None)


def malformed_references(token: str) -> st.SearchStrategy[Any]:
    """Secret references that break ``$defs/secret_reference`` (every option of its ``oneOf``)."""
    options: list[st.SearchStrategy[Any]] = [
        st.just({}),
        st.just([token]),
        st.just({"other": token}),
        st.just({"secret": "key", "env": "VARIABLE", "extra": token}),
        st.just({"secret": {"nested": token}}),
        st.just({"env": [token]}),
        st.integers(),
        st.none(),
    ]
    for option in SECRET_REFERENCE["oneOf"]:
        ((name, rule),) = option["properties"].items()
        bad_names = [
            s for s in ("", f"has space {token}", f"1{token}!") if not re.search(rule["pattern"], s)
        ]
        options += [st.sampled_from([{name: s} for s in bad_names]), st.just({name: 12})]
    return st.one_of(*options)


def invalid(site: Site, token: str, *, stack: bool) -> st.SearchStrategy[Any]:
    """Values that break the rule at ``site`` (for a stack file when ``stack``, else for inputs)."""
    node, resolver, text = site.node, site.resolver, _text(site, token)
    options: list[st.SearchStrategy[Any]] = []
    if site.is_reference and stack:
        return st.sampled_from([token, f" {token}", ""]) | malformed_references(token)
    if node.get("writeOnly"):
        options.append(st.just(""))
    if "const" in node:
        options.append(_wrong_type("string", text) | text.filter(lambda s: s != node["const"]))
    if "enum" in node:
        enum = node["enum"]
        options.append(text.filter(lambda s: s not in enum))
        options.append(st.lists(text, max_size=1) | st.none() | st.booleans())
    if node.get("not") == {}:  # a server-filled field: declaring any value breaks it
        options.append(text)
    kind = node.get("type")
    if kind:
        options.append(_wrong_type(kind, text))
    if kind in ("integer", "number"):
        if "minimum" in node:
            options.append(st.integers(max_value=node["minimum"] - 1))
        if "maximum" in node:
            options.append(st.integers(min_value=int(node["maximum"]) + 1))
        if "exclusiveMinimum" in node:
            options.append(st.floats(max_value=node["exclusiveMinimum"]))
    if kind == "integer":
        low = node.get("minimum", 0)
        options.append(st.floats(low + 0.01, low + 1000).filter(lambda f: not f.is_integer()))
    if kind == "string":
        if node.get("minLength"):
            options.append(st.just(""))
        if "pattern" in node:
            options.append(_breaks_pattern(node["pattern"], text))
    if kind == "array":
        if node.get("minItems"):
            options.append(st.just([]))
        if "maxItems" in node:
            options.append(st.just(["x"] * (node["maxItems"] + 1)))
        item = Site((*site.path, 0), _follow_ref(node["items"], resolver)[0], resolver, site.secret)
        options.append(st.lists(invalid(item, token, stack=stack), min_size=1, max_size=2))
    if kind == "object":
        filled = valid(node, resolver, st.just(token))
        options.append(_unknown_key(filled, token))
        required = [k for k in node.get("required", ()) if k in node.get("properties", {})]
        if required:
            options.append(
                st.tuples(filled, st.sampled_from(required)).map(
                    lambda pair: {k: v for k, v in pair[0].items() if k != pair[1]}
                )
            )
    assert options, f"no way to break {site.path}"
    if stack:
        return st.one_of(*options)
    # Pulumi drops None-valued properties on the wire, which makes them absent, not wrong.
    return st.one_of(*options).filter(lambda v: v is not None)


def _unknown_key(objects: st.SearchStrategy[dict[str, Any]], token: str) -> st.SearchStrategy[Any]:
    values = st.sampled_from([token, [token], {"value": token}, f"https://x.test/?key={token}"])
    return st.tuples(objects, _KEY_NAMES.map(lambda k: f"x_{k}"), values).map(
        lambda t: {**t[0], t[1]: t[2]}
    )


def _rejects_strings(site: Site) -> bool:
    node = site.node
    if site.is_reference or any(k in node for k in ("enum", "const", "pattern")):
        return True
    kind = node.get("type")
    return kind is not None and kind != "string"


# --- document surgery ---------------------------------------------------------------------------


def _put(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set ``path`` to ``value``, turning whatever is in the way into mappings."""
    target = document
    for part, child_key in itertools.pairwise(path):
        child = _get(target, (part,))
        if isinstance(child_key, str) and not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[path[-1]] = value


def _drop(document: Any, path: tuple[str | int, ...]) -> None:
    target = document
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]


def _dump(draw: st.DrawFn, document: Any, raw: dict[str, str]) -> bytes:
    """YAML in a drawn style; each ``raw`` placeholder becomes its verbatim YAML text."""
    style = draw(st.sampled_from([False, True, None]))
    width = draw(st.sampled_from([80, 1 << 30]))
    text = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=style, width=width
    )
    for placeholder, verbatim in raw.items():
        text = text.replace(placeholder, verbatim)
    return text.encode("utf-8")


def _flow(
    value: Any, duplicate: tuple[tuple[str | int, ...], Any] | None, here: tuple[Any, ...] = ()
) -> str:
    """JSON-style flow YAML, with one key written twice at ``duplicate``'s path."""
    if isinstance(value, dict):
        pairs = [
            f"{json.dumps(k, ensure_ascii=False)}: {_flow(v, duplicate, (*here, k))}"
            for k, v in value.items()
        ]
        if duplicate is not None and duplicate[0][:-1] == here:
            key = duplicate[0][-1]
            pairs.append(f"{json.dumps(key)}: {json.dumps(duplicate[1], ensure_ascii=False)}")
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v, duplicate, (*here, i)) for i, v in enumerate(value)) + "]"
    return json.dumps(value, ensure_ascii=False)


def _deep_shape(draw: st.DrawFn, max_depth: int) -> list[bool]:
    """Which levels are lists (else mappings): a short drawn pattern repeated to a drawn depth."""
    depth = draw(st.integers(1, min(max_depth, 60)) | st.integers(min(max_depth, 200), max_depth))
    pattern = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    return [pattern[i % len(pattern)] for i in range(depth)]


def _deep(shape: list[bool], leaf: Any) -> Any:
    for as_list in shape:
        leaf = [leaf] if as_list else {"junk": leaf}
    return leaf


def _deep_text(shape: list[bool], leaf: str) -> str:
    """The same nesting as flow YAML text, built without recursion (PyYAML's dumper recurses)."""
    text = json.dumps(leaf)
    for as_list in shape:
        text = f"[{text}]" if as_list else f'{{"junk": {text}}}'
    return text


@dataclass(frozen=True)
class BadFile:
    """A generated stack file that breaks at least one rule, and the secret it hides."""

    kind: str
    content: bytes
    token: str

    def __repr__(self) -> str:
        shown = self.content if len(self.content) <= 800 else self.content[:800] + b"..."
        return f"BadFile(kind={self.kind!r}, token={self.token!r}, {len(self.content)} bytes: {shown!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def _pick(draw: st.DrawFn, document: dict[str, Any], where: Callable[[Site], bool]) -> Site:
    found = [s for s in _stack_sites(document) if where(s)]
    if not found:
        # An earlier mutation destroyed every endpoint; break a fresh one instead.
        _add_endpoint(draw, document, draw(st.sampled_from(PAIRS)))
        found = [s for s in _stack_sites(document) if where(s)]
    return draw(st.sampled_from(found))


def _add_endpoint(
    draw: st.DrawFn, document: dict[str, Any], pair: tuple[str, str]
) -> dict[str, Any]:
    if not isinstance(document.get("endpoints"), list):
        document["endpoints"] = []
    taken = {e.get("inference_id") for e in document["endpoints"] if isinstance(e, dict)}
    entry: dict[str, Any] = copy.deepcopy(draw(_ENDPOINT_IN_STACK[PAIRS.index(pair)]))
    entry["inference_id"] = next(f"added-{i}" for i in range(100) if f"added-{i}" not in taken)
    document["endpoints"].append(entry)
    return entry


def _m_invalid_value(draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]) -> None:
    site = _pick(draw, doc, lambda s: bool(s.path))
    _put(doc, site.path, draw(invalid(site, token, stack=True)))


def _m_missing_required(
    draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]
) -> None:
    del token
    candidates = []
    for site in [Site((), STACK_SCHEMA, STACK_RESOLVER, False), *_stack_sites(doc)]:
        container = _get(doc, site.path)
        if isinstance(container, dict):
            candidates += [(*site.path, k) for k in site.node.get("required", ()) if k in container]
    if candidates:
        _drop(doc, draw(st.sampled_from(candidates)))
    else:
        _add_endpoint(draw, doc, draw(st.sampled_from(PAIRS))).pop("service_settings")


def _get(document: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            document = document[part]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def _m_unknown_key(draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]) -> None:
    objects = [
        s
        for s in [Site((), STACK_SCHEMA, STACK_RESOLVER, False), *_stack_sites(doc)]
        if s.node.get("type") == "object" and s.node.get("additionalProperties") is False
    ]
    site = draw(st.sampled_from(objects))
    name = draw(_KEY_NAMES.map(lambda k: f"x_{k}") | st.text(_NON_ASCII, min_size=1, max_size=6))
    value = draw(
        st.sampled_from([token, [token], {"value": token}, f"https://x.test/?key={token}"])
    )
    _put(doc, (*site.path, name), value)


_BAD_CHUNKING: list[Callable[[int], dict[str, Any]]] = [
    lambda n: {"strategy": "word", "max_chunk_size": max(n, 10), "overlap": max(n, 10) // 2 + 1},
    lambda n: {
        "strategy": "recursive",
        "max_chunk_size": max(n, 10),
        "separator_group": "markdown",
        "separators": ["\n"],
    },
    lambda n: {"strategy": "sentence", "max_chunk_size": max(n, 20), "overlap": 1},
    lambda n: {"strategy": "sentence", "max_chunk_size": max(n, 20), "sentence_overlap": 2},
    lambda n: {"strategy": "sentence", "max_chunk_size": 19},
    lambda n: {"strategy": "sentence"},
    lambda n: {"strategy": "word", "max_chunk_size": max(n, 10)},
    lambda n: {"strategy": "word", "max_chunk_size": 9, "overlap": 1},
    lambda n: {"strategy": "recursive", "max_chunk_size": max(n, 10), "separators": []},
    lambda n: {"strategy": "recursive", "max_chunk_size": max(n, 10), "separators": [""]},
    lambda n: {"strategy": "recursive", "max_chunk_size": max(n, 10), "separator_group": "html"},
    lambda n: {"strategy": "none", "max_chunk_size": n},
    lambda n: {"strategy": "paragraph", "max_chunk_size": n},
    lambda n: {"max_chunk_size": n},
]


def _m_bad_chunking(draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]) -> None:
    del token
    entry = _add_endpoint(draw, doc, ("hugging_face", "text_embedding"))
    entry["chunking_settings"] = draw(st.sampled_from(_BAD_CHUNKING))(draw(st.integers(10, 500)))


def _m_literal_secret(
    draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]
) -> None:
    site = _pick(draw, doc, lambda s: s.is_reference and bool(s.path))
    _put(doc, site.path, draw(st.sampled_from([token, f"Bearer {token}", f" {token} "])))


def _m_malformed_reference(
    draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]
) -> None:
    site = _pick(draw, doc, lambda s: s.is_reference and bool(s.path))
    _put(doc, site.path, draw(malformed_references(token)))


def _m_secret_in_settings(
    draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]
) -> None:
    site = _pick(draw, doc, lambda s: "service_settings" in s.path[2:3] and len(s.path) > 3)
    _put(doc, site.path, draw(invalid(site, token, stack=True)))


def _m_secret_in_url(draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]) -> None:
    bad = draw(
        st.sampled_from(
            [
                f"ftp://elastic:{token}@127.0.0.1:9200",
                f"http://127.0.0.1:9200/?api_key={token} x",
                f"127.0.0.1:9200?token={token}",
                f"https:// user:{token}@host",
            ]
        )
    )
    urls = [s for s in _stack_sites(doc) if s.node.get("pattern") == URL_PATTERN and s.path]
    urls.append(Site(("elasticsearch", "endpoints", 0), {}, STACK_RESOLVER, True))
    site = draw(st.sampled_from(urls))
    if site.path[:2] == ("elasticsearch", "endpoints"):
        es = doc.setdefault("elasticsearch", {})
        es["endpoints"] = [bad, *es.get("endpoints", [])[1:]]
    else:
        _put(doc, site.path, bad)


def _m_deep_junk(draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]) -> None:
    site = _pick(draw, doc, lambda s: bool(s.path))
    placeholder = f"deep_junk_{len(raw)}_here"
    raw[placeholder] = _deep_text(_deep_shape(draw, 1000), token if site.secret else "junk")
    _put(doc, site.path, placeholder)


def _m_huge_string(draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]) -> None:
    site = _pick(draw, doc, lambda s: bool(s.path) and _rejects_strings(s))
    size = draw(st.integers(20_000, 200_000))
    huge = draw(st.sampled_from("aé語")) * size + " " + (token if site.secret else "")
    _put(doc, site.path, huge)


def _m_unicode(draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]) -> None:
    site = _pick(draw, doc, lambda s: bool(s.path) and _rejects_strings(s))
    text = draw(st.text(_NON_ASCII, min_size=1, max_size=20))
    _put(doc, site.path, f"{text} {token}" if site.secret else text)


def _m_yaml_only_values(
    draw: st.DrawFn, doc: dict[str, Any], token: str, raw: dict[str, str]
) -> None:
    site = _pick(draw, doc, lambda s: bool(s.path))
    value = draw(
        st.sampled_from(
            [
                datetime.date(2024, 2, 29),
                datetime.datetime(2024, 2, 29, 12, 0, tzinfo=datetime.timezone.utc),
                token.encode(),
                {token} if site.secret else {"a", "b"},
                {1: token if site.secret else "x"},
                {None: "x", "key": "y"},
                {True: "x"},
                {1.5: "x", "b": "y"},
            ]
        )
    )
    _put(doc, site.path, value)


_DOCUMENT_MUTATIONS: dict[str, Callable[[st.DrawFn, dict[str, Any], str, dict[str, str]], None]] = {
    "invalid value": _m_invalid_value,
    "missing required field": _m_missing_required,
    "unknown key": _m_unknown_key,
    "bad chunking combination": _m_bad_chunking,
    "literal secret": _m_literal_secret,
    "malformed secret reference": _m_malformed_reference,
    "secret in service_settings value": _m_secret_in_settings,
    "secret in a url": _m_secret_in_url,
    "deeply nested junk": _m_deep_junk,
    "huge string": _m_huge_string,
    "unicode": _m_unicode,
    "YAML-only value or key": _m_yaml_only_values,
}


def _t_broken_yaml(draw: st.DrawFn, doc: dict[str, Any], token: str) -> bytes:
    lines = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).splitlines()
    fragment = draw(
        st.sampled_from(
            [
                f"\tapi_key: {token}",
                f"api_key: '{token}",
                f'api_key: "{token}',
                f"api_key: [{token}",
                f"api_key: {{{token}",
                f"{token}: x: y",
                f'api_key: "bad \\q {token}"',
                f"api_key: @{token}",
                f"api_key: `{token}",
                f"--- {token}\n...",
                "  - : :",
                "]",
            ]
        )
    )
    at = draw(st.integers(0, len(lines)))
    indent = draw(st.sampled_from(["", "  ", "    ", " "]))
    text = "\n".join([*lines[:at], indent + fragment, *lines[at:]]) + "\n"
    return text.encode("utf-8")


def _t_secret_as_alias_or_tag(draw: st.DrawFn, doc: dict[str, Any], token: str) -> bytes:
    """A secret written unquoted where YAML reads ``*x`` as an alias and ``!x`` as a tag."""
    site = _pick(draw, doc, lambda s: s.is_reference and bool(s.path))
    _put(doc, site.path, "__SECRET_GOES_HERE__")
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    written = draw(st.sampled_from([f"*{token}", f"!{token}", f"!!{token} x"]))
    return text.replace("__SECRET_GOES_HERE__", written).encode("utf-8")


def _t_duplicate_key(draw: st.DrawFn, doc: dict[str, Any], token: str) -> bytes:
    mappings: list[tuple[tuple[str | int, ...], list[str]]] = [((), list(doc))]
    for index, entry in enumerate(doc["endpoints"]):
        mappings.append((("endpoints", index), list(entry)))
        mappings.append((("endpoints", index, "service_settings"), list(entry["service_settings"])))
    if doc.get("elasticsearch"):
        mappings.append((("elasticsearch",), list(doc["elasticsearch"])))
    path, keys = draw(st.sampled_from(mappings))
    key = draw(st.sampled_from(keys))
    value = token if "service_settings" in path or key in ("api_key", "password") else "again"
    return (_flow(doc, ((*path, key), value)) + "\n").encode("utf-8")


def _t_non_mapping(draw: st.DrawFn, doc: dict[str, Any], token: str) -> bytes:
    del doc
    value = draw(
        st.one_of(
            st.lists(st.sampled_from([token, 1, None, {"api_key": token}]), max_size=3),
            st.just(token),
            st.integers(),
            st.floats(allow_nan=False),
            st.booleans(),
            st.none(),
        )
    )
    if draw(st.booleans()):
        return yaml.safe_dump(value, allow_unicode=True).encode("utf-8")
    return draw(st.sampled_from([b"", b"# only a comment\n", b"---\n", b"...\n", b"\n\n"]))


def _t_not_utf8(draw: st.DrawFn, doc: dict[str, Any], token: str) -> bytes:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) + f"# {token} é\n"
    encoding = draw(st.sampled_from(["latin-1", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace") + b"\xff"


_TEXT_MUTATIONS: dict[str, Callable[[st.DrawFn, dict[str, Any], str], bytes]] = {
    "broken YAML": _t_broken_yaml,
    "secret read as a YAML alias or tag": _t_secret_as_alias_or_tag,
    "duplicate key": _t_duplicate_key,
    "non-mapping document": _t_non_mapping,
    "not UTF-8": _t_not_utf8,
}
# Hypothesis draws early entries more often, so the kinds alternate between families.
STACK_FILE_KINDS = [
    "invalid value",
    "literal secret",
    "broken YAML",
    "malformed secret reference",
    "secret in a url",
    "duplicate key",
    "unknown key",
    "secret read as a YAML alias or tag",
    "missing required field",
    "non-mapping document",
    "bad chunking combination",
    "deeply nested junk",
    "YAML-only value or key",
    "huge string",
    "unicode",
    "not UTF-8",
    "secret in service_settings value",
    "several at once",
]
assert set(STACK_FILE_KINDS) == {*_DOCUMENT_MUTATIONS, "several at once", *_TEXT_MUTATIONS}


@st.composite
def invalid_stack_files(draw: st.DrawFn) -> BadFile:
    """A stack file broken in one of ``STACK_FILE_KINDS`` ways, hiding a random secret token."""
    token = draw(tokens)
    kind = draw(st.sampled_from(STACK_FILE_KINDS))
    doc = copy.deepcopy(draw(valid_stacks(min_endpoints=1, max_endpoints=3)))
    if kind in _TEXT_MUTATIONS:
        content = _TEXT_MUTATIONS[kind](draw, doc, token)
        if kind == "broken YAML":
            try:
                yaml.safe_load(content)
            except yaml.YAMLError:
                pass
            else:
                # A fragment that happens to parse is still wrong for the schema; keep it honest.
                content += f"x_unknown_{token[-4:].lower()}: {token}\n".encode()
        return BadFile(kind, content, token)
    names = (
        draw(st.lists(st.sampled_from(list(_DOCUMENT_MUTATIONS)), min_size=2, max_size=3))
        if kind == "several at once"
        else [kind]
    )
    raw: dict[str, str] = {}
    for name in names:
        _DOCUMENT_MUTATIONS[name](draw, doc, token, raw)
    return BadFile(kind, _dump(draw, doc, raw), token)


# --- provider inputs ----------------------------------------------------------------------------

_INPUT_KINDS = [
    "invalid value",
    "missing required field",
    "unknown nested key",
    "bad chunking combination",
    "deeply nested junk",
    "huge string",
    "unicode",
    "unknown service or task type",
    "several at once",
]


def _input_sites(inputs: dict[str, Any]) -> list[Site]:
    return endpoint_sites((inputs["service"], inputs["task_type"]))[1:]


def _i_invalid_value(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    site = draw(st.sampled_from(_input_sites(inputs)))
    _put(inputs, site.path, draw(invalid(site, token, stack=False)))


def _i_missing_required(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    del token
    candidates = []
    for site in endpoint_sites((inputs["service"], inputs["task_type"])):
        container = _get(inputs, site.path)
        if isinstance(container, dict):
            candidates += [(*site.path, k) for k in site.node.get("required", ()) if k in container]
    path = draw(st.sampled_from(candidates))
    if path in (("service",), ("task_type",)):
        inputs.pop(path[0])
        return
    _drop(inputs, path)


def _i_unknown_key(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    objects = [
        s
        for s in _input_sites(inputs)
        if s.node.get("type") == "object" and s.node.get("additionalProperties") is False
    ]
    site = draw(st.sampled_from(objects))
    name = draw(_KEY_NAMES.map(lambda k: f"x_{k}") | st.text(_NON_ASCII, min_size=1, max_size=6))
    _put(inputs, (*site.path, name), draw(st.sampled_from([token, [token], {"v": token}])))


def _i_bad_chunking(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    del token
    inputs["task_type"] = "text_embedding"
    inputs.pop("task_settings", None)
    if isinstance(inputs.get("service_settings"), dict):
        inputs["service_settings"].pop("model_id", None)
    inputs["chunking_settings"] = draw(st.sampled_from(_BAD_CHUNKING))(draw(st.integers(10, 500)))


def _i_deep_junk(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    site = draw(st.sampled_from(_input_sites(inputs)))
    # Pulumi's protobuf Struct allows 100 levels; each list or map level takes two.
    _put(inputs, site.path, _deep(_deep_shape(draw, 30), token if site.secret else "junk"))


def _i_huge_string(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    sites = [s for s in _input_sites(inputs) if _rejects_strings(s) and not s.is_reference]
    site = draw(st.sampled_from(sites))
    size = draw(st.integers(20_000, 200_000))
    huge = draw(st.sampled_from("aé語")) * size + " " + (token if site.secret else "")
    _put(inputs, site.path, huge)


def _i_unicode(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    sites = [s for s in _input_sites(inputs) if _rejects_strings(s) and not s.is_reference]
    site = draw(st.sampled_from(sites))
    text = draw(st.text(_NON_ASCII, min_size=1, max_size=20))
    _put(inputs, site.path, f"{text} {token}" if site.secret else text)


def _i_unknown_pair(draw: st.DrawFn, inputs: dict[str, Any], token: str) -> None:
    del token
    field = draw(st.sampled_from(["service", "task_type"]))
    inputs[field] = draw(st.sampled_from(["watsonxai", "embedding", "", "é", 7, None]))


_INPUT_MUTATIONS: dict[str, Callable[[st.DrawFn, dict[str, Any], str], None]] = {
    "invalid value": _i_invalid_value,
    "missing required field": _i_missing_required,
    "unknown nested key": _i_unknown_key,
    "bad chunking combination": _i_bad_chunking,
    "deeply nested junk": _i_deep_junk,
    "huge string": _i_huge_string,
    "unicode": _i_unicode,
    "unknown service or task type": _i_unknown_pair,
}


@dataclass(frozen=True)
class BadInputs:
    """Provider inputs for one endpoint that break at least one rule, and the api_key they hold."""

    kind: str
    inputs: dict[str, Any]
    token: str

    def __repr__(self) -> str:
        shown = repr(self.inputs)
        shown = shown if len(shown) <= 800 else shown[:800] + "..."
        return f"BadInputs(kind={self.kind!r}, token={self.token!r}, inputs={shown})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@st.composite
def invalid_inputs(draw: st.DrawFn) -> BadInputs:
    """Inputs broken in one of ``_INPUT_KINDS`` ways; the api_key (a literal here) is the token."""
    token = draw(tokens)
    kind = draw(st.sampled_from(_INPUT_KINDS))
    inputs = copy.deepcopy(draw(valid_inputs(token)))
    names = (
        draw(st.lists(st.sampled_from(list(_INPUT_MUTATIONS)[:-1]), min_size=2, max_size=3))
        if kind == "several at once"
        else [kind]
    )
    for name in names:
        if {"service", "task_type"} <= set(inputs) and SCHEMAS.endpoint(
            str(inputs["service"]), str(inputs["task_type"])
        ):
            _INPUT_MUTATIONS[name](draw, inputs, token)
    return BadInputs(kind, inputs, token)
