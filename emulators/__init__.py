"""A faithful, stateful emulator of Elasticsearch's Inference API and a Hugging Face test server."""

from __future__ import annotations

from .elasticsearch.app import ElasticsearchEmulator
from .elasticsearch.store import SKIP_VALIDATION_SETTING
from .elasticsearch.versions import DEFAULT_ES_VERSION
from .huggingface.inference_server import HuggingFaceServer, ModelUnavailable
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
