"""A loopback stand-in for the third-party inference APIs the emulator's services call at PUT.

One server answers the request shapes of OpenAI (`/v1/embeddings`, `/v1/chat/completions`; also
Mistral's, Jina's and Voyage's embeddings), Azure OpenAI
(`/openai/deployments/<id>/embeddings|chat/completions`), Cohere (`/v1|v2/embed`,
`/v1|v2/rerank`, `/v1|v2/chat`; also Jina's and Voyage's rerank) and Anthropic (`/v1/messages`), as those services document them and as Elasticsearch's
response parsers read them (`OpenAiEmbeddingsResponseEntity`, `CohereEmbeddingsResponseEntity`,
`CohereRankedResponseEntity`). A key it does not know answers 401 with the vendor's error body.
Embeddings are the Hugging Face server's deterministic hash vectors (8 dimensions unless the
request asks for `dimensions`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.admin import EmulatorApp, json_response
from emulators.huggingface.inference_server import HashEmbedder

__all__ = ["DEFAULT_DIMENSIONS", "VendorServer"]

DEFAULT_DIMENSIONS = 8


class VendorServer(EmulatorApp):
    """OpenAI-, Azure-OpenAI- and Cohere-shaped inference APIs with the emulators' admin API."""

    def __init__(self, *, api_keys: Collection[str] | None = None) -> None:
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        self._routes = Map(
            [
                Rule("/v1/embeddings", endpoint="openai_embed", methods=["POST"]),
                Rule("/v1/chat/completions", endpoint="openai_chat", methods=["POST"]),
                Rule(
                    "/openai/deployments/<d>/embeddings", endpoint="openai_embed", methods=["POST"]
                ),
                Rule(
                    "/openai/deployments/<d>/chat/completions",
                    endpoint="openai_chat",
                    methods=["POST"],
                ),
                Rule("/<v>/embed", endpoint="cohere_embed", methods=["POST"]),
                Rule("/<v>/rerank", endpoint="cohere_rerank", methods=["POST"]),
                Rule("/<v>/chat", endpoint="cohere_chat", methods=["POST"]),
                Rule("/v1/messages", endpoint="anthropic_messages", methods=["POST"]),
            ],
            strict_slashes=False,
        )
        super().__init__()

    @staticmethod
    def _key(request: Request) -> str | None:
        for header in ("api-key", "x-api-key"):
            if request.headers.get(header):
                return request.headers[header]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def log_extras(self, request: Request) -> dict[str, Any]:
        """Record a hash of the credential (never the credential), the headers ES sends, the body."""
        key = self._key(request)
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except ValueError:
            body = None
        return {
            "key_sha256": hashlib.sha256(key.encode()).hexdigest() if key else None,
            "organization": request.headers.get("OpenAI-Organization"),
            "body": body,
        }

    def handle(self, request: Request) -> Response:
        """Answer one vendor API call."""
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, _ = adapter.match()
        except HTTPException as exc:
            return json_response({"error": {"message": exc.description}}, exc.code or 404)
        if self.api_keys is not None and self._key(request) not in self.api_keys:
            message = "Incorrect API key provided"
            if str(endpoint).startswith("cohere"):
                return json_response({"message": "invalid api token"}, 401)
            return json_response(
                {"error": {"message": message, "type": "invalid_request_error"}}, 401
            )
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return json_response({"error": {"message": "We could not parse the JSON body"}}, 400)
        if not isinstance(body, dict):
            return json_response({"error": {"message": "The body must be an object"}}, 400)
        return json_response(getattr(self, f"_{endpoint}")(body), 200)

    @staticmethod
    def _vectors(texts: list[Any], dimensions: Any) -> list[list[float]]:
        size = dimensions if isinstance(dimensions, int) and dimensions > 0 else DEFAULT_DIMENSIONS
        embedder = HashEmbedder(size)
        return embedder.embed([str(t) for t in texts])

    def _openai_embed(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("input")
        texts: list[Any] = raw if isinstance(raw, list) else [raw]
        vectors = self._vectors(texts, body.get("dimensions", body.get("output_dimension")))
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
            ],
            "model": body.get("model", "deployment"),
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
        }

    @staticmethod
    def _openai_chat(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "chatcmpl-lab",
            "object": "chat.completion",
            "model": body.get("model", "deployment"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "big enough"},
                    "finish_reason": "stop",
                }
            ],
        }

    def _cohere_embed(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("texts")
        texts: list[Any] = raw if isinstance(raw, list) else []
        vectors = self._vectors(texts, body.get("output_dimension"))
        types = body.get("embedding_types")
        embeddings: Any = vectors
        if isinstance(types, list) and types:
            embeddings = {str(t): vectors for t in types}
        return {
            "id": "lab",
            "texts": texts,
            "embeddings": embeddings,
            "response_type": "embeddings_floats",
        }

    @staticmethod
    def _cohere_rerank(body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("documents")
        documents: list[Any] = raw if isinstance(raw, list) else []
        results = [
            {"index": i, "relevance_score": round(1 / (i + 1), 4)} for i in range(len(documents))
        ]
        # Cohere and Jina answer `results`, Voyage `data`: one stand-in serves them all.
        return {"id": "lab", "results": results, "data": results}

    @staticmethod
    def _anthropic_messages(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "msg_lab",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": "big enough"}],
            "stop_reason": "end_turn",
        }

    @staticmethod
    def _cohere_chat(body: dict[str, Any]) -> dict[str, Any]:
        del body
        return {"response_id": "lab", "text": "big enough", "finish_reason": "COMPLETE"}
