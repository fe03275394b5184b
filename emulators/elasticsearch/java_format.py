"""Render values the way Elasticsearch's Java code prints them in error messages.

ES builds many messages with `Map.toString()` / `Set.toString()` on `HashMap`/`HashSet`, whose
iteration order follows Java's string hash, not insertion order; reproducing it keeps multi-key
messages byte-identical to a real cluster.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "java_double",
    "java_hash_order",
    "java_map_repr",
    "java_repr",
    "java_set_repr",
]

_DEFAULT_CAPACITY = 16
_LOAD_FACTOR = 0.75


def _string_hash(value: str) -> int:
    data = value.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def _spread(h: int) -> int:
    return h ^ (h >> 16)


def _table_size_for(cap: int) -> int:
    n = 1
    while n < cap:
        n *= 2
    return n


def java_hash_order(
    keys: Sequence[str], *, inserted: int | None = None, copied: bool = False
) -> list[str]:
    """Order `keys` as a Java `HashMap`/`HashSet` iterates them.

    `inserted` is how many keys the map ever held (removals never shrink the table); `copied`
    models `new HashMap<>(other)`, which sizes its table from the source size.
    """
    count = len(keys) if inserted is None else max(inserted, len(keys))
    if copied:
        capacity = _table_size_for(int(count / _LOAD_FACTOR + 1.0)) if count else 1
    else:
        capacity, threshold = _DEFAULT_CAPACITY, int(_DEFAULT_CAPACITY * _LOAD_FACTOR)
        for size in range(1, count + 1):
            if size > threshold:
                capacity, threshold = capacity * 2, threshold * 2
    indexed = [(_spread(_string_hash(k)) & (capacity - 1), i, k) for i, k in enumerate(keys)]
    return [k for _, _, k in sorted(indexed)]


def java_double(value: float) -> str:
    """Format a float like Java's `Double.toString`."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        return repr(float(value))
    sign, digits, exponent = decimal.Decimal(repr(float(value))).as_tuple()
    assert isinstance(exponent, int)
    figures = "".join(str(d) for d in digits).rstrip("0") or "0"
    power = exponent + len(digits) - 1
    mantissa = figures[0] + "." + (figures[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{power}"


def java_repr(value: Any) -> str:
    """Print a parsed JSON value as Java's `toString` would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Mapping):
        return java_map_repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_repr(v) for v in value) + "]"
    return str(value)


def java_map_repr(
    mapping: Mapping[str, Any], *, inserted: int | None = None, copied: bool = False
) -> str:
    """Print a mapping as `HashMap.toString()`: `{k=v, k2=v2}` in Java hash order."""
    keys = java_hash_order(list(mapping), inserted=inserted, copied=copied)
    return "{" + ", ".join(f"{k}={java_repr(mapping[k])}" for k in keys) + "}"


def java_set_repr(items: Iterable[str]) -> str:
    """Print strings as `HashSet.toString()`: `[a, b]` in Java hash order."""
    return "[" + ", ".join(java_hash_order(list(dict.fromkeys(items)))) + "]"
