"""Elasticsearch inference endpoints as code: a Pulumi dynamic provider and its tools.

``InferenceEndpoint``, ``InferenceEndpointProvider``, ``HuggingFaceEndpoint`` and
``HuggingFaceEndpointProvider`` are imported on first use, so importing the package (or
``providers.client``) does not import Pulumi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
