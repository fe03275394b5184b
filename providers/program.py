"""The Pulumi program: one InferenceEndpoint per entry of the stack's stack file.

The stack file is ``stacks/<stack>.yaml`` (or Pulumi config ``es-inference:stackFile``). It is
validated whole before any resource is declared, and secret references are resolved here, into
Pulumi secrets, so no secret value is ever written in a file or an error.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pulumi

from providers.errors import DeclarationError
from providers.inference_endpoint import InferenceEndpoint, InferenceEndpointProvider
from providers.stack import EndpointDeclaration, SecretReference, load_stack

__all__ = ["run", "stack_file_for"]

_BATCH = 10  # endpoints declared between two turns of the event loop


def stack_file_for(stack: str, configured: str | None = None) -> str:
    """The stack file a stack reads: the configured path, else ``stacks/<stack>.yaml``."""
    return configured or f"stacks/{stack}.yaml"


def _resolve(endpoint: EndpointDeclaration, source: str, problems: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, value in endpoint.service_settings.items():
        if not isinstance(value, SecretReference):
            settings[name] = value
            continue
        where = f"{source}: {endpoint.path}.service_settings.{name}"
        if value.kind == "env":
            found = os.environ.get(value.name)
            if found:
                settings[name] = pulumi.Output.secret(found)
            else:
                problems.append(f"{where}: the environment variable {value.name!r} is not set")
            continue
        namespace, _, key = value.name.rpartition(":")
        secret = pulumi.Config(namespace or None).get_secret(key)
        if secret is None:
            full = value.name if namespace else f"{pulumi.get_project()}:{key}"
            problems.append(
                f"{where}: the Pulumi config secret {full!r} is not set; "
                f"run: pulumi config set --secret {value.name} <value>"
            )
        else:
            settings[name] = secret
    return settings


def _summary(endpoint: EndpointDeclaration) -> dict[str, Any]:
    """What the stack output ``endpoints`` shows of one endpoint, from its declaration.

    Plain values, known at preview, and no Output per resource: each Output is a task the SDK
    waits on at exit, and built from the resource's outputs they cost about 1 ms of CPU per
    endpoint (bench/results/breakdown.md). A secret reference is never shown.
    """
    url = endpoint.service_settings.get("url")
    return {
        "task_type": endpoint.task_type,
        "service": endpoint.service,
        "url": None if isinstance(url, SecretReference) else url,
    }


def _drop_sdk_debug_lines() -> None:
    """Skip the SDK's debug lines unless ``ES_INFERENCE_PULUMI_DEBUG_LOG`` is set.

    The SDK sends each one (four per resource) to the engine as a blocking gRPC call from the
    program's event loop, and the CLI shows them only under ``--debug``; skipping them saves about
    0.9 CPU-s of a 400-endpoint preview (bench/results/breakdown.md).
    """
    if os.environ.get("ES_INFERENCE_PULUMI_DEBUG_LOG", "").lower() not in ("1", "true", "yes"):
        pulumi.log.debug = _no_debug_line


def _no_debug_line(*_args: Any, **_kwargs: Any) -> None:
    return None


def run() -> None:
    """Declare the stack's endpoints; a bad stack file stops the program with every problem."""
    _drop_sdk_debug_lines()
    source = stack_file_for(pulumi.get_stack(), pulumi.Config("es-inference").get("stackFile"))
    try:
        declaration = load_stack(Path(source), source)
        problems: list[str] = []
        resolved = [(e, _resolve(e, source, problems)) for e in declaration.endpoints]
        if problems:
            raise DeclarationError(source, problems)
    except DeclarationError as exc:
        # RunError ends the program with the message alone: no traceback.
        raise pulumi.RunError(str(exc)) from None
    provider = InferenceEndpointProvider(declaration.elasticsearch, stack_file=source)
    pulumi.export("endpoints", pulumi.Output.from_input(_declare(resolved, provider)))


async def _declare(
    resolved: list[tuple[EndpointDeclaration, dict[str, Any]]],
    provider: InferenceEndpointProvider,
) -> dict[str, Any]:
    """Declare the endpoints, letting the event loop run every ``_BATCH`` of them.

    The SDK sends a resource's registration only when the program yields to its event loop, so a
    plain loop keeps the engine and the provider idle until the last endpoint is declared; yielding
    lets them work on the first endpoints while the program declares the rest (measured in
    bench/results/breakdown.md). Returns the ``endpoints`` stack output.
    """
    summaries: dict[str, Any] = {}
    for index, (endpoint, settings) in enumerate(resolved):
        InferenceEndpoint(
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
        summaries[endpoint.inference_id] = _summary(endpoint)
        if index % _BATCH == _BATCH - 1:
            await asyncio.sleep(0)
    return summaries
