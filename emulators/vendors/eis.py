"""A loopback stand-in for the Elastic Inference Service (EIS), the gateway behind ES's `elastic`.

Elasticsearch reaches EIS at its node setting `xpack.inference.elastic.url`; the cluster is
known to EIS by its mTLS certificate, so no request carries a credential. The stand-in answers:
- `GET /api/v1/authorizations`: `{"models": [{"model_name", "task_types": [EIS task type]}]}`,
  the shape ES parses up to 9.2 (`ElasticInferenceServiceAuthorizationResponseEntity`, v1,
  elastic/elasticsearch#120235);
- `GET /api/v2/authorizations`: `{"inference_endpoints": [{"id", "model_name", "task_types":
  {"eis", "elasticsearch"}, "status", "release_date"}]}`, the shape ES parses
  from 9.3 (`AuthorizationResponseEntity`, elastic/elasticsearch#138249);
- `POST /api/v1/embed/text/sparse` (`{"input", "model", "usage_context"}` → `{"data": [{token:
  weight}]}`), `POST /api/v1/embed/text/dense` (→ `{"data": [[float]]}`),
  `POST /api/v1/rerank/text/text-similarity` (`{"query", "model", "documents", "top_n"}` →
  `{"results": [{"index", "relevance_score"}]}`) and `POST /api/v1/chat` (OpenAI-style chat,
  answered as server-sent events), the request entities and response parsers of
  `services/elastic/request` and `services/elastic/response`.

A model the stand-in does not authorize for the path's task type answers 400 with EIS's error
body `{"error": "..."}` (`ElasticInferenceServiceErrorResponseEntity`; the status and wording
of the real gateway's refusal are not in ES's source, so they are this stand-in's choice). Vectors are the Hugging
Face server's deterministic hash vectors (`DENSE_DIMENSIONS` dimensions).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.admin import EmulatorApp, json_response
from emulators.huggingface.inference_server import HashEmbedder

__all__ = ["DEFAULT_MODELS", "DENSE_DIMENSIONS", "EIS_TASK_TYPES", "EisServer"]

DENSE_DIMENSIONS = 16
EIS_TASK_TYPES = {
    "sparse_embedding": "embed/text/sparse",
    "text_embedding": "embed/text/dense",
    "rerank": "rerank/text/text-similarity",
    "chat_completion": "chat",
}
"""Elasticsearch's task type → the EIS task type (and path under `/api/v1/`)."""

DEFAULT_MODELS: Mapping[str, tuple[str, ...]] = {
    "rainbow-sprinkles": ("chat_completion",),
    "elser-v2": ("sparse_embedding",),
    "elser_model_2": ("sparse_embedding",),
    "multilingual-embed-v1": ("text_embedding",),
    "rerank-v1": ("rerank",),
}
"""What a lab's EIS authorizes: the default models of every ES version (model → task types)."""


def _endpoint_id(model: str) -> str:
    known = {"elser_model_2": ".elser-2-elastic"}
    return known.get(model, f".{model.replace('_', '-')}-elastic")


class EisServer(EmulatorApp):
    """EIS's authorization and inference API for the models in `models` (model → task types)."""

    def __init__(self, models: Mapping[str, tuple[str, ...]] = DEFAULT_MODELS) -> None:
        self.models = {name: tuple(tasks) for name, tasks in models.items()}
        rules = [
            Rule("/api/v1/authorizations", endpoint="authorizations_v1", methods=["GET"]),
            Rule("/api/v2/authorizations", endpoint="authorizations_v2", methods=["GET"]),
        ]
        rules += [
            Rule(f"/api/v1/{path}", endpoint=task, methods=["POST"])
            for task, path in EIS_TASK_TYPES.items()
        ]
        self._routes = Map(rules, strict_slashes=False)
        super().__init__()

    def log_extras(self, request: Request) -> dict[str, Any]:
        """The body ES sent, and a hash of any credential (EIS expects none)."""
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except ValueError:
            body = None
        credential = request.headers.get("Authorization")
        return {
            "key_sha256": hashlib.sha256(credential.encode()).hexdigest() if credential else None,
            "body": body,
        }

    def handle(self, request: Request) -> Response:
        """Answer one EIS call."""
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, _ = adapter.match()
        except HTTPException as exc:
            return json_response({"error": exc.description}, exc.code or 404)
        if endpoint == "authorizations_v1":
            return json_response(self._authorizations_v1(), 200)
        if endpoint == "authorizations_v2":
            return json_response(self._authorizations_v2(), 200)
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return json_response({"error": "the request body is not JSON"}, 400)
        if not isinstance(body, dict):
            return json_response({"error": "the request body must be an object"}, 400)
        task_type = str(endpoint)
        model = body.get("model")
        if task_type not in self.models.get(str(model), ()):
            message = f"Model [{model}] is not authorized for task [{EIS_TASK_TYPES[task_type]}]"
            return json_response({"error": message}, 400)
        if task_type == "chat_completion":
            return self._chat(body)
        return json_response(getattr(self, f"_{task_type}")(body), 200)

    def _authorizations_v1(self) -> dict[str, Any]:
        return {
            "models": [
                {"model_name": name, "task_types": [EIS_TASK_TYPES[t] for t in tasks]}
                for name, tasks in self.models.items()
            ]
        }

    def _authorizations_v2(self) -> dict[str, Any]:
        endpoints = []
        for name, tasks in self.models.items():
            for task in tasks:
                endpoint: dict[str, Any] = {
                    "id": _endpoint_id(name),
                    "model_name": name,
                    "task_types": {"eis": EIS_TASK_TYPES[task], "elasticsearch": task},
                    "status": "ga",
                    "release_date": "2025-01-01",
                }
                endpoints.append(endpoint)
        return {"inference_endpoints": endpoints}

    @staticmethod
    def _texts(body: dict[str, Any], key: str) -> list[str]:
        raw = body.get(key)
        items: list[Any] = raw if isinstance(raw, list) else [raw]
        return [str(item) for item in items]

    def _sparse_embedding(self, body: dict[str, Any]) -> dict[str, Any]:
        data = []
        for text in self._texts(body, "input"):
            tokens = text.lower().split() or ["empty"]
            data.append({t: round(1.0 + (len(t) % 7) / 10, 3) for t in tokens})
        return {"data": data, "meta": {"usage": {"total_tokens": len(data)}}}

    def _text_embedding(self, body: dict[str, Any]) -> dict[str, Any]:
        vectors = HashEmbedder(DENSE_DIMENSIONS).embed(self._texts(body, "input"))
        return {"data": vectors, "meta": {"usage": {"total_tokens": len(vectors)}}}

    def _rerank(self, body: dict[str, Any]) -> dict[str, Any]:
        documents = self._texts(body, "documents")
        results = [
            {"index": i, "relevance_score": round(1 / (i + 1), 4)} for i in range(len(documents))
        ]
        top_n = body.get("top_n")
        if isinstance(top_n, int) and top_n > 0:
            results = results[:top_n]
        return {"results": results}

    @staticmethod
    def _chat(body: dict[str, Any]) -> Response:
        chunk = {
            "id": "chatcmpl-eis",
            "object": "chat.completion.chunk",
            "model": body.get("model"),
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "big enough"}}],
        }
        events = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
        return Response(events, 200, content_type="text/event-stream")
