"""Elasticsearch versions the emulator can impersonate, and the feature gates that depend on them.

ES ships features to the 8.x and 9.x lines separately (8.19 and 9.1 are siblings; 9.0 predates
8.19), so a `Gate` names the first version on each line; a `Span` names patch-exact ranges, for
fixes that were backported to patch releases. Each gate has a row in the behaviour matrix
(`behaviour/elasticsearch.yaml`); tests/unit/test_behaviour.py checks them against each other,
so the gates stay written here and the emulator remains an independent check of the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "CHUNKING",
    "CHUNKING_NONE_AND_RECURSIVE",
    "CHUNKING_RESET_ON_UPDATE",
    "CHUNK_SIZE_CAP_REMOVED",
    "CONFIGURATION_WORDING",
    "DEFAULT_ENDPOINTS",
    "DEFAULT_ES_VERSION",
    "DEFAULT_RERANK_ENDPOINT",
    "DELETE_DRY_RUN_AND_FORCE",
    "HF_CHAT_AND_RERANK",
    "HF_TEXT_EMBEDDING",
    "MINIMUM_VERSION",
    "NUMBER_WORDING_WITHOUT_A",
    "PUT_TIMEOUT",
    "RATE_LIMIT",
    "SECRET_REQUIRED_ON_UPDATE",
    "TASK_SETTINGS_CONSUMED",
    "TASK_TYPE_OPTIONAL_IN_URL",
    "UPDATE_ACCEPTS_CHUNKING",
    "UPDATE_API",
    "UPDATE_HF_SERVICE_SETTINGS",
    "UPDATE_REJECTS_UNKNOWN_KEYS",
    "UPDATE_TIMEOUT",
    "UPDATE_VALIDATES",
    "UPDATE_WITHOUT_TASK_TYPE",
    "EsVersion",
    "Gate",
    "Span",
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
class Span:
    """A behaviour that holds on the half-open ranges `[start, before)` (`before` None: open)."""

    ranges: tuple[tuple[tuple[int, int, int], tuple[int, int, int] | None], ...]

    def __call__(self, version: EsVersion) -> bool:
        return any(
            EsVersion(*start) <= version and (before is None or version < EsVersion(*before))
            for start, before in self.ranges
        )


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
# elastic/elasticsearch#139574: _update drops chunking; fixed by #140003 (9.4) and the backports
# #141687 / #141682, first in 9.2.6 / 9.3.1 by the changelog bundles' dates (unconfirmed).
CHUNKING_RESET_ON_UPDATE = Span((((8, 17, 0), (9, 2, 6)), ((9, 3, 0), (9, 3, 1))))
# #149628 (issue #139651): service_settings in _update need the api_key again until 9.5.
SECRET_REQUIRED_ON_UPDATE = Span((((8, 17, 0), (9, 5, 0)),))
UPDATE_ACCEPTS_CHUNKING = Gate(None, (9, 5))  # #149723
UPDATE_HF_SERVICE_SETTINGS = Gate(None, (9, 5))  # #147143: rate_limit, max_input_tokens
UPDATE_REJECTS_UNKNOWN_KEYS = Gate(None, (9, 5))  # #149430
