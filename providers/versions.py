"""Elasticsearch version numbers and the per-major "since" gates used by the schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["Version", "supports"]

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


class Version(NamedTuple):
    """A released Elasticsearch version, ordered numerically."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``9.1.0`` (a ``-SNAPSHOT``-style suffix is ignored); raise ValueError otherwise."""
        match = _VERSION.match(text.strip())
        if not match:
            raise ValueError(f"not an Elasticsearch version: {text!r}")
        return cls(int(match[1]), int(match[2]), int(match[3]))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def supports(version: Version, since: Iterable[str]) -> bool:
    """Whether ``version`` has a feature first released in ``since`` (one entry per major line).

    ``["8.19.0", "9.1.0"]`` means 8.19+ on the 8.x line and 9.1+ on 9.x; a later major has it too,
    an earlier one does not.
    """
    gates = sorted(Version.parse(s) for s in since)
    if not gates:
        return True
    same_major = [g for g in gates if g.major == version.major]
    if same_major:
        return version >= same_major[0]
    return version.major > gates[-1].major
