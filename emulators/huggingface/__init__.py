"""Hugging Face stand-ins: the inference server that Elasticsearch's `hugging_face` service calls."""

from __future__ import annotations

from .inference_server import HuggingFaceServer, ModelUnavailable

__all__ = ["HuggingFaceServer", "ModelUnavailable"]
