"""Elasticsearch inference endpoints as code: a Pulumi dynamic provider and its tools.

``InferenceEndpoint``, ``InferenceEndpointProvider``, ``HuggingFaceEndpoint`` and
``HuggingFaceEndpointProvider`` are imported on first use, so importing the package (or
``providers.client``) does not import Pulumi.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

# httpx's own __init__ tries to import its command-line client (httpx._main: click, pygments and
# rich) and falls back to a stub when one is missing. Where click and pygments are installed
# (they are here, for pytest and Flask; so are they in many pipeline images) and rich is not,
# that try costs ~23 ms CPU of every provider process's first request, on the critical path of
# every command (bench/levers.md). No provider process runs httpx's CLI, so the stub is taken
# at once. A process that imported httpx before this package keeps its CLI.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from providers.huggingface_endpoint import HuggingFaceEndpoint, HuggingFaceEndpointProvider
    from providers.inference_endpoint import InferenceEndpoint, InferenceEndpointProvider

__all__ = [
    "HuggingFaceEndpoint",
    "HuggingFaceEndpointProvider",
    "InferenceEndpoint",
    "InferenceEndpointProvider",
]


def __getattr__(name: str) -> Any:
    if name.startswith("HuggingFace") and name in __all__:
        from providers import huggingface_endpoint

        return getattr(huggingface_endpoint, name)
    if name in __all__:
        from providers import inference_endpoint

        return getattr(inference_endpoint, name)
    raise AttributeError(f"module 'providers' has no attribute {name!r}")
