"""The words an on/off setting accepts, in one place: environment switches and connection settings.

``true``/``false``, ``yes``/``no``, ``on``/``off`` and ``1``/``0``, in any case, around any
whitespace. An empty setting is off (``parse_switch``); an environment variable that is unset or
empty keeps its switch's default (``switch``). Only ``os`` is imported, so the program's first act
(``providers.provider_start``) can read its switch before any other import.
"""

from __future__ import annotations

import os

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "parse_switch", "switch"]

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def parse_switch(text: str) -> bool | None:
    """True or False for a word of either list; None for anything else."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def switch(name: str, *, default: bool) -> bool:
    """The environment variable ``name`` as on or off; unset or not a switch word: ``default``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    found = parse_switch(raw)
    return default if found is None else found
