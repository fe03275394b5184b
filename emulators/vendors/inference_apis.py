"""A loopback stand-in for the third-party inference APIs the emulator's services call at PUT.

One server answers the request shapes of OpenAI (`/v1/embeddings`, `/v1/chat/completions`; also
Mistral's, Jina's and Voyage's embeddings), Azure OpenAI
(`/openai/deployments/<id>/embeddings|chat/completions`), Cohere (`/v1|v2/embed`,
`/v1|v2/rerank`, `/v1|v2/chat`; also Jina's and Voyage's rerank) and Anthropic (`/v1/messages`), as those services document them and as Elasticsearch's
response parsers read them (`OpenAiEmbeddingsResponseEntity`, `CohereEmbeddingsResponseEntity`,
`CohereRankedResponseEntity`). A key it does not know answers 401 with the vendor's error body.
It is also an OAuth2 token endpoint (RFC 6749 §4.4, client credentials) at `/oauth2/token` and
at the Microsoft identity platform's `/<tenant>/oauth2/v2.0/token`: it issues a Bearer token
(`access_token`, `token_type`, `expires_in`) to a known client id and secret, sent with HTTP
Basic or in the form, and answers an unknown pair OAuth's 401 `invalid_client`; the inference
routes then accept the tokens it issued. The log records the form without the secret.
Embeddings are the Hugging Face server's deterministic hash vectors (8 dimensions unless the
request asks for `dimensions`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.admin import EmulatorApp, json_response
from emulators.huggingface.inference_server import HashEmbedder

__all__ = ["DEFAULT_DIMENSIONS", "TOKEN_LIFETIME", "VendorServer"]

DEFAULT_DIMENSIONS = 8
TOKEN_LIFETIME = 3600


class VendorServer(EmulatorApp):
    """OpenAI-, Azure-OpenAI- and Cohere-shaped inference APIs with the emulators' admin API."""

    def __init__(
        self,
        *,
        api_keys: Collection[str] | None = None,
        oauth_clients: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        # client id → the secrets it accepts (a rotation keeps the old one valid a while).
        self.oauth_clients = {k: frozenset(v) for k, v in (oauth_clients or {}).items()}
        self._tokens: set[str] = set()
        self._tokens_lock = threading.Lock()
        self._routes = Map(
            [
                Rule("/oauth2/token", endpoint="token", methods=["POST"]),
                Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
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
        """Record a hash of the credential (never the credential), the headers ES sends, the body.

        A form (a token request) is recorded without its `client_secret`.
        """
        key = self._key(request)
        extras: dict[str, Any] = {
            "key_sha256": hashlib.sha256(key.encode()).hexdigest() if key else None,
            "organization": request.headers.get("OpenAI-Organization"),
        }
        if request.mimetype == "application/x-www-form-urlencoded":
            form = request.form.to_dict(flat=True)
            extras["body"] = None
            extras["form"] = {k: v for k, v in form.items() if k != "client_secret"}
            extras["client_auth"] = (
                "basic" if request.authorization is not None else "form" if form else None
            )
            return extras
        try:
            extras["body"] = json.loads(request.get_data(cache=True) or b"null")
        except ValueError:
            extras["body"] = None
        return extras

    def reset_state(self) -> None:
        with self._tokens_lock:
            self._tokens.clear()

    @staticmethod
    def _client(request: Request) -> tuple[str | None, str | None]:
        """The client id and secret: HTTP Basic (form-encoded parts) or the form's fields."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None, None
            client_id, _, secret = pair.partition(":")
            return unquote(client_id), unquote(secret)
        return request.form.get("client_id"), request.form.get("client_secret")

    def _token(self, request: Request) -> Response:
        """RFC 6749 §4.4: a client-credentials grant for a known client id and secret."""
        if request.form.get("grant_type") != "client_credentials":
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Only client_credentials is supported",
                },
                400,
            )
        client_id, secret = self._client(request)
        if client_id is None or secret not in self.oauth_clients.get(client_id, ()):
            return json_response(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                },
                401,
            )
        token = f"lab-token-{secrets.token_hex(12)}"
        with self._tokens_lock:
            self._tokens.add(token)
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": request.form.get("scope", ""),
        }
        return json_response(body, 200)

    def _known(self, key: str | None) -> bool:
        if self.api_keys is None or key in self.api_keys:
            return True
        with self._tokens_lock:
            return key in self._tokens

    def handle(self, request: Request) -> Response:
        """Answer one vendor API call."""
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, _ = adapter.match()
        except HTTPException as exc:
            return json_response({"error": {"message": exc.description}}, exc.code or 404)
        if endpoint == "token":
            return self._token(request)
        if not self._known(self._key(request)):
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
