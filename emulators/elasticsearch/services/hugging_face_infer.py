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

Not reproduced: per-request `task_settings` and `input_type`, chunking of long inputs, truncation (`is_truncated` is always false), and the 9.x `return_documents`/`top_n`
request fields.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import EsError, status_exception
from ..validation import ValidationSettings, send, unsuccessful_response
from .base import EndpointConfig

__all__ = ["INFER_TASK_TYPES", "infer", "stream_chat", "validate_request"]

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


def _post(
    inference_id: str,
    config: EndpointConfig,
    body: dict[str, Any],
    settings: ValidationSettings,
    timeout: float | None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {config.secret_settings['api_key']}"}
    url = str(config.service_settings.get("url", ""))
    seconds = settings.timeout if timeout is None else min(timeout, settings.timeout)
    response = send(inference_id, url, body, headers, settings, max(seconds, 0.001))
    if not 200 <= response.status_code < 300:
        raise unsuccessful_response(inference_id, response)
    return response


def _parsing_failure() -> EsError:
    return EsError("parsing_exception", "Failed to parse the response from the service")


def _es_result(task_type: str, payload: Any) -> dict[str, Any]:
    if task_type == "text_embedding":
        vectors = payload.get("embeddings") if isinstance(payload, dict) else payload
        if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
            raise _parsing_failure()
        return {"text_embedding": [{"embedding": v} for v in vectors]}
    if task_type == "sparse_embedding":
        if not isinstance(payload, list) or not all(isinstance(v, dict) for v in payload):
            raise _parsing_failure()
        return {"sparse_embedding": [{"is_truncated": False, "embedding": v} for v in payload]}
    if task_type == "rerank":
        if not isinstance(payload, list) or not all(isinstance(v, dict) for v in payload):
            raise _parsing_failure()
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
        raise _parsing_failure()
    return {
        "completion": [
            {"result": str((c.get("message") or {}).get("content", ""))}
            for c in choices
            if isinstance(c, dict)
        ]
    }


def infer(
    inference_id: str,
    config: EndpointConfig,
    body: dict[str, Any],
    settings: ValidationSettings,
    timeout: float | None,
) -> dict[str, Any]:
    """Answer `POST _inference/<task_type>/<inference_id>` by calling the endpoint's `url`."""
    task_type = config.task_type
    if task_type not in INFER_TASK_TYPES:
        raise status_exception(
            f"Inference entity [{inference_id}] does not support task type [{task_type}] for "
            f"inference, the task type must be one of [{', '.join(INFER_TASK_TYPES)}]. The task "
            f"type for the inference entity is {task_type}, please use the "
            f"_inference/{task_type}/{inference_id}/_stream URL."
        )
    inputs, query = validate_request(task_type, body)
    request = _hf_body(task_type, inputs, query, config.service_settings, config.task_settings)
    response = _post(inference_id, config, request, settings, timeout)
    try:
        payload = response.json()
    except ValueError as exc:
        raise _parsing_failure() from exc
    return _es_result(task_type, payload)


def stream_chat(
    inference_id: str,
    config: EndpointConfig,
    body: dict[str, Any],
    settings: ValidationSettings,
    timeout: float | None,
) -> list[dict[str, Any]]:
    """Answer `POST _inference/chat_completion/<id>/_stream`: the chunks, in order.

    The unified request's `messages` go to the endpoint's `url` with `stream: true`; each chunk
    Hugging Face streams back is passed on in the unified format.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _validation_failed("Field [messages] cannot be null if using the unified schema")
    request: dict[str, Any] = {"messages": messages}
    if config.service_settings.get("model_id"):
        request["model"] = config.service_settings["model_id"]
    request.update(n=1, stream=True, stream_options={"include_usage": True})
    response = _post(inference_id, config, request, settings, timeout)
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
                **({"usage": chunk["usage"]} if chunk.get("usage") else {}),
            }
        )
    return chunks
