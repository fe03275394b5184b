"""The declared endpoint, its lifecycle rules, and how desired and live state are compared. Pure.

Lifecycle (numbered as in docs/spec.md; test names cite them):

- L1  ``inference_id``, ``service`` and ``task_type`` identify an endpoint: a change replaces it.
- L2  ``service_settings`` fields replace the endpoint unless their schema says ``x-es-lifecycle``
      ``update`` (or ``{update_since}`` and the cluster is at least that version). Every field
      the plan classifies must carry ``x-es-lifecycle`` (the schema loader refuses one without).
- L3  A secret (``writeOnly``) such as ``api_key`` is immutable here: a change replaces the endpoint,
      unless the endpoint sets ``secret_rotation: update``: then ``_update`` rotates it in place.
- L4  ``task_settings`` update in place; Elasticsearch merges them, so removing a key replaces.
- L5  ``chunking_settings`` update in place where ``_update`` accepts them (behaviour rule
      ``update.chunking_settings_accepted``) and replace elsewhere; their defaults are filled in on
      both sides before comparing.
- L6  A field left out that has a schema ``default`` equals that default; a discovered field
      (``x-es-discovered``) left out is never a change. Server-filled values are never a diff.
- L7  ``force`` and ``secret_rotation`` are provider options: changing them touches no
      Elasticsearch API.
- L8  Replacement deletes first (``delete_before_replace``): one id cannot exist twice.
- L9  Where ``_update`` drops chunking (``update.chunking_reset``), an in-place update of an
      embedding endpoint whose chunking is not what the reset leaves is planned as what it is:
      chunking re-sent where ``_update`` accepts it, else a replace; the preview says why.
- L10 ``_update`` bodies with ``service_settings`` carry the secret again where Elasticsearch
      requires it (``update.secret_required_with_service_settings``).
- L11 A field marked ``x-es-discovered-with`` is filled in by Elasticsearch when one of the named
      fields is declared (an ``elasticsearch`` endpoint on a ``deployment_id``): left out, no change.
- L12 A field marked ``x-es-ignore-when`` is never a change while its group matches the pattern
      (``num_allocations`` under adaptive allocations: Elasticsearch moves it with the load).
- L13 Secrets of one ``x-es-secret-group`` are sent together by ``_update`` (an AWS key pair).
- L14 A field marked ``x-es-case-insensitive`` is compared without regard to case: Elasticsearch
      accepts it in any case and may show it in another (an enum it shows in upper case).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from providers.behaviour import load_behaviour
from providers.schema import EndpointSchema, FieldRule, Lifecycle
from providers.versions import Version

__all__ = [
    "IDENTITY",
    "OPTIONS",
    "Change",
    "Changes",
    "Plan",
    "chunking_lost_on_update",
    "effective_chunking",
    "options",
    "plain_numbers",
    "plan",
    "put_body",
    "reconcile",
    "update_body",
]

REPLACE = Lifecycle("replace")
IDENTITY = ("inference_id", "service", "task_type")
# Provider options: recorded in state, never sent to Elasticsearch; absent means the default.
OPTIONS: dict[str, Any] = {"force": False, "secret_rotation": "replace"}
_VALIDATES_UPDATES = "update.validation_call"
_CHUNKING_RESET = "update.chunking_reset"
_ACCEPTS_CHUNKING = "update.chunking_settings_accepted"
_SECRET_REQUIRED = "update.secret_required_with_service_settings"
_IN_PLACE = "Elasticsearch updates it in place"
_MISSING: Any = object()
_MOVED = (
    "the connection settings changed; run pulumi refresh to check the endpoint exists where "
    "they point"
)
Action = Literal["replace", "update", "state"]


@dataclass(frozen=True)
class Change:
    """One field that differs, what that forces, and why."""

    path: str
    action: Action
    reason: str


@dataclass(frozen=True)
class Changes:
    """Every field that differs between a resource's recorded state and its declaration."""

    changes: list[Change] = field(default_factory=list)

    @property
    def replaces(self) -> list[str]:
        """Fields whose change forces a replacement."""
        return [c.path for c in self.changes if c.action == "replace"]

    @property
    def updates(self) -> list[str]:
        """Fields the service can update in place."""
        return [c.path for c in self.changes if c.action == "update"]


@dataclass(frozen=True)
class Plan(Changes):
    """Everything that differs between an Elasticsearch endpoint's state and its declaration."""

    def describe(self, inference_id: str) -> str:
        """One line for the preview: what will happen to the endpoint, and which field says so."""
        if self.replaces:
            why = "; ".join(f"{c.path} ({c.reason})" for c in self.changes if c.action == "replace")
            return (
                f"{inference_id}: replace (delete, then re-create with the same id) because {why}"
            )
        if not self.updates:
            why = "; ".join(f"{c.path} ({c.reason})" for c in self.changes)
            return f"{inference_id}: update of the stack's state only: {why}"
        what = ", ".join(
            f"{c.path} ({c.reason})" if c.action == "update" and c.reason != _IN_PLACE else c.path
            for c in self.changes
        )
        return f"{inference_id}: update in place: {what}"


_PLAIN = frozenset({str, int, bool, type(None)})  # values plain_numbers returns as they are


def plain_numbers(value: Any) -> Any:
    """JSON-equal form: integral floats become ints, so 3000.0 equals 3000."""
    kind = type(value)  # the exact types first: every plan and reconcile walks all settings
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: v if type(v) in _PLAIN else plain_numbers(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_numbers(v) for v in value]
    return value


def effective_chunking(
    raw: Mapping[str, Any] | None, chunking_schema: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """chunking_settings as Elasticsearch stores them: defaults filled, separator groups expanded.

    ``chunking_schema`` is the chunking schema (its ``default`` and ``x-es-separator-groups``).
    """
    schema = chunking_schema or {}
    if raw is None:
        default = schema.get("default")
        return None if default is None else dict(default)
    chunking: dict[str, Any] = plain_numbers(dict(raw))
    strategy = chunking.get("strategy")
    if strategy == "sentence":
        chunking.setdefault("sentence_overlap", 1)
    elif strategy == "recursive" and "separators" not in chunking:
        group = str(chunking.pop("separator_group", "plaintext")).lower()
        chunking["separators"] = list(schema.get("x-es-separator-groups", {}).get(group, []))
    return chunking


def _lifecycle(rule: FieldRule | None) -> Lifecycle:
    # The schema loader requires x-es-lifecycle on every field the plan classifies (L2-L5); a
    # field no schema knows (check refuses it) is replaced, which always works.
    if rule is not None and rule.lifecycle is not None:
        return rule.lifecycle
    return REPLACE


def _rotate_in_place(path: str, version: Version | None) -> Change:
    reason = "secret_rotation: update rotates it in place with _update"
    if version is not None and not load_behaviour().acts(_VALIDATES_UPDATES, version):
        reason += f"; Elasticsearch {version} does not test the new value, so check it works"
    return Change(path, "update", reason)


def options(values: Mapping[str, Any]) -> dict[str, Any]:
    """The provider options of a declaration or of recorded outputs, defaults filled in."""
    return {name: values.get(name, default) for name, default in OPTIONS.items()}


def _classify(
    path: str,
    lifecycle: Lifecycle,
    version: Version | None,
    secret: bool,
    scope: tuple[str | None, str | None] = (None, None),
) -> Change:
    if lifecycle.kind == "replace":
        reason = (
            "a secret is immutable here: the endpoint is re-created with the new value"
            if secret
            else "Elasticsearch cannot change it in place"
        )
        if path in IDENTITY:
            reason = "it identifies the endpoint"
        return Change(path, "replace", reason)
    on = f"Elasticsearch {version}" if version else "this cluster (version not yet recorded)"
    since = lifecycle.update_since
    if since is not None and (version is None or version < since):
        return Change(path, "replace", f"{on} cannot update it in place; {since}+ can")
    rule_id = lifecycle.update_when
    if rule_id is not None and not load_behaviour().acts(rule_id, version, *scope):
        rule = load_behaviour().rule(rule_id)
        where = ", ".join(str(r) for r in rule.holds)
        return Change(path, "replace", f"{on} cannot update it in place ({rule.cite()}: {where})")
    return Change(path, "update", _IN_PLACE)


def chunking_lost_on_update(
    news: Mapping[str, Any], schema: EndpointSchema | None, version: Version | None
) -> str | None:
    """L9: why an ``_update`` of this endpoint would lose its declared chunking, or None.

    An unknown version is assumed to reset it; where ``_update`` accepts chunking it is re-sent.
    """
    if schema is None or schema.chunking is None:
        return None
    scope = (news.get("service"), news.get("task_type"))
    rule = load_behaviour().rule(_CHUNKING_RESET)
    if not rule.applies_to(*scope) or (version is not None and not rule.acts_on(version)):
        return None
    reset_to = dict(rule.data["reset_to"])
    if effective_chunking(news.get("chunking_settings"), schema.chunking) == reset_to:
        return None
    on = f"Elasticsearch {version}" if version else "this cluster (version not yet recorded)"
    return (
        f"{on} resets chunking_settings to {reset_to['strategy']}/{reset_to['max_chunk_size']}/"
        f"{reset_to['overlap']} on every _update ({rule.cite()})"
    )


def _chunking_reset(
    changes: list[Change],
    news: Mapping[str, Any],
    schema: EndpointSchema,
    version: Version | None,
) -> list[Change]:
    """L9: where ``_update`` drops chunking, say what an in-place update really does."""
    in_place = [c.path for c in changes if c.action == "update"]
    replaced = any(c.action == "replace" for c in changes)
    why = None if not in_place or replaced else chunking_lost_on_update(news, schema, version)
    if why is None:
        return changes
    scope = (news.get("service"), news.get("task_type"))
    if load_behaviour().acts(_ACCEPTS_CHUNKING, version, *scope):
        kept = [c for c in changes if c.path != "chunking_settings"]
        return [*kept, Change("chunking_settings", "update", f"re-sent: {why}")]
    return [
        *changes,
        Change(
            "chunking_settings",
            "replace",
            f"{why}, so the in-place change of {', '.join(in_place)} re-creates the endpoint",
        ),
    ]


def plan(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    schema: EndpointSchema | None,
    version: Version | None,
    is_unknown: Callable[[object], bool] = lambda _: False,
) -> Plan:
    """Compare the recorded outputs (``olds``) with the declared inputs (``news``).

    A different pickled provider (``__provider``: new connection settings) is a state change.
    """
    changes: list[Change] = []
    rules = schema.rules if schema is not None else {}
    scope = (news.get("service"), news.get("task_type"))
    recorded, declared = options(olds), options(news)
    for key in IDENTITY:
        if is_unknown(news.get(key)) or olds.get(key) != news.get(key):
            changes.append(_classify(key, REPLACE, version, False))
    if changes:
        return Plan(changes)

    for group in ("service_settings", "task_settings"):
        desired = news.get(group)
        if is_unknown(desired):
            lifecycle = _lifecycle(rules.get((group,)))
            changes.append(_classify(group, lifecycle, version, False, scope))
            continue
        desired, actual = plain_numbers(desired or {}), plain_numbers(olds.get(group) or {})
        for name in sorted(set(desired) | set(actual)):
            rule = rules.get((group, name))
            want, have = desired.get(name, _MISSING), actual.get(name, _MISSING)
            if rule is not None and want is _MISSING and rule.is_discovered(desired):
                continue
            if rule is not None and (rule.is_ignored(desired) or rule.is_ignored(actual)):
                continue
            if rule is not None and rule.has_default:
                want = rule.default if want is _MISSING else want
                have = rule.default if have is _MISSING else have
            same = rule.same(want, have) if rule is not None else want == have
            if not is_unknown(want) and same:
                continue
            path = f"{group}.{name}"
            secret = rule is not None and rule.secret
            if secret and want is not _MISSING and declared["secret_rotation"] == "update":
                changes.append(_rotate_in_place(path, version))
            elif want is _MISSING and group == "task_settings":
                reason = "Elasticsearch merges task_settings, so a removed key needs a new endpoint"
                changes.append(Change(path, "replace", reason))
            elif want is _MISSING:
                changes.append(Change(path, "replace", "removing it needs a new endpoint"))
            else:
                changes.append(_classify(path, _lifecycle(rule), version, secret, scope))

    if schema is not None and schema.chunking is not None:
        raw = news.get("chunking_settings")
        chunking_rule = rules.get(("chunking_settings",))
        if is_unknown(raw) or effective_chunking(raw, schema.chunking) != effective_chunking(
            olds.get("chunking_settings"), schema.chunking
        ):
            lifecycle = _lifecycle(chunking_rule)
            changes.append(_classify("chunking_settings", lifecycle, version, False, scope))
        changes = _chunking_reset(changes, news, schema, version)

    for name in OPTIONS:
        if recorded[name] != declared[name]:
            changes.append(Change(name, "state", "recorded in the stack's state only"))
    if olds.get("__provider") != news.get("__provider") and not any(
        c.action == "replace" for c in changes
    ):
        # Refresh and destroy use the provider recorded in the outputs; record the new one.
        changes.append(Change("elasticsearch", "state", _MOVED))
    return Plan(changes)


def put_body(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The body of ``PUT /_inference/{task_type}/{id}`` for the declared endpoint."""
    body: dict[str, Any] = {
        "service": inputs["service"],
        "service_settings": plain_numbers(dict(inputs["service_settings"])),
    }
    for optional in ("task_settings", "chunking_settings"):
        if inputs.get(optional):
            body[optional] = plain_numbers(dict(inputs[optional]))
    return body


def update_body(
    change_plan: Plan,
    news: Mapping[str, Any],
    schema: EndpointSchema | None,
    version: Version | None = None,
) -> dict[str, Any]:
    """The body of ``PUT .../_update`` for the in-place part of a plan (never ``service``).

    With ``service_settings`` it carries the secrets again where the version requires it (L10;
    an unknown version is assumed to).
    """
    body: dict[str, Any] = {}
    for change in change_plan.changes:
        if change.action != "update":
            continue
        group, _, name = change.path.partition(".")
        if group == "chunking_settings":
            chunking = schema.chunking if schema is not None else None
            body["chunking_settings"] = effective_chunking(news.get("chunking_settings"), chunking)
        elif group == "task_settings":
            body["task_settings"] = plain_numbers(dict(news.get("task_settings") or {}))
        elif name:
            # Drift on a field left to its default is repaired by sending the default.
            rule = schema.rules.get(("service_settings", name)) if schema is not None else None
            declared = news.get("service_settings") or {}
            value = declared.get(name, rule.default if rule else None)
            settings = body.setdefault("service_settings", {})
            settings[name] = plain_numbers(value)
            if rule is not None and rule.secret_group is not None and schema is not None:
                # Elasticsearch takes a group of secrets (an AWS key pair) only all together.
                for path, other in schema.rules.items():
                    member = str(path[-1])
                    if other.secret_group == rule.secret_group and member in declared:
                        settings[member] = declared[member]
    settings = body.get("service_settings")
    if settings and schema is not None and _secret_required(version):
        declared = news.get("service_settings") or {}
        for path in schema.secret_paths:
            if len(path) == 2 and path[0] == "service_settings" and declared.get(path[1]):
                settings.setdefault(str(path[1]), declared[path[1]])
    return body


def _secret_required(version: Version | None) -> bool:
    return version is None or load_behaviour().acts(_SECRET_REQUIRED, version)


def reconcile(
    prior: Mapping[str, Any],
    live: Mapping[str, Any],
    schema: EndpointSchema | None,
    version: Version,
) -> dict[str, Any]:
    """The outputs to record: what Elasticsearch has, plus what it never returns (secrets).

    ``prior`` is the declaration (after a write) or the previous outputs (on refresh).
    """
    service_settings = plain_numbers(dict(live.get("service_settings") or {}))
    # Elasticsearch never returns a secret, so keep the value this stack last wrote.
    for path in schema.secret_paths if schema is not None else []:
        group, name = str(path[0]), str(path[-1])
        value = (prior.get(group) or {}).get(name) if len(path) == 2 else None
        if group == "service_settings" and value is not None:
            service_settings[name] = value
    outs: dict[str, Any] = {
        "inference_id": live.get("inference_id", prior.get("inference_id")),
        "task_type": live.get("task_type", prior.get("task_type")),
        "service": live.get("service", prior.get("service")),
        "service_settings": service_settings,
        **options(prior),
        "elasticsearch_version": str(version),
    }
    if live.get("task_settings"):
        outs["task_settings"] = plain_numbers(dict(live["task_settings"]))
    if live.get("chunking_settings") is not None:
        outs["chunking_settings"] = plain_numbers(dict(live["chunking_settings"]))
    return outs
