"""A faithful, stateful emulator of Elasticsearch's Inference API and a Hugging Face test server."""

from __future__ import annotations

from .elasticsearch import DEFAULT_ES_VERSION, SKIP_VALIDATION_SETTING, ElasticsearchEmulator
from .huggingface import HuggingFaceServer, ModelUnavailable
from .serve import RunningServer, serve

__all__ = [
    "DEFAULT_ES_VERSION",
    "SKIP_VALIDATION_SETTING",
    "ElasticsearchEmulator",
    "HuggingFaceServer",
    "ModelUnavailable",
    "RunningServer",
    "serve",
]
