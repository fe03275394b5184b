"""Perform inference on a `hugging_face` endpoint (`POST _inference/...`), as Elasticsearch does.

The request checks follow `InferenceAction.Request.validate`
(x-pack/plugin/core/.../inference/action/InferenceAction.java: "Field [input] cannot be null",
"... cannot be an empty array", "Field [query] cannot be null for task type [rerank]"); the
call to Hugging Face is the one the PUT's validation call makes (`hugging_face._validation_body`,
§2.4 of the reference) with the request's input, sent by `validation.send`; failures are
`validation.unsuccessful_response` (`BaseResponseHandler`: a 4xx keeps its status, anything else
is 400). The
answers are the shapes of `specification/inference/_types/Results.ts` in the
elasticsearch-specification, from ES's result classes:

- text_embedding: `TextEmbeddingFloatResults`, `{"text_embedding": [{"embedding": [...]}]}`;
- sparse_embedding: `SparseEmbeddingResults`, `{"sparse_embedding": [{"is_truncated": false,
  "embedding": {token: weight}}]}`;
- rerank: `RankedDocsResults`, `{"rerank": [{"index", "relevance_score", "text"?}]}`, from HF's
  `[{"index", "score", "text"?}]`;
- completion: `ChatCompletionResults`, `{"completion": [{"result": "..."}]}`;
- chat_completion: only through `POST …/_stream` (the unified API); a plain POST is ES's 400
  "... please use the _inference/chat_completion/<id>/_stream URL." (the message of ES's service
  tests, e.g. OpenAiServiceTests; the list of task types is hugging_face's, unconfirmed). The
  stream is server-sent events, `event: message` with OpenAI-style `chat.completion.chunk` data,
  then `[DONE]`. A body without `messages` is refused with a message worded here (unconfirmed).

`elastic_infer.py` shares the request checks (`validate_request`), the refusal of a streamed
task type on a plain POST (`check_task_type`) and the unified chat stream (`unified_messages`,
`unified_chunks`); `hugging_face.py`'s validation call posts through `post`.

Not reproduced: per-request `task_settings` and `input_type`, chunking of long inputs, truncation (`is_truncated` is always false), and the 9.x `return_documents`/`top_n`
request fields.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import EsError, status_exception
from ..validation import response_json, send, unreadable_response, unsuccessful_response
from .base import ServiceCall

__all__ = [
    "INFER_TASK_TYPES",
    "check_task_type",
    "infer",
    "post",
    "stream_chat",
    "unified_chunks",
    "unified_messages",
    "validate_request",
]

# What a plain POST serves; chat_completion streams only.
INFER_TASK_TYPES = ("text_embedding", "sparse_embedding", "rerank", "completion")


def _validation_failed(message: str) -> EsError:
    return EsError(
        "action_request_validation_exception", f"Validation Failed: 1: {message};", status=400
    )


def validate_request(task_type: str, body: dict[str, Any]) -> tuple[list[str], str | None]:
    """The inputs and query of a perform-inference body; raise ES's 400 when they are missing."""
    raw = body.get("input")
    if raw is None:
        raise _validation_failed("Field [input] cannot be null")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise EsError(
            "x_content_parse_exception", "[inference_request] failed to parse field [input]"
        )
    if not inputs:
        raise _validation_failed("Field [input] cannot be an empty array")
    query = body.get("query")
    if task_type == "rerank":
        if query is None:
            raise _validation_failed("Field [query] cannot be null for task type [rerank]")
        if query == "":
            raise _validation_failed("Field [query] cannot be empty for task type [rerank]")
    return inputs, query if isinstance(query, str) else None


def _hf_body(
    task_type: str,
    inputs: list[str],
    query: str | None,
    service_settings: dict[str, Any],
    task_settings: dict[str, Any],
) -> dict[str, Any]:
    if task_type in ("text_embedding", "sparse_embedding"):
        return {"inputs": inputs}
    if task_type == "rerank":
        body: dict[str, Any] = {"texts": inputs, "query": query}
        if "return_documents" in task_settings:
            body["return_text"] = task_settings["return_documents"]
        if "top_n" in task_settings:
            body["top_n"] = task_settings["top_n"]
        return body
    body = {"messages": [{"content": inputs[0], "role": "user"}]}
    if service_settings.get("model_id"):
        body["model"] = service_settings["model_id"]
    body["n"] = 1
    body["stream"] = False
    return body


def post(call: ServiceCall, body: dict[str, Any], seconds: float) -> httpx.Response:
    """POST `body` to the endpoint's `url` with its key; `unsuccessful_response` unless 2xx."""
    config = call.config
    headers = {"Authorization": f"Bearer {config.secret_settings['api_key']}"}
    url = str(config.service_settings.get("url", ""))
    response = send(call.inference_id, url, body, headers, call.settings, seconds)
    if not 200 <= response.status_code < 300:
        raise unsuccessful_response(call.inference_id, response)
    return response


def _es_result(task_type: str, payload: Any) -> dict[str, Any]:
    if task_type == "text_embedding":
        vectors = payload.get("embeddings") if isinstance(payload, dict) else payload
        if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
            raise unreadable_response()
        return {"text_embedding": [{"embedding": v} for v in vectors]}
    if task_type == "sparse_embedding":
        if not isinstance(payload, list) or not all(isinstance(v, dict) for v in payload):
            raise unreadable_response()
        return {"sparse_embedding": [{"is_truncated": False, "embedding": v} for v in payload]}
    if task_type == "rerank":
        if not isinstance(payload, list) or not all(isinstance(v, dict) for v in payload):
            raise unreadable_response()
        ranked = []
        for item in payload:
            document: dict[str, Any] = {
                "index": item.get("index"),
                "relevance_score": item.get("score"),
            }
            if "text" in item:
                document["text"] = item["text"]
            ranked.append(document)
        return {"rerank": ranked}
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices:
        raise unreadable_response()
    return {
        "completion": [
            {"result": str((c.get("message") or {}).get("content", ""))}
            for c in choices
            if isinstance(c, dict)
        ]
    }


def check_task_type(call: ServiceCall, served: tuple[str, ...]) -> None:
    """ES's 400 for a plain POST on a task type the service only streams (or does not serve)."""
    task_type, inference_id = call.config.task_type, call.inference_id
    if task_type not in served:
        raise status_exception(
            f"Inference entity [{inference_id}] does not support task type [{task_type}] for "
            f"inference, the task type must be one of [{', '.join(served)}]. The task "
            f"type for the inference entity is {task_type}, please use the "
            f"_inference/{task_type}/{inference_id}/_stream URL."
        )


def unified_messages(body: dict[str, Any]) -> list[Any]:
    """The `messages` of a unified chat request; ES's 400 when there are none."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _validation_failed("Field [messages] cannot be null if using the unified schema")
    return messages


def unified_chunks(response: httpx.Response, *, with_usage: bool) -> list[dict[str, Any]]:
    """The server-sent events of a streamed chat answer as unified chunks, in order.

    `with_usage` passes on a chunk's `usage` (Hugging Face's; EIS's chunks show none).
    """
    chunks: list[dict[str, Any]] = []
    for line in response.text.splitlines():
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if not data or data == "[DONE]":
            continue
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise unreadable_response() from exc
        unified = {
            "id": chunk.get("id"),
            "choices": chunk.get("choices") or [],
            "model": chunk.get("model"),
            "object": "chat.completion.chunk",
        }
        if with_usage and chunk.get("usage"):
            unified["usage"] = chunk["usage"]
        chunks.append(unified)
    return chunks


def infer(call: ServiceCall, body: dict[str, Any]) -> dict[str, Any]:
    """Answer `POST _inference/<task_type>/<inference_id>` by calling the endpoint's `url`."""
    config = call.config
    task_type = config.task_type
    check_task_type(call, INFER_TASK_TYPES)
    inputs, query = validate_request(task_type, body)
    request = _hf_body(task_type, inputs, query, config.service_settings, config.task_settings)
    return _es_result(task_type, response_json(post(call, request, call.seconds)))


def stream_chat(call: ServiceCall, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer `POST _inference/chat_completion/<id>/_stream`: the chunks, in order.

    The unified request's `messages` go to the endpoint's `url` with `stream: true`; each chunk
    Hugging Face streams back is passed on in the unified format.
    """
    request: dict[str, Any] = {"messages": unified_messages(body)}
    if call.config.service_settings.get("model_id"):
        request["model"] = call.config.service_settings["model_id"]
    request.update(n=1, stream=True, stream_options={"include_usage": True})
    return unified_chunks(post(call, request, call.seconds), with_usage=True)
