"""Setting extractors with Elasticsearch's `ServiceUtils` messages.

Each extractor removes its key from the map (so leftovers can be reported as unknown) and adds
problems to a `Problems` accumulator, which raises one `validation_exception` listing them all.
JSON values are classified by the Java type ES's parser would produce (Integer, Long, Double, …).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import EsError, status_exception, validation_exception
from .java_format import java_map_repr, java_repr
from .versions import CONFIGURATION_WORDING, EsVersion

__all__ = [
    "Problems",
    "class_cast_exception",
    "extract_optional_boolean",
    "extract_optional_enum",
    "extract_optional_positive_integer",
    "extract_optional_string",
    "extract_rate_limit",
    "extract_required_string",
    "extract_uri",
    "java_type",
    "present",
    "remove_as_type",
    "remove_map_or_default_empty",
    "remove_service_settings",
    "unknown_settings_error",
    "unsupported_task_type",
]

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_URI_ILLEGAL = set(' "<>\\^`{|}')


class Problems:
    """Accumulates messages the way ES's `ValidationException` does."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem."""
        self.messages.append(message)

    def __len__(self) -> int:
        return len(self.messages)

    def raise_if_any(self) -> None:
        """Raise `validation_exception` listing every problem, if there is one."""
        if self.messages:
            raise validation_exception(self.messages)


def java_type(value: Any) -> str:
    """The simple name of the Java class ES's JSON parser produces for `value`."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        if _INT_MIN <= value <= _INT_MAX:
            return "Integer"
        return "Long" if _LONG_MIN <= value <= _LONG_MAX else "BigInteger"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, str):
        return "String"
    if isinstance(value, dict):
        return "Map"
    if isinstance(value, list):
        return "List"
    return "Object"


def present(found: dict[str, Any]) -> dict[str, Any]:
    """The entries of `found` (what extractors returned, in ES's order) that have a value."""
    return {k: v for k, v in found.items() if v is not None}


def class_cast_exception(value: Any, target: str = "java.util.Map") -> EsError:
    """What ES answers when a value has a type its code casts blindly (a 500)."""
    source = (
        f"java.lang.{java_type(value)}" if java_type(value) != "List" else "java.util.ArrayList"
    )
    return EsError(
        "class_cast_exception",
        f"class {source} cannot be cast to class {target} ({source} and {target} are in module"
        " java.base of loader 'bootstrap')",
        status=500,
    )


def remove_map_or_default_empty(config: dict[str, Any], key: str) -> dict[str, Any]:
    """`removeFromMapOrDefaultEmpty`: the nested map, or `{}` when absent or null."""
    value = config.pop(key, None)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise class_cast_exception(value)
    return value


def remove_service_settings(config: dict[str, Any]) -> dict[str, Any]:
    """`removeFromMapOrThrowIfNull` for a PUT's `service_settings`, which ES then casts to a map."""
    if config.get("service_settings") is None:
        raise status_exception("Missing required field [service_settings]")
    settings = config.pop("service_settings")
    if not isinstance(settings, dict):
        raise class_cast_exception(settings)
    return settings


def unsupported_task_type(service: str, task_type: str) -> EsError:
    """`ServiceUtils.createInvalidTaskTypeException`: the service does not offer the task type."""
    return status_exception(f"The [{service}] service does not support task type [{task_type}]")


def remove_as_type(
    settings: dict[str, Any], key: str, types: Sequence[str], problems: Problems
) -> Any:
    """`removeAsType`: the value if its Java type is one of `types`, else a problem and None."""
    value = settings.pop(key, None)
    if value is None:
        return None
    if java_type(value) in types:
        return value
    if len(types) == 1:
        problems.add(
            f"field [{key}] is not of the expected type. The value [{java_repr(value)}]"
            f" cannot be converted to a [{types[0]}]"
        )
    else:
        problems.add(
            f"field [{key}] is not of one of the expected types. The value [{java_repr(value)}]"
            f" cannot be converted to one of [{', '.join(types)}]"
        )
    return None


def extract_required_string(
    settings: dict[str, Any], key: str, scope: str, problems: Problems
) -> str | None:
    """A required non-empty string."""
    before = len(problems)
    value = remove_as_type(settings, key, ["String"], problems)
    if len(problems) > before:
        return None
    if value is None:
        problems.add(f"[{scope}] does not contain the required setting [{key}]")
    elif value == "":
        problems.add(f"[{scope}] Invalid value empty string. [{key}] must be a non-empty string")
    return value or None


def extract_optional_string(
    settings: dict[str, Any], key: str, scope: str, problems: Problems
) -> str | None:
    """An optional string that must not be empty when given."""
    before = len(problems)
    value = remove_as_type(settings, key, ["String"], problems)
    if len(problems) > before or value is None:
        return None
    if value == "":
        problems.add(f"[{scope}] Invalid value empty string. [{key}] must be a non-empty string")
        return None
    return str(value)


def _uri_problem(url: str) -> str | None:
    # A small model of java.net.URI's parser: which component holds the first illegal character.
    if url.startswith(":"):
        return "Expected scheme name at index 0"
    scheme_end = -1
    for i, ch in enumerate(url):
        if ch in "/?#":
            break
        if ch == ":":
            scheme_end = i
            break
    if scheme_end >= 0:
        scheme = url[:scheme_end]
        for i, ch in enumerate(scheme):
            if not (ch.isascii() and (ch.isalnum() or (i > 0 and ch in "+-."))):
                return f"Illegal character in scheme name at index {i}"
        if scheme_end == len(url) - 1:
            return f"Expected scheme-specific part at index {len(url)}"
    start = scheme_end + 1
    rest = url[start:]
    authority_end = start
    if rest.startswith("//"):
        authority_end = start + 2
        while authority_end < len(url) and url[authority_end] not in "/?#":
            authority_end += 1
    query_at = url.find("?", authority_end)
    fragment_at = url.find("#", start)
    for i in range(start, len(url)):
        ch = url[i]
        if ch in _URI_ILLEGAL or ord(ch) < 0x20 or ord(ch) == 0x7F:
            if start + 2 <= i < authority_end:
                component = "authority"
            elif fragment_at != -1 and i > fragment_at:
                component = "fragment"
            elif query_at != -1 and i > query_at:
                component = "query"
            else:
                component = "path"
            return f"Illegal character in {component} at index {i}"
    return None


def extract_uri(settings: dict[str, Any], key: str, scope: str, problems: Problems) -> str | None:
    """A required string that `java.net.URI` can parse (relative references are accepted)."""
    url = extract_required_string(settings, key, scope, problems)
    if url is None:
        return None
    problem = _uri_problem(url)
    if problem is not None:
        reason = problem.rsplit(" at index ", 1)[0]
        problems.add(
            f"[{scope}] Invalid url [{url}] received for field [{key}]."
            f" Error: unable to parse url [{url}]. Reason: {reason}"
        )
        return None
    return url


def extract_optional_enum(
    settings: dict[str, Any], key: str, scope: str, allowed: Sequence[str], problems: Problems
) -> str | None:
    """An optional, case-insensitive enum value, returned lowercased."""
    value = extract_optional_string(settings, key, scope, problems)
    if value is None:
        return None
    if value.strip().lower() not in allowed:
        problems.add(
            f"[{scope}] Invalid value [{value}] received. [{key}] must be one of"
            f" [{', '.join(sorted(allowed))}]"
        )
        return None
    return value.strip().lower()


def extract_optional_positive_integer(
    settings: dict[str, Any], key: str, scope: str, problems: Problems
) -> int | None:
    """An optional Integer > 0."""
    before = len(problems)
    value = remove_as_type(settings, key, ["Integer"], problems)
    if len(problems) > before or value is None:
        return None
    if value <= 0:
        problems.add(f"[{scope}] Invalid value [{value}]. [{key}] must be a positive integer")
        return None
    return int(value)


def extract_optional_boolean(settings: dict[str, Any], key: str, problems: Problems) -> bool | None:
    """An optional Boolean."""
    value = remove_as_type(settings, key, ["Boolean"], problems)
    return None if value is None else bool(value)


def unknown_settings_error(
    leftover: dict[str, Any], service: str, version: EsVersion, *, inserted: int | None = None
) -> EsError:
    """`throwIfNotEmptyMap`: settings nobody consumed, printed as the Java map they are."""
    prefix = "Configuration" if CONFIGURATION_WORDING(version) else "Model configuration"
    rendered = java_map_repr(leftover, inserted=inserted)
    return status_exception(
        f"{prefix} contains settings [{rendered}] unknown to the [{service}] service"
    )


def extract_rate_limit(
    settings: dict[str, Any], service: str, version: EsVersion, problems: Problems
) -> int | None:
    """`RateLimitSettings.of`: the `rate_limit.requests_per_minute` asked for, removed.

    None when absent or not positive (the caller's default applies; a non-positive value is
    also a problem). Another key in `rate_limit` fails at once, not accumulated.
    """
    limits = remove_map_or_default_empty(settings, "rate_limit")
    inserted = len(limits)
    before = len(problems)
    rpm = remove_as_type(limits, "requests_per_minute", ["Integer", "Long"], problems)
    if len(problems) == before and rpm is not None and rpm <= 0:
        problems.add(
            f"[rate_limit] Invalid value [{rpm}]. [requests_per_minute] must be a positive long"
        )
    if limits:
        raise unknown_settings_error(limits, service, version, inserted=inserted)
    return None if rpm is None or rpm <= 0 else int(rpm)
