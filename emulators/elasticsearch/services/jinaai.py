"""The `jinaai` inference service (text_embedding, rerank).

Follows `JinaAIService`, `JinaAIServiceSettings.fromMap` (model_id required; rate limit default
2000), `JinaAIEmbeddingsServiceSettings` (similarity, dimensions, max_input_tokens,
embedding_type default float) and `JinaAIEmbeddingsTaskSettings` / `JinaAIRerankTaskSettings`
(input_type; return_documents, top_n). The validation call is Jina's API
(`https://api.jina.ai/v1/embeddings` with `model`, `input`, `embedding_type`;
`/v1/rerank` with `model`, `query`, `documents`), `Authorization: Bearer <api_key>`; embeddings
come in OpenAI's shape, rerank results as `results[].relevance_score`.

Choices where the sources could not settle it: the similarity filled in at PUT is dot_product
for float embeddings (the spec's wording), cosine otherwise; late_chunking is not emulated.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..validation import TEST_INPUT
from ..versions import EsVersion, Gate
from .base import EndpointConfig
from .external import (
    SIMILARITIES,
    ExternalService,
    Field,
    Validation,
    embeddings_validation,
    rerank_validation,
)

__all__ = ["JinaAiService"]

API = "https://api.jina.ai/v1"
_EMBED = ("text_embedding",)


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": config.service_settings["model_id"],
        "input": [TEST_INPUT],
        "embedding_type": config.service_settings.get("embedding_type", "float"),
    }
    if config.task_settings.get("input_type"):
        body["task"] = config.task_settings["input_type"]
    return body


class JinaAiService(ExternalService):
    """Jina AI's embeddings and rerank APIs, as ES's `jinaai`."""

    name = "jinaai"
    display_name = "Jina AI"
    secret_keys = ("api_key",)
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": Gate((8, 18)),
        "rerank": Gate((8, 18)),
    }
    output_order = ("model_id", "similarity", "dimensions", "max_input_tokens", "embedding_type")
    service_fields = (
        Field("model_id", "required", label="Model ID"),
        Field("similarity", "enum", _EMBED, SIMILARITIES),
        Field("dimensions", "int", _EMBED),
        Field("max_input_tokens", "int", _EMBED),
        Field("embedding_type", "enum", _EMBED, ("binary", "bit", "float")),
    )
    task_fields = (
        Field("input_type", "enum", _EMBED, ("classification", "clustering", "ingest", "search")),
        Field("return_documents", "bool", ("rerank",)),
        Field("top_n", "int", ("rerank",)),
    )
    rate_limits: ClassVar[dict[str, int]] = {"text_embedding": 2000, "rerank": 2000}
    default_similarity = "dot_product"
    validations: ClassVar[dict[str, Validation]] = {
        "text_embedding": embeddings_validation(f"{API}/embeddings", _embed_body),
        "rerank": rerank_validation(f"{API}/rerank", "results"),
    }

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        parsed = super().parse_request_config(config, task_type, version, inserted=inserted)
        if task_type == "text_embedding":
            parsed.service_settings.setdefault("embedding_type", "float")
        return parsed
