"""What both dynamic providers need from the engine's side of the wire: unknowns and warnings."""

from __future__ import annotations

import pulumi
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from providers.diagnostics import warn

__all__ = ["is_unknown", "unknown_paths", "warn_user"]


def is_unknown(value: object) -> bool:
    """A value a preview does not know yet."""
    # The host deserializes unknowns as pulumi.output.Unknown (keep_unknowns), or the rpc sentinel.
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def unknown_paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Where in ``value`` the unknowns are."""
    if is_unknown(value):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unknown_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in unknown_paths(v, (*path, i))]
    return []


def warn_user(message: str) -> None:
    """A warning the CLI shows; one line each, even from the engine's parallel calls."""
    if pulumi.log.get_engine() is not None:  # type: ignore[no-untyped-call]
        pulumi.log.warn(message)
    else:  # dynamic providers have no engine to log through (pulumi/pulumi#6065)
        warn(message)
