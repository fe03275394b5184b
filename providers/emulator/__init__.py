"""A faithful, stateful emulator of Elasticsearch's Inference API and a Hugging Face test server."""

from __future__ import annotations

from .elasticsearch import ElasticsearchEmulator
from .es_cluster import SKIP_VALIDATION_SETTING
from .huggingface import HuggingFaceServer, ModelUnavailable
from .serve import RunningServer, serve
from .versions import DEFAULT_ES_VERSION

__all__ = [
    "DEFAULT_ES_VERSION",
    "SKIP_VALIDATION_SETTING",
    "ElasticsearchEmulator",
    "HuggingFaceServer",
    "ModelUnavailable",
    "RunningServer",
    "serve",
]
