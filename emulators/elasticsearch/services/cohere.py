"""The `cohere` inference service (text_embedding, rerank, completion).

Follows `CohereService`, `CohereServiceSettings.fromMap` (url, similarity, dimensions,
max_input_tokens, model_id; rate limit default 10000), `CohereEmbeddingsServiceSettings`
(embedding_type, default float), `CohereEmbeddingsTaskSettings` (input_type, truncate) and
`CohereRerankTaskSettings` (return_documents, top_n). `model_id` is required from 9.2
(before, optional). The validation call is Cohere's own API at `url` (default
`https://api.cohere.com`): `POST /v1/embed` with `texts`, `model`, `embedding_types`, the size
of `embeddings.float[0]` (or `embeddings[0]`) becoming `dimensions`; `POST /v1/rerank`;
`POST /v1/chat`; `Authorization: Bearer <api_key>`. The similarity is filled in from the
embedding type: dot_product for float, cosine for byte/int8.

Choices where the sources could not settle it:
- `url` is taken as the API's base (ES appends the path); the v2 API of 9.x is not emulated.
- completion from 8.14 (the rerank release), as the spec's task-type list suggests.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urljoin

from ..errors import status_exception
from ..settings import Problems, extract_required_string
from ..validation import EMBEDDING_SIZE_UNKNOWN, TEST_INPUT, TEST_QUERY, parsing_error
from ..versions import EsVersion, Gate
from .base import EndpointConfig, ServiceCall
from .external import (
    SIMILARITIES,
    ExternalService,
    Field,
    Validation,
    embedding_details,
    list_at,
    object_with,
)

__all__ = ["CohereService"]

BASE_URL = "https://api.cohere.com"
_ALWAYS = Gate((8, 11))
_LATER = Gate((8, 14))
_MODEL_REQUIRED = Gate(None, (9, 2))
_EMBED = ("text_embedding",)
_TYPES = ("binary", "bit", "byte", "float", "int8")


def _url(config: EndpointConfig, path: str) -> str:
    base = str(config.service_settings.get("url") or BASE_URL)
    return urljoin(base if base.endswith("/") else base + "/", path)


def _headers(config: EndpointConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.secret_settings['api_key']}"}


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"texts": [TEST_INPUT]}
    if config.service_settings.get("model_id"):
        body["model"] = config.service_settings["model_id"]
    body["embedding_types"] = [str(config.service_settings.get("embedding_type", "float"))]
    if config.task_settings.get("input_type"):
        body["input_type"] = config.task_settings["input_type"]
    if config.task_settings.get("truncate"):
        body["truncate"] = config.task_settings["truncate"]
    return body


def _embedding_size(payload: Any) -> int:
    if not isinstance(payload, dict):
        raise parsing_error("START_OBJECT", payload)
    embeddings = payload.get("embeddings")
    if isinstance(embeddings, dict):
        embeddings = next(iter(embeddings.values()), None)
    if not isinstance(embeddings, list) or not embeddings or not isinstance(embeddings[0], list):
        raise status_exception(EMBEDDING_SIZE_UNKNOWN)
    return len(embeddings[0])


class CohereService(ExternalService):
    """Cohere's embed, rerank and chat APIs, as ES's `cohere`."""

    name = "cohere"
    display_name = "Cohere"
    secret_keys = ("api_key",)
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": _ALWAYS,
        "rerank": _LATER,
        "completion": _LATER,
    }
    output_order = (
        "similarity",
        "dimensions",
        "max_input_tokens",
        "url",
        "model_id",
        "embedding_type",
    )
    service_fields = (
        Field("url", "optional_uri", label="URL"),
        Field("similarity", "enum", _EMBED, SIMILARITIES),
        Field("dimensions", "int", _EMBED),
        Field("max_input_tokens", "int", _EMBED),
        Field("model_id", label="Model ID"),
        Field("embedding_type", "enum", _EMBED, _TYPES),
    )
    task_fields = (
        Field("input_type", "enum", _EMBED, ("classification", "clustering", "ingest", "search")),
        Field("truncate", "enum", _EMBED, ("end", "none", "start")),
        Field("return_documents", "bool", ("rerank",)),
        Field("top_n", "int", ("rerank",)),
    )
    rate_limits: ClassVar[dict[str, int]] = {
        "text_embedding": 10000,
        "rerank": 10000,
        "completion": 10000,
    }
    validations: ClassVar[dict[str, Validation]] = {
        "text_embedding": Validation(
            lambda c: _url(c, "v1/embed"), _embed_body, _headers, _embedding_size
        ),
        "rerank": Validation(
            lambda c: _url(c, "v1/rerank"),
            lambda c: {
                "query": TEST_QUERY,
                "documents": [TEST_INPUT],
                **(
                    {"model": c.service_settings["model_id"]}
                    if "model_id" in c.service_settings
                    else {}
                ),
            },
            _headers,
            list_at("results"),
        ),
        "completion": Validation(
            lambda c: _url(c, "v1/chat"),
            lambda c: {"message": TEST_INPUT, "model": c.service_settings.get("model_id")},
            _headers,
            object_with("text"),
        ),
    }

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        settings = config.get("service_settings")
        if _MODEL_REQUIRED(version) and isinstance(settings, dict) and "model_id" not in settings:
            problems = Problems()
            extract_required_string(settings, "model_id", "service_settings", problems)
            problems.raise_if_any()
        parsed = super().parse_request_config(config, task_type, version, inserted=inserted)
        if task_type == "text_embedding":
            parsed.service_settings.setdefault("embedding_type", "float")
            for f in ("truncate",):
                if f in parsed.task_settings:
                    parsed.task_settings[f] = str(parsed.task_settings[f]).upper()
        return parsed

    def validate(self, call: ServiceCall) -> EndpointConfig:
        validated = super().validate(call)
        if validated.task_type != "text_embedding":
            return validated
        kind = validated.service_settings.get("embedding_type", "float")
        similarity = "dot_product" if kind == "float" else "cosine"
        return embedding_details(
            validated, validated.service_settings.get("dimensions"), similarity
        )
