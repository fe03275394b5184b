"""Ingest pipelines and indexes, the two things that can reference an inference endpoint.

A pipeline references an endpoint through an `inference` processor's `model_id`; an index
through a `semantic_text` field's `inference_id` (or `search_inference_id`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import EsError

__all__ = [
    "DEFAULT_SEMANTIC_TEXT_ENDPOINT",
    "index_not_found",
    "mapping_inference_ids",
    "parse_pipeline",
    "pipeline_model_ids",
    "validate_index_name",
]

DEFAULT_SEMANTIC_TEXT_ENDPOINT = ".elser-2-elasticsearch"
_INVALID_FILENAME_CHARS = '\\/*?"<>| ,'


def _invalid_index_name(name: str, description: str) -> EsError:
    return EsError(
        "invalid_index_name_exception",
        f"Invalid index name [{name}], {description}",
        metadata={"index_uuid": "_na_", "index": name},
    )


def validate_index_name(name: str) -> None:
    """`MetadataCreateIndexService.validateIndexName`: the checks a test cluster needs."""
    if any(ch in _INVALID_FILENAME_CHARS for ch in name):
        raise _invalid_index_name(
            name, 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'
        )
    if "#" in name:
        raise _invalid_index_name(name, "must not contain '#'")
    if ":" in name:
        raise _invalid_index_name(name, "must not contain ':'")
    if name[:1] in ("_", "-", "+"):
        raise _invalid_index_name(name, "must not start with '_', '-', or '+'")
    size = len(name.encode("utf-8"))
    if size > 255:
        raise _invalid_index_name(name, f"index name is too long, ({size} > 255)")
    if name in (".", ".."):
        raise _invalid_index_name(name, "must not be '.' or '..'")
    if name.lower() != name:
        raise _invalid_index_name(name, "must be lowercase")


def index_not_found(name: str) -> EsError:
    """`IndexNotFoundException` (404)."""
    return EsError(
        "index_not_found_exception",
        f"no such index [{name}]",
        status=404,
        metadata={
            "resource.type": "index_or_alias",
            "resource.id": name,
            "index_uuid": "_na_",
            "index": name,
        },
    )


def _missing(property_name: str, processor_type: str | None = None) -> EsError:
    metadata = {"processor_type": processor_type} if processor_type else {}
    metadata["property_name"] = property_name
    return EsError(
        "parse_exception", f"[{property_name}] required property is missing", metadata=metadata
    )


def _processors(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for processor in value if isinstance(value, list) else []:
        if not isinstance(processor, dict):
            continue
        for kind, config in processor.items():
            if isinstance(config, dict):
                yield kind, config
                yield from _processors(config.get("on_failure"))
                if kind == "foreach":
                    yield from _processors([config.get("processor")])


def parse_pipeline(body: dict[str, Any]) -> dict[str, Any]:
    """Check a pipeline definition as ES's `ConfigurationUtils` would; return it for storage."""
    processors = body.get("processors")
    if processors is None:
        raise _missing("processors")
    if not isinstance(processors, list):
        raise EsError("parse_exception", "[processors] property isn't a list, but of type [string]")
    for kind, config in _processors(processors):
        if kind == "inference" and not isinstance(config.get("model_id"), str):
            raise _missing("model_id", "inference")
    return body


def pipeline_model_ids(pipeline: dict[str, Any]) -> set[str]:
    """The `model_id`s of every `inference` processor, including nested and on_failure ones."""
    ids = set()
    for source in (pipeline.get("processors"), pipeline.get("on_failure")):
        for kind, config in _processors(source):
            if kind == "inference" and isinstance(config.get("model_id"), str):
                ids.add(config["model_id"])
    return ids


def _fields(properties: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(properties, dict):
        return
    for definition in properties.values():
        if isinstance(definition, dict):
            yield definition
            yield from _fields(definition.get("properties"))
            yield from _fields(definition.get("fields"))


def mapping_inference_ids(mappings: Any) -> set[str]:
    """Endpoints used by `semantic_text` fields (no `inference_id` means the ELSER default)."""
    ids = set()
    for field in _fields(mappings.get("properties") if isinstance(mappings, dict) else None):
        if field.get("type") == "semantic_text":
            ids.add(str(field.get("inference_id", DEFAULT_SEMANTIC_TEXT_ENDPOINT)))
            if isinstance(field.get("search_inference_id"), str):
                ids.add(field["search_inference_id"])
    return ids
