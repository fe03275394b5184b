"""A dynamic provider that does nothing, to measure what the engine itself costs per resource.

Imported by reference (the benchmark puts this directory on PYTHONPATH for the program and the
provider process), like ``providers.inference_endpoint``, so its ``__provider`` is as small.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

__all__ = ["NoopEndpoint", "NoopProvider"]


class NoopProvider(ResourceProvider):
    """Every lifecycle call returns at once: no validation, no network, no state of its own."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Accept the inputs as they are."""
        return CheckResult(news, [])

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        """Never a change."""
        return DiffResult(changes=False, replaces=[], delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Record the inputs as the outputs."""
        outs = {k: v for k, v in props.items() if k != "__provider"}
        outs["elasticsearch_version"] = "9.1.0"
        return CreateResult(str(props["inference_id"]), outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The recorded outputs, unchanged."""
        return ReadResult(id_, {k: v for k, v in props.items() if k != "__provider"})

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        """Keep the recorded outputs."""
        return UpdateResult({k: v for k, v in _olds.items() if k != "__provider"})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete."""


class NoopEndpoint(Resource, module="bench", name="NoopEndpoint"):
    """A resource with the same properties as ``InferenceEndpoint``."""

    inference_id: pulumi.Output[str]
    task_type: pulumi.Output[str]
    service: pulumi.Output[str]
    service_settings: pulumi.Output[dict[str, Any]]
    elasticsearch_version: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        provider: NoopProvider,
        inference_id: str,
        task_type: str,
        service: str,
        service_settings: Mapping[str, Any],
        task_settings: Mapping[str, Any] | None = None,
        chunking_settings: Mapping[str, Any] | None = None,
        force: bool = False,
    ) -> None:
        props: dict[str, Any] = {
            "inference_id": inference_id,
            "task_type": task_type,
            "service": service,
            "service_settings": dict(service_settings),
            "task_settings": dict(task_settings) if task_settings else None,
            "chunking_settings": dict(chunking_settings) if chunking_settings else None,
            "force": force,
            "elasticsearch_version": None,
        }
        super().__init__(provider, resource_name, props)
