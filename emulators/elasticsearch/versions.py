"""Elasticsearch versions the emulator can impersonate, and the feature gates that depend on them.

ES ships features to the 8.x and 9.x lines separately (8.19 and 9.1 are siblings; 9.0 predates
8.19), so each gate names the first version on each line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "CHUNKING",
    "CHUNKING_NONE_AND_RECURSIVE",
    "CHUNK_SIZE_CAP_REMOVED",
    "CONFIGURATION_WORDING",
    "DEFAULT_ENDPOINTS",
    "DEFAULT_ES_VERSION",
    "DEFAULT_RERANK_ENDPOINT",
    "DELETE_DEFAULT_WITH_FORCE",
    "DELETE_DRY_RUN_AND_FORCE",
    "HF_CHAT_AND_RERANK",
    "HF_TEXT_EMBEDDING",
    "INFERENCE_SERVICES_API",
    "JSON_ERRORS_AS_XCONTENT",
    "MINIMUM_VERSION",
    "NUMBER_WORDING_WITHOUT_A",
    "PUT_TIMEOUT",
    "RATE_LIMIT",
    "TASK_SETTINGS_CONSUMED",
    "TASK_TYPE_OPTIONAL_IN_URL",
    "UPDATE_API",
    "UPDATE_TIMEOUT",
    "UPDATE_VALIDATES",
    "UPDATE_WITHOUT_TASK_TYPE",
    "Backported",
    "EsVersion",
    "Gate",
]

DEFAULT_ES_VERSION = "9.1.0"

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-[A-Za-z0-9.]+)?$")


class EsVersion(NamedTuple):
    """A parsed `major.minor.patch` Elasticsearch version."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> EsVersion:
        """Parse `X.Y.Z` (a `-SNAPSHOT`-style suffix is allowed); raise `ValueError` otherwise."""
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise ValueError(f"not an Elasticsearch version: {text!r} (expected X.Y.Z)")
        return cls(int(match[1]), int(match[2]), int(match[3]))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Gate:
    """A feature available from `since8` on the 8.x line and from `since9` on 9.x and later."""

    since8: tuple[int, int] | None
    since9: tuple[int, int] | None = (9, 0)

    def __call__(self, version: EsVersion) -> bool:
        if version.major < 9:
            return self.since8 is not None and (version.major, version.minor) >= self.since8
        return self.since9 is not None and (version.major, version.minor) >= self.since9


@dataclass(frozen=True)
class Backported:
    """A change from the listed patch release of each listed minor, and in every later minor.

    `(9, 1, 2)` means 9.1.2 and later 9.1.x; a minor that is not listed has it when it is newer
    than every listed one (so 9.0 lacks a change first released in 8.19.2, 9.1.2 and 9.2.0).
    """

    since: tuple[tuple[int, int, int], ...]

    def __call__(self, version: EsVersion) -> bool:
        for major, minor, patch in self.since:
            if (version.major, version.minor) == (major, minor):
                return version.patch >= patch
        return (version.major, version.minor) > max((m, n) for m, n, _ in self.since)


MINIMUM_VERSION = EsVersion(8, 11, 0)

TASK_TYPE_OPTIONAL_IN_URL = Gate((8, 13))
HF_TEXT_EMBEDDING = Gate((8, 12))
RATE_LIMIT = Gate((8, 15))
DELETE_DRY_RUN_AND_FORCE = Gate((8, 15))
CHUNKING = Gate((8, 16))
DEFAULT_ENDPOINTS = Gate((8, 16))
UPDATE_API = Gate((8, 17))
DEFAULT_RERANK_ENDPOINT = Gate((8, 18))
UPDATE_WITHOUT_TASK_TYPE = Gate((8, 18))
HF_CHAT_AND_RERANK = Gate((8, 19), (9, 1))
CHUNKING_NONE_AND_RECURSIVE = Gate((8, 19), (9, 1))
PUT_TIMEOUT = Gate((8, 19), (9, 1))
TASK_SETTINGS_CONSUMED = Gate((8, 19), (9, 1))
CHUNK_SIZE_CAP_REMOVED = Gate(None, (9, 2))
NUMBER_WORDING_WITHOUT_A = Gate(None, (9, 2))
CONFIGURATION_WORDING = Gate(None, (9, 2))
UPDATE_VALIDATES = Gate(None, (9, 4))
UPDATE_TIMEOUT = Gate(None, (9, 5))
# The simplified `GET _inference/_services` shape (InferenceServiceConfiguration with
# SettingsConfiguration fields); 8.16-8.17 answered an older, connector-style shape.
INFERENCE_SERVICES_API = Gate((8, 18))
# elastic/elasticsearch#124781 (merged 2025-03-13, backported to 8.18 by #124879; no 9.0
# backport was found, so 9.0 keeps the older rule).
DELETE_DEFAULT_WITH_FORCE = Gate((8, 18), (9, 1))
# elastic/elasticsearch#123439, backported to 9.1 (#132480) and 8.19 (#132481), both merged
# 2025-08-06: the first patch releases after that date are taken to be 8.19.2 and 9.1.2.
JSON_ERRORS_AS_XCONTENT = Backported(((8, 19, 2), (9, 1, 2), (9, 2, 0)))
