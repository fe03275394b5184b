"""`chunking_settings`: strategies, defaults, version gates and `ChunkingSettingsBuilder` messages.

Output shapes: sentence `{strategy, max_chunk_size, sentence_overlap}`, word `{strategy,
max_chunk_size, overlap}`, none `{strategy}`, recursive `{strategy, max_chunk_size, separators}`
(a `separator_group` is expanded to its separators).
"""

from __future__ import annotations

from typing import Any

from .errors import illegal_argument_exception
from .java_format import java_hash_order, java_repr
from .settings import (
    Problems,
    class_cast_exception,
    extract_optional_enum,
    remove_as_type,
)
from .versions import (
    CHUNK_SIZE_CAP_REMOVED,
    CHUNKING_NONE_AND_RECURSIVE,
    NUMBER_WORDING_WITHOUT_A,
    EsVersion,
)

__all__ = ["DEFAULT_CHUNKING", "LEGACY_CHUNKING", "SEPARATOR_GROUPS", "parse_chunking_settings"]

DEFAULT_CHUNKING: dict[str, Any] = {
    "strategy": "sentence",
    "max_chunk_size": 250,
    "sentence_overlap": 1,
}
# ChunkingSettingsBuilder.OLD_DEFAULT_SETTINGS: what an endpoint stored without chunking reads as.
LEGACY_CHUNKING: dict[str, Any] = {"strategy": "word", "max_chunk_size": 250, "overlap": 100}
SCOPE = "chunking_settings"
MAX_CHUNK_SIZE_CAP = 300

SEPARATOR_GROUPS: dict[str, list[str]] = {
    "plaintext": ["(?<!\\n)\\n\\n(?!\\n)", "(?<!\\n)\\n(?!\\n)"],
    "markdown": [
        "\n# ",
        "\n## ",
        "\n### ",
        "\n#### ",
        "\n##### ",
        "\n###### ",
        "\n^(?!\\s*$).*\\n-{1,}\\n",
        "\n^(?!\\s*$).*\\n={1,}\\n",
    ],
}

_VALID_KEYS = {
    "word": ("strategy", "max_chunk_size", "overlap"),
    "sentence": ("strategy", "max_chunk_size", "sentence_overlap"),
    "recursive": ("strategy", "max_chunk_size", "separator_group", "separators"),
}
_LABELS = {"word": "Word based", "sentence": "Sentence based", "recursive": "Recursive"}


def _bound_message(key: str, value: int, bound: int, relation: str, version: EsVersion) -> str:
    article = "" if NUMBER_WORDING_WITHOUT_A(version) else "a "
    return (
        f"[{SCOPE}] Invalid value [{float(value):.1f}]. [{key}] must be {article}{relation}"
        f" than or equal to [{float(bound):.1f}]"
    )


def _required_positive(settings: dict[str, Any], key: str, problems: Problems) -> int | None:
    before = len(problems)
    value = remove_as_type(settings, key, ["Integer"], problems)
    if len(problems) > before:
        return None
    if value is None:
        problems.add(f"[{SCOPE}] does not contain the required setting [{key}]")
        return None
    if value <= 0:
        problems.add(f"[{SCOPE}] Invalid value [{value}]. [{key}] must be a positive integer")
        return None
    return int(value)


def _max_chunk_size(
    settings: dict[str, Any], minimum: int, capped: bool, problems: Problems, version: EsVersion
) -> int | None:
    size = _required_positive(settings, "max_chunk_size", problems)
    if size is None:
        return None
    if size < minimum:
        problems.add(_bound_message("max_chunk_size", size, minimum, "greater", version))
    if capped and not CHUNK_SIZE_CAP_REMOVED(version) and size > MAX_CHUNK_SIZE_CAP:
        problems.add(_bound_message("max_chunk_size", size, MAX_CHUNK_SIZE_CAP, "less", version))
    return size


def _reject_extra_keys(settings: dict[str, Any], strategy: str, problems: Problems) -> None:
    # ES copies the map (`new HashMap<>(settings)`) before listing the keys it does not know.
    extra = [
        k for k in java_hash_order(list(settings), copied=True) if k not in _VALID_KEYS[strategy]
    ]
    if extra:
        problems.add(
            f"{_LABELS[strategy]} chunking settings can not have the following settings:"
            f" [{', '.join(extra)}]"
        )


def _word(settings: dict[str, Any], version: EsVersion) -> dict[str, Any]:
    problems = Problems()
    _reject_extra_keys(settings, "word", problems)
    size = _max_chunk_size(settings, 10, True, problems, version)
    overlap = None
    if size is not None:
        overlap = _required_positive(settings, "overlap", problems)
        if overlap is not None and overlap > size // 2:
            problems.add(_bound_message("overlap", overlap, size // 2, "less", version))
    problems.raise_if_any()
    return {"strategy": "word", "max_chunk_size": size, "overlap": overlap}


def _sentence(settings: dict[str, Any], version: EsVersion) -> dict[str, Any]:
    problems = Problems()
    _reject_extra_keys(settings, "sentence", problems)
    size = _max_chunk_size(settings, 20, True, problems, version)
    before = len(problems)
    overlap = remove_as_type(settings, "sentence_overlap", ["Integer"], problems)
    if len(problems) == before and overlap is not None and overlap not in (0, 1):
        problems.add(f"sentence_overlap[{overlap}] must be either 0 or 1")
    problems.raise_if_any()
    return {
        "strategy": "sentence",
        "max_chunk_size": size,
        "sentence_overlap": 1 if overlap is None else overlap,
    }


def _recursive(settings: dict[str, Any], version: EsVersion) -> dict[str, Any]:
    problems = Problems()
    _reject_extra_keys(settings, "recursive", problems)
    size = _max_chunk_size(settings, 10, False, problems, version)
    group = extract_optional_enum(
        settings, "separator_group", SCOPE, sorted(SEPARATOR_GROUPS), problems
    )
    before = len(problems)
    separators = remove_as_type(settings, "separators", ["List"], problems)
    if len(problems) == before and separators is not None:
        if not all(isinstance(s, str) for s in separators):
            problems.add(
                f"field [separators] is not of the expected type. The value"
                f" [{java_repr(separators)}] cannot be converted to a [List<String>]"
            )
            separators = None
        elif group is not None:
            problems.add(
                "Recursive chunking settings can not have both separators and separator_set"
            )
        elif not separators:
            problems.add("Recursive chunking settings can not have an empty list of separators")
    problems.raise_if_any()
    if group is not None:
        separators = SEPARATOR_GROUPS[group]
    elif separators is None:
        separators = SEPARATOR_GROUPS["plaintext"]
    return {"strategy": "recursive", "max_chunk_size": size, "separators": list(separators)}


def parse_chunking_settings(raw: Any, version: EsVersion) -> dict[str, Any]:
    """Validate a request's `chunking_settings` and return the stored form (defaults when absent).

    Raises `EsError` with ES's messages: `illegal_argument_exception` for a missing/unknown
    strategy, one accumulated `validation_exception` for everything else.
    """
    if raw is None or raw == {}:
        return dict(DEFAULT_CHUNKING)
    if not isinstance(raw, dict):
        raise class_cast_exception(raw)
    if "strategy" not in raw:
        raise illegal_argument_exception("Can't generate Chunker without ChunkingStrategy provided")
    strategy = java_repr(raw["strategy"])
    known = ["word", "sentence"]
    if CHUNKING_NONE_AND_RECURSIVE(version):
        known += ["none", "recursive"]
    if strategy not in known:
        raise illegal_argument_exception(f"Invalid chunkingStrategy {strategy}")
    settings = dict(raw)
    if strategy == "none":
        return {"strategy": "none"}
    parsers = {"word": _word, "sentence": _sentence, "recursive": _recursive}
    return parsers[strategy](settings, version)
