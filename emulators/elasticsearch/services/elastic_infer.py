"""Perform inference on an `elastic` endpoint (`POST _inference/...`), through EIS.

ES's `ElasticInferenceService.doInfer` serves sparse_embedding, rerank and text_embedding
(`SUPPORTED_INFERENCE_ACTION_TASK_TYPES`); chat_completion answers ES's 400 that names the
`_stream` URL (`ServiceUtils.unsupportedTaskTypeForInference`, `useChatCompletionUrlMessage`)
and streams through `doUnifiedCompletionInfer`. The request checks are `InferenceAction
.Request.validate`'s (`hugging_face_infer.validate_request`); the calls are the validation
call's (`elastic.py`) with the request's input, `usage_context` from the request's
`input_type` (`ElasticInferenceServiceUsageContext`: search, ingest, else unspecified); the
answers are ES's result classes (`ElasticInferenceServiceSparseEmbeddingsResponseEntity`,
`...DenseEmbeddingsResponseEntity`, `...RerankResponseEntity`): `{"sparse_embedding":
[{"is_truncated": false, "embedding"}]}`, `{"text_embedding": [{"embedding"}]}`, `{"rerank":
[{"index", "relevance_score"}]}`; chunks of the stream in the unified format.

Not reproduced: truncation to `max_input_tokens` (`is_truncated` is always false), batching by
16 inputs, per-request `task_settings`, `top_n` and `return_documents`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ..validation import response_json, unreadable_response
from .base import EndpointConfig, ServiceCall
from .hugging_face_infer import check_task_type, unified_chunks, unified_messages, validate_request

__all__ = ["INFER_TASK_TYPES", "infer", "stream_chat"]

INFER_TASK_TYPES = ("sparse_embedding", "rerank", "text_embedding")
_USAGE = {"search": "search", "internal_search": "search"}
_USAGE.update(ingest="ingest", internal_ingest="ingest")

Post = Callable[[str, dict[str, Any]], httpx.Response]
"""(task type, body) → EIS's answer at that task type's path, already checked for a 2xx."""


def _listed(payload: Any, key: str, kind: type) -> list[Any]:
    items = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, kind) for i in items):
        raise unreadable_response()
    return items


def infer(call: ServiceCall, body: dict[str, Any], post: Post) -> Any:
    """Answer `POST _inference/<task_type>/<inference_id>` with EIS's results."""
    config = call.config
    task_type = config.task_type
    check_task_type(call, INFER_TASK_TYPES)
    inputs, query = validate_request(task_type, body)
    model = config.service_settings["model_id"]
    if task_type == "rerank":
        request = {"query": query, "model": model, "documents": inputs}
        results = _listed(response_json(post(task_type, request)), "results", dict)
        return {
            "rerank": [
                {"index": r.get("index"), "relevance_score": r.get("relevance_score")}
                for r in results
            ]
        }
    usage = _USAGE.get(str(body.get("input_type", "")).lower(), "unspecified")
    request = {"input": inputs, "model": model, "usage_context": usage}
    payload = response_json(post(task_type, request))
    if task_type == "sparse_embedding":
        sparse = _listed(payload, "data", dict)
        return {"sparse_embedding": [{"is_truncated": False, "embedding": e} for e in sparse]}
    dense = _listed(payload, "data", list)
    return {"text_embedding": [{"embedding": e} for e in dense]}


def stream_chat(config: EndpointConfig, body: dict[str, Any], post: Post) -> list[dict[str, Any]]:
    """Answer `POST _inference/chat_completion/<id>/_stream`: EIS's chunks, in order."""
    request = {"messages": unified_messages(body), "model": config.service_settings["model_id"]}
    request.update(n=1, stream=True)
    return unified_chunks(post("chat_completion", request), with_usage=False)
