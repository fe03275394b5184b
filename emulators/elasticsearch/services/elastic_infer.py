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

import json
from collections.abc import Callable
from typing import Any

import httpx

from ..errors import EsError, status_exception
from .base import EndpointConfig
from .hugging_face_infer import validate_request

__all__ = ["INFER_TASK_TYPES", "infer", "stream_chat"]

INFER_TASK_TYPES = ("sparse_embedding", "rerank", "text_embedding")
_USAGE = {"search": "search", "internal_search": "search"}
_USAGE.update(ingest="ingest", internal_ingest="ingest")

Post = Callable[[str, dict[str, Any]], httpx.Response]
"""(task type, body) → EIS's answer at that task type's path, already checked for a 2xx."""


def _parsing_failure() -> EsError:
    return EsError("parsing_exception", "Failed to parse the response from the service")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise _parsing_failure() from exc


def _listed(payload: Any, key: str, kind: type) -> list[Any]:
    items = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, kind) for i in items):
        raise _parsing_failure()
    return items


def infer(inference_id: str, config: EndpointConfig, body: dict[str, Any], post: Post) -> Any:
    """Answer `POST _inference/<task_type>/<inference_id>` with EIS's results."""
    task_type = config.task_type
    if task_type not in INFER_TASK_TYPES:
        raise status_exception(
            f"Inference entity [{inference_id}] does not support task type [{task_type}] for "
            f"inference, the task type must be one of [{', '.join(INFER_TASK_TYPES)}]. The task "
            f"type for the inference entity is {task_type}, please use the "
            f"_inference/{task_type}/{inference_id}/_stream URL."
        )
    inputs, query = validate_request(task_type, body)
    model = config.service_settings["model_id"]
    if task_type == "rerank":
        request = {"query": query, "model": model, "documents": inputs}
        results = _listed(_json(post(task_type, request)), "results", dict)
        return {
            "rerank": [
                {"index": r.get("index"), "relevance_score": r.get("relevance_score")}
                for r in results
            ]
        }
    usage = _USAGE.get(str(body.get("input_type", "")).lower(), "unspecified")
    request = {"input": inputs, "model": model, "usage_context": usage}
    payload = _json(post(task_type, request))
    if task_type == "sparse_embedding":
        sparse = _listed(payload, "data", dict)
        return {"sparse_embedding": [{"is_truncated": False, "embedding": e} for e in sparse]}
    dense = _listed(payload, "data", list)
    return {"text_embedding": [{"embedding": e} for e in dense]}


def stream_chat(config: EndpointConfig, body: dict[str, Any], post: Post) -> list[dict[str, Any]]:
    """Answer `POST _inference/chat_completion/<id>/_stream`: EIS's chunks, in order."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise EsError(
            "action_request_validation_exception",
            "Validation Failed: 1: Field [messages] cannot be null if using the unified schema;",
        )
    request = {"messages": messages, "model": config.service_settings["model_id"]}
    request.update(n=1, stream=True)
    response = post("chat_completion", request)
    chunks: list[dict[str, Any]] = []
    for line in response.text.splitlines():
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if not data or data == "[DONE]":
            continue
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise _parsing_failure() from exc
        chunks.append(
            {
                "id": chunk.get("id"),
                "choices": chunk.get("choices") or [],
                "model": chunk.get("model"),
                "object": "chat.completion.chunk",
            }
        )
    return chunks
