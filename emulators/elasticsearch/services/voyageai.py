"""The `voyageai` inference service (text_embedding, rerank).

Follows `VoyageAIService`, `VoyageAIServiceSettings.fromMap` (model_id required; rate limit
default 2000), `VoyageAIEmbeddingsServiceSettings` (dimensions, max_input_tokens,
embedding_type) and the task settings (input_type ingest/search, truncation; return_documents,
top_k, truncation), with the secret `api_key`. The validation call is Voyage's API
(`https://api.voyageai.com/v1/embeddings` with `model`, `input`, `input_type` as
document/query, `output_dimension`, `output_dtype`; `/v1/rerank` with `model`, `query`,
`documents`), `Authorization: Bearer <api_key>`; embeddings in OpenAI's shape, rerank results
as `data[].relevance_score`.

Choices where the sources could not settle it: the similarity filled in at PUT is dot_product.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..validation import TEST_INPUT
from ..versions import Gate
from .base import EndpointConfig
from .external import ExternalService, Field, Validation, embeddings_validation, rerank_validation

__all__ = ["VoyageAiService"]

API = "https://api.voyageai.com/v1"
_EMBED = ("text_embedding",)
_INPUT_TYPES = {"ingest": "document", "search": "query"}


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    settings, task = config.service_settings, config.task_settings
    body: dict[str, Any] = {"model": settings["model_id"], "input": [TEST_INPUT]}
    if task.get("input_type"):
        body["input_type"] = _INPUT_TYPES[str(task["input_type"])]
    if settings.get("dimensions") is not None:
        body["output_dimension"] = settings["dimensions"]
    if settings.get("embedding_type"):
        body["output_dtype"] = settings["embedding_type"]
    return body


class VoyageAiService(ExternalService):
    """Voyage AI's embeddings and rerank APIs, as ES's `voyageai`."""

    name = "voyageai"
    display_name = "Voyage AI"
    secret_keys = ("api_key",)
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": Gate((8, 19), (9, 1)),
        "rerank": Gate((8, 19), (9, 1)),
    }
    output_order = ("model_id", "similarity", "dimensions", "max_input_tokens", "embedding_type")
    service_fields = (
        Field("model_id", "required", label="Model ID"),
        Field("dimensions", "int", _EMBED),
        Field("max_input_tokens", "int", _EMBED),
        Field("embedding_type", "enum", _EMBED, ("float", "int8", "bit")),
    )
    task_fields = (
        Field("input_type", "enum", _EMBED, ("ingest", "search")),
        Field("return_documents", "bool", ("rerank",)),
        Field("top_k", "int", ("rerank",)),
        Field("truncation", "bool"),
    )
    rate_limits: ClassVar[dict[str, int]] = {"text_embedding": 2000, "rerank": 2000}
    default_similarity = "dot_product"
    validations: ClassVar[dict[str, Validation]] = {
        "text_embedding": embeddings_validation(f"{API}/embeddings", _embed_body),
        "rerank": rerank_validation(f"{API}/rerank", "data"),
    }
