"""Before any resource is declared: refuse hardware HF would refuse, print what it costs.

The program calls this at every preview and up that declares Hugging Face endpoints. Per token
and namespace it reads the hardware list once (``GET /v2/provider/{namespace}``: price per hour,
availability, quota) and each declared endpoint once, so it also knows which URLs an in-place
change keeps (the preview of the Elasticsearch endpoints that use them then shows no change).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from providers.errors import DeclarationError, HuggingFaceError
from providers.hf_client import InferenceEndpointsClient, hf_settings
from providers.hf_model import (
    HF_LIFECYCLE,
    estimate,
    find_compute,
    hardware_problems,
    observed,
    with_defaults,
)

__all__ = ["preflight"]

_IDENTITY = [k for k, (effect, _) in HF_LIFECYCLE.items() if effect == "replace"]


def _keeps_url(declared: Mapping[str, Any], live: Mapping[str, Any], namespace: str) -> bool:
    seen = observed(live, namespace)
    status = live.get("status") or {}
    if status.get("state") == "failed" or not status.get("url"):
        return False
    return all(
        seen.get(k) == declared.get(k)
        for k in _IDENTITY
        if not (k == "namespace" and declared.get("namespace") is None)
    )


def preflight(
    settings_block: Mapping[str, Any],
    declared: list[tuple[str, Mapping[str, Any]]],
    source: str,
    log: Callable[[str], None],
    *,
    wake: bool = False,
) -> dict[str, str]:
    """Refuse unavailable or over-quota hardware (DeclarationError); the URLs that stay, by name.

    With ``wake`` (an up, not a preview), a scaled-to-zero endpoint is sent one health request,
    which starts it, so an Elasticsearch endpoint created against it later meets a warm one.
    """
    settings = hf_settings(settings_block, os.environ)
    problems: list[str] = []
    stable: dict[str, str] = {}
    namespaces: dict[str, str] = {}
    hardware: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for path, fields in declared:
        inputs = with_defaults(fields)
        name, token = str(inputs["name"]), str(inputs["token"])
        try:
            with InferenceEndpointsClient(settings, token, on_retry=log) as client:
                if not inputs.get("namespace") and token not in namespaces:
                    namespaces[token] = client.default_namespace()
                namespace = str(inputs.get("namespace") or namespaces[token])
                if (token, namespace) not in hardware:
                    hardware[(token, namespace)] = client.list_inference_endpoints_hardware(
                        namespace
                    )
                existing = client.get_inference_endpoint(namespace, name)
                status = (existing or {}).get("status") or {}
                if (
                    wake
                    and existing
                    and status.get("state") == "scaledToZero"
                    and status.get("url")
                ):
                    # Elasticsearch validates an endpoint with a call: start the cold start now.
                    client.probe(str(status["url"]), str(existing.get("healthRoute") or "/health"))
        except HuggingFaceError as exc:
            problems.append(f"{source}: {path}: cannot check the hardware with Hugging Face: {exc}")
            continue
        vendors = hardware[(token, namespace)]
        problems.extend(
            f"{source}: {path}: {p}" for p in hardware_problems(vendors, inputs, existing)
        )
        compute, _ = find_compute(vendors, inputs)
        if compute is not None:
            log(f"es-inference: cost: {estimate(compute, inputs).describe(name)}")
        if existing is not None and _keeps_url(inputs, existing, namespace):
            stable[name] = str(existing["status"]["url"])
        state = (existing or {}).get("status", {}).get("state")
        if state in ("paused", "failed", "updateFailed"):
            # Elasticsearch rejects a paused endpoint (elastic/elasticsearch#112033).
            log(
                f"es-inference: huggingface endpoint {name!r} is {state} on Hugging Face; "
                "run pulumi up --refresh so the stack sees it and brings it back to running"
            )
    if problems:
        raise DeclarationError(source, problems)
    return stable
