"""The Pulumi program: one resource per entry of the stack's stack file.

The stack file is ``stacks/<stack>.yaml`` (or Pulumi config ``es-inference:stackFile``). It is
validated whole before any resource is declared, and secret references are resolved here, into
Pulumi secrets, so no secret value is ever written in a file or an error.

A HuggingFaceEndpoint per ``huggingface_endpoints:`` entry comes first; an Elasticsearch endpoint
whose ``service_settings.url`` is ``{huggingface_endpoint: <name>}`` gets its URL and depends on
it, so up creates (and waits for) the HF endpoint first and destroy deletes the ES endpoint
first. Before any resource is declared, the hardware list refuses unavailable or over-quota
instances and each endpoint's cost is printed (``providers.hf_preflight``).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pulumi

from providers.errors import DeclarationError, SecretNotSet
from providers.gc_freeze import freeze_loaded_objects
from providers.hf_stack import HfEndpointDeclaration, HfUrlReference
from providers.inference_endpoint import InferenceEndpoint, InferenceEndpointProvider
from providers.quick_exit import arm_quick_exit
from providers.sdk_costs import reduce_sdk_costs
from providers.secret_references import SecretReference
from providers.stack import EndpointDeclaration, StackDeclaration, load_stack

__all__ = ["run", "stack_file_for"]

_BATCH = 10  # endpoints declared between two turns of the event loop


def stack_file_for(stack: str, configured: str | None = None) -> str:
    """The stack file a stack reads: the configured path, else ``stacks/<stack>.yaml``."""
    return configured or f"stacks/{stack}.yaml"


class _StackConfig:
    """The stack's Pulumi config by full key (``namespace:name``), for secret references."""

    def get(self, key: str, /) -> str | None:
        namespace, _, name = key.rpartition(":")
        return pulumi.Config(namespace).get(name)


def _secret(value: SecretReference, where: str, problems: list[str]) -> str | None:
    """The plain value of a reference (kept only in memory, wrapped as a secret by callers)."""
    try:
        return value.resolve(
            where, config=_StackConfig(), env=os.environ, project=pulumi.get_project()
        )
    except SecretNotSet as exc:
        problems.append(str(exc))
        return None


def _resolved_settings(
    endpoint: EndpointDeclaration, source: str, problems: list[str]
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, value in endpoint.service_settings.items():
        if not isinstance(value, SecretReference):
            settings[name] = value
            continue
        found = _secret(value, f"{source}: {endpoint.path}.service_settings.{name}", problems)
        if found is not None:
            settings[name] = pulumi.Output.secret(found)
    return settings


def _resolve_hf(
    endpoint: HfEndpointDeclaration, source: str, problems: list[str]
) -> dict[str, Any]:
    fields = dict(endpoint.fields)
    fields["token"] = _secret(endpoint.token, f"{source}: {endpoint.path}.token", problems)
    fields["secrets"] = {
        key: _secret(ref, f"{source}: {endpoint.path}.secrets.{key}", problems)
        for key, ref in endpoint.secrets.items()
    }
    return fields


def _declare_hf(
    declaration: StackDeclaration, resolved: list[dict[str, Any]], source: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The HF resources by name, and the URLs known to stay (in-place changes keep the URL)."""
    if not resolved:
        return {}, {}
    from providers.hf_preflight import preflight
    from providers.huggingface_endpoint import HuggingFaceEndpoint, HuggingFaceEndpointProvider

    paths = [e.path for e in declaration.huggingface_endpoints]
    stable = preflight(
        declaration.huggingface,
        list(zip(paths, resolved, strict=True)),
        source,
        pulumi.log.info,
        wake=not pulumi.runtime.is_dry_run(),
    )
    provider = HuggingFaceEndpointProvider(declaration.huggingface, stack_file=source)
    resources: dict[str, Any] = {}
    for fields in resolved:
        name = str(fields["name"])
        fields["used_by"] = [
            e.inference_id
            for e in declaration.endpoints
            if e.service_settings.get("url") == HfUrlReference(name)
        ]
        resources[name] = HuggingFaceEndpoint(name, fields, provider=provider)
    return resources, stable


def _summary(endpoint: EndpointDeclaration, url: Any) -> dict[str, Any]:
    """What the stack output ``endpoints`` shows of one endpoint, from its declaration.

    Plain values, known at preview, and no Output per resource (but the URL of a chained Hugging
    Face endpoint): each Output is a task the SDK waits on at exit, and built from the resource's
    outputs they cost about 1 ms of CPU per endpoint (bench/results/breakdown.md). A secret
    reference is never shown.
    """
    return {
        "task_type": endpoint.task_type,
        "service": endpoint.service,
        "url": None if isinstance(url, SecretReference) else url,
    }


def run() -> None:
    """Declare the stack's endpoints; a bad stack file stops the program with every problem."""
    reduce_sdk_costs()
    arm_quick_exit()
    source = stack_file_for(pulumi.get_stack(), pulumi.Config("es-inference").get("stackFile"))
    freeze_loaded_objects()  # the SDK and our modules are loaded; next is the program's own work
    try:
        declaration = load_stack(Path(source), source)
        problems: list[str] = []
        resolved = [(e, _resolved_settings(e, source, problems)) for e in declaration.endpoints]
        hf_resolved = [_resolve_hf(e, source, problems) for e in declaration.huggingface_endpoints]
        if problems:
            raise DeclarationError(source, problems)
        hf_resources, stable_urls = _declare_hf(declaration, hf_resolved, source)
    except DeclarationError as exc:
        # RunError ends the program with the message alone: no traceback.
        raise pulumi.RunError(str(exc)) from None
    provider = InferenceEndpointProvider(declaration.elasticsearch, stack_file=source)
    chained = _Chained(hf_resources, stable_urls)
    pulumi.run(lambda: _declare(resolved, provider, chained))
    if hf_resources:
        pulumi.export(
            "huggingface_endpoints",
            {
                name: pulumi.Output.all(r.url, r.state).apply(
                    lambda args: {"url": args[0], "state": args[1]}
                )
                for name, r in hf_resources.items()
            },
        )


class _Chained:
    """The Hugging Face resources an Elasticsearch endpoint's URL may name."""

    def __init__(self, resources: dict[str, Any], stable_urls: dict[str, str]) -> None:
        self.resources = resources
        self.stable_urls = stable_urls

    def wire(self, settings: dict[str, Any]) -> pulumi.ResourceOptions | None:
        """Put the named endpoint's URL in ``settings`` and depend on it; None when not chained."""
        reference = settings.get("url")
        if not isinstance(reference, HfUrlReference):
            return None
        hf = self.resources[reference.name]
        # A URL that stays known keeps the preview of an in-place HF change honest.
        settings["url"] = self.stable_urls.get(reference.name) or hf.url
        return pulumi.ResourceOptions(depends_on=[hf])


async def _declare(
    resolved: list[tuple[EndpointDeclaration, dict[str, Any]]],
    provider: InferenceEndpointProvider,
    chained: _Chained,
) -> dict[str, Any]:
    """Declare the endpoints, letting the event loop run every ``_BATCH`` of them, and wait for
    their registrations; returns the stack outputs (``endpoints``).

    The SDK sends a resource's registration only when the program yields to its event loop, so a
    plain loop keeps the engine and the provider idle until the last endpoint is declared; yielding
    lets them work on the first endpoints while the program declares the rest.

    Waiting here, before the SDK's own wait at exit, makes that wait cheap: the SDK waits on every
    pending Output with ``asyncio.wait(FIRST_COMPLETED)``, once per resource that completes, which is
    O(N^2) for N resources (about 14 Outputs each); here each registration is awaited once. Failures
    are left for the SDK to report, as before. Both are measured in bench/results/breakdown.md.
    """
    summaries: dict[str, Any] = {}
    declared: list[pulumi.Resource] = list(chained.resources.values())
    for index, (endpoint, settings) in enumerate(resolved):
        opts = chained.wire(settings)
        resource = InferenceEndpoint(
            endpoint.inference_id,
            inference_id=endpoint.inference_id,
            task_type=endpoint.task_type,
            service=endpoint.service,
            service_settings=settings,
            task_settings=endpoint.task_settings,
            chunking_settings=endpoint.chunking_settings,
            force=endpoint.force,
            adopt=endpoint.adopt,
            secret_rotation=endpoint.secret_rotation,
            provider=provider,
            opts=opts,
        )
        declared.append(resource)
        url = settings["url"] if opts is not None else endpoint.service_settings.get("url")
        summaries[endpoint.inference_id] = _summary(endpoint, url)
        if index % _BATCH == _BATCH - 1:
            await asyncio.sleep(0)
    await asyncio.gather(*(r.urn.future() for r in declared), return_exceptions=True)
    return {"endpoints": summaries}
