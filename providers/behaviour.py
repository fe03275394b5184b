"""The Elasticsearch behaviour matrix (``behaviour/elasticsearch.yaml``): which rule holds where.

Each rule names the version ranges where Elasticsearch behaves that way and where that was read.
The provider asks ``acts_on`` (the safe range when a boundary is unconfirmed); ``holds`` is the
best reading of the sources, which the emulator's gates are tested against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from providers.errors import SchemaError
from providers.versions import Version

__all__ = ["Behaviour", "Rule", "VersionRange", "load_behaviour"]

_FILE = "elasticsearch.yaml"


@dataclass(frozen=True)
class VersionRange:
    """Versions ``start <= v < before`` (``before`` None: no upper end)."""

    start: Version
    before: Version | None

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, Version):
            return False
        return self.start <= version and (self.before is None or version < self.before)

    def __str__(self) -> str:
        if self.before is None:
            return f"{self.start}+"
        return f"{self.start} to before {self.before}"


@dataclass(frozen=True)
class Rule:
    """One row of the matrix."""

    id: str
    rule: str
    holds: tuple[VersionRange, ...]
    confirmed: bool
    sources: tuple[str, ...]
    checked: str = ""
    provider_holds: tuple[VersionRange, ...] | None = None
    service: str | None = None
    task_types: tuple[str, ...] | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def holds_on(self, version: Version) -> bool:
        """Whether the sources' best reading places ``version`` inside the rule."""
        return any(version in r for r in self.holds)

    def acts_on(self, version: Version) -> bool:
        """Whether the provider treats the rule as holding on ``version`` (the safe side)."""
        ranges = self.provider_holds if self.provider_holds is not None else self.holds
        return any(version in r for r in ranges)

    def applies_to(self, service: str | None, task_type: str | None) -> bool:
        """Whether the rule's scope covers endpoints of this service and task type."""
        if self.service is not None and service != self.service:
            return False
        return self.task_types is None or task_type in self.task_types

    def cite(self) -> str:
        """The rule's first source, for messages (e.g. ``elastic/elasticsearch#139574``)."""
        return self.sources[0].split(" ")[0]


@dataclass(frozen=True)
class Behaviour:
    """Every rule of the matrix, by id."""

    rules: Mapping[str, Rule]

    def rule(self, rule_id: str) -> Rule:
        """The rule named ``rule_id``; a missing one is our bug."""
        try:
            return self.rules[rule_id]
        except KeyError:
            raise SchemaError(f"behaviour/{_FILE}: no rule {rule_id!r}") from None

    def acts(
        self,
        rule_id: str,
        version: Version | None,
        service: str | None = None,
        task_type: str | None = None,
    ) -> bool:
        """Whether the provider must act as if the rule holds (an unknown version: it does not)."""
        found = self.rule(rule_id)
        if version is None or not found.applies_to(service, task_type):
            return False
        return found.acts_on(version)


def _ranges(raw: object, where: str) -> tuple[VersionRange, ...]:
    if not isinstance(raw, list) or not raw:
        raise SchemaError(f"{where}: must be a non-empty list of [from, before] pairs")
    out = []
    for pair in raw:
        if not isinstance(pair, list) or len(pair) != 2 or pair[0] is None:
            raise SchemaError(f"{where}: {pair!r} is not a [from, before] pair")
        try:
            start = Version.parse(str(pair[0]))
            before = None if pair[1] is None else Version.parse(str(pair[1]))
        except ValueError as exc:
            raise SchemaError(f"{where}: {exc}") from None
        if before is not None and before <= start:
            raise SchemaError(f"{where}: {pair!r} is empty")
        out.append(VersionRange(start, before))
    return tuple(out)


def _rule(rule_id: str, raw: object) -> Rule:
    where = f"behaviour/{_FILE}: rules.{rule_id}"
    if not isinstance(raw, dict):
        raise SchemaError(f"{where}: must be a mapping")
    unknown = set(raw) - {
        "rule",
        "scope",
        "holds",
        "provider_holds",
        "confirmed",
        "checked",
        "sources",
        "data",
    }
    if unknown:
        raise SchemaError(f"{where}: unknown keys {sorted(unknown)}")
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise SchemaError(f"{where}.sources: every rule cites at least one source")
    confirmed = raw.get("confirmed")
    if not isinstance(confirmed, bool):
        raise SchemaError(f"{where}.confirmed: must be true or false")
    checked = str(raw.get("checked") or "")
    if not confirmed and not checked:
        raise SchemaError(f"{where}.checked: an unconfirmed rule says what was checked")
    scope = raw.get("scope") or {}
    task_types = scope.get("task_types")
    provider = raw.get("provider_holds")
    return Rule(
        id=rule_id,
        rule=str(raw.get("rule") or ""),
        holds=_ranges(raw.get("holds"), f"{where}.holds"),
        confirmed=confirmed,
        sources=tuple(sources),
        checked=checked,
        provider_holds=None if provider is None else _ranges(provider, f"{where}.provider_holds"),
        service=scope.get("service"),
        task_types=None if task_types is None else tuple(task_types),
        data=dict(raw.get("data") or {}),
    )


def _default_file() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "behaviour" / _FILE, here / "_behaviour" / _FILE):
        if candidate.is_file():
            return candidate
    raise SchemaError(f"no behaviour/{_FILE} next to {here} (looked for ../behaviour, _behaviour)")


@cache
def load_behaviour(path: str | None = None) -> Behaviour:
    """The matrix (``behaviour/`` in a checkout, ``providers/_behaviour`` in a wheel)."""
    import yaml  # only here: importing the provider's modules stays free of YAML

    source = Path(path) if path else _default_file()
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("version") != 1:
        raise SchemaError(f"{source}: expected a mapping with version: 1")
    rules = document.get("rules")
    if not isinstance(rules, dict):
        raise SchemaError(f"{source}: rules must be a mapping")
    return Behaviour({str(k): _rule(str(k), v) for k, v in rules.items()})
