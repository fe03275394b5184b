"""The Pulumi program: one InferenceEndpoint per entry of the stack's stack file.

The stack file is ``stacks/<stack>.yaml`` (or Pulumi config ``es-inference:stackFile``). It is
validated whole before any resource is declared, and secret references are resolved here, into
Pulumi secrets, so no secret value is ever written in a file or an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi

from providers.errors import DeclarationError, SecretNotSet
from providers.inference_endpoint import InferenceEndpoint, InferenceEndpointProvider
from providers.secret_references import SecretReference
from providers.stack import EndpointDeclaration, load_stack

__all__ = ["run", "stack_file_for"]


def stack_file_for(stack: str, configured: str | None = None) -> str:
    """The stack file a stack reads: the configured path, else ``stacks/<stack>.yaml``."""
    return configured or f"stacks/{stack}.yaml"


class _StackConfig:
    """The stack's Pulumi config by full key (``namespace:name``), for secret references."""

    def get(self, key: str, /) -> str | None:
        namespace, _, name = key.rpartition(":")
        return pulumi.Config(namespace).get(name)


def _resolved_settings(
    endpoint: EndpointDeclaration, source: str, problems: list[str]
) -> dict[str, Any]:
    """``service_settings`` with each secret reference resolved into a Pulumi secret."""
    settings: dict[str, Any] = {}
    for name, value in endpoint.service_settings.items():
        if not isinstance(value, SecretReference):
            settings[name] = value
            continue
        where = f"{source}: {endpoint.path}.service_settings.{name}"
        try:
            found = value.resolve(
                where, config=_StackConfig(), env=os.environ, project=pulumi.get_project()
            )
        except SecretNotSet as exc:
            problems.append(str(exc))
        else:
            settings[name] = pulumi.Output.secret(found)
    return settings


def _summary(endpoint: InferenceEndpoint) -> pulumi.Output[dict[str, Any]]:
    # Only fields a preview knows: for a replacement the engine previews outputs as the inputs,
    # so server-filled values (dimensions, defaults) would show as removed.
    def visible(args: list[Any]) -> dict[str, Any]:
        task_type, service, service_settings = args
        return {"task_type": task_type, "service": service, "url": service_settings.get("url")}

    combined = pulumi.Output.all(
        endpoint.task_type, endpoint.service, endpoint.service_settings
    ).apply(visible)
    return pulumi.Output.unsecret(combined)


def run() -> None:
    """Declare the stack's endpoints; a bad stack file stops the program with every problem."""
    source = stack_file_for(pulumi.get_stack(), pulumi.Config("es-inference").get("stackFile"))
    try:
        declaration = load_stack(Path(source), source)
        problems: list[str] = []
        resolved = [(e, _resolved_settings(e, source, problems)) for e in declaration.endpoints]
        if problems:
            raise DeclarationError(source, problems)
    except DeclarationError as exc:
        # RunError ends the program with the message alone: no traceback.
        raise pulumi.RunError(str(exc)) from None
    provider = InferenceEndpointProvider(declaration.elasticsearch, stack_file=source)
    summaries: dict[str, Any] = {}
    for endpoint, settings in resolved:
        resource = InferenceEndpoint(
            endpoint.inference_id,
            inference_id=endpoint.inference_id,
            task_type=endpoint.task_type,
            service=endpoint.service,
            service_settings=settings,
            task_settings=endpoint.task_settings,
            chunking_settings=endpoint.chunking_settings,
            force=endpoint.force,
            secret_rotation=endpoint.secret_rotation,
            provider=provider,
        )
        summaries[endpoint.inference_id] = _summary(resource)
    pulumi.export("endpoints", summaries)
