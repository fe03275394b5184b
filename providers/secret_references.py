"""Secret references, ``{secret: <Pulumi config key>}`` and ``{env: <VARIABLE>}``, in one place.

A stack file never holds a secret's value, only where it lives. This module parses a reference
from the YAML, says what is wrong with a value written where a secret belongs, and resolves a
reference to its value (Pulumi config, or the environment) with one error and one wording, for
the program (endpoint secrets) and the provider (connection credentials) alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from providers.errors import SecretNotSet

__all__ = [
    "MALFORMED",
    "ConfigSource",
    "SecretReference",
    "literal_secret",
    "parse_reference",
]

MALFORMED = "must be {secret: <config key>} or {env: <VARIABLE>}"


class ConfigSource(Protocol):
    """Pulumi config by full key (``namespace:name``): a dict, the provider's ``Config``, or the
    program's config."""

    def get(self, key: str, /) -> Any:
        """The value of ``key``, or None."""


@dataclass(frozen=True)
class SecretReference:
    """Where a secret's value lives: a Pulumi config secret or an environment variable."""

    kind: Literal["secret", "env"]
    name: str

    def config_key(self, project: str) -> str:
        """The full Pulumi config key: ``name`` if namespaced, else ``<project>:<name>``."""
        return self.name if ":" in self.name else f"{project}:{self.name}"

    def resolve(
        self, where: str, *, config: ConfigSource, env: Mapping[str, str], project: str
    ) -> str:
        """The secret's value; an empty value counts as not set (raises SecretNotSet)."""
        if self.kind == "env":
            value = env.get(self.name)
            if not value:
                raise SecretNotSet.variable(where, self.name)
            return value
        key = self.config_key(project)
        found = config.get(key)
        if found in (None, ""):
            raise SecretNotSet.config_secret(where, key)
        return str(found)


def parse_reference(raw: object) -> SecretReference | None:
    """The reference ``raw`` spells (one key, ``secret`` or ``env``, naming a string), or None."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((kind, name),) = raw.items()
        if kind in ("secret", "env") and isinstance(name, str):
            return SecretReference("secret" if kind == "secret" else "env", name)
    return None


def literal_secret(field: object) -> str:
    """The problem of a secret's value written in a stack file, for the field named ``field``."""
    return (
        "a secret must not be written in a stack file; reference it as {secret: <config key>} "
        f"(pulumi config set --secret <config key> <{field}>) or {{env: <VARIABLE>}}"
    )
