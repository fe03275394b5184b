"""The validation call ES makes to Hugging Face at PUT (and, from 9.4, at update) time.

Requests follow §2.4 of the reference; failures follow `HuggingFaceResponseHandler` and are
wrapped in ES's 400 "Could not complete inference endpoint creation…" error. HF 429/502/503
are retried (at most twice more) as ES's retrying sender does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import EsError, status_exception
from .services.hugging_face import EndpointConfig

__all__ = [
    "LOOPBACK_HOSTS",
    "VALIDATION_FAILED",
    "ValidationSettings",
    "validate_endpoint",
]

VALIDATION_FAILED = (
    "Could not complete inference endpoint creation as validation call to service threw"
    " an exception."
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TEST_INPUT = "how big"
TEST_QUERY = "test query"
_RETRYABLE = (429, 502, 503)


class ValidationSettings:
    """How the emulator makes validation calls: timeout, retries, backoff and reachable hosts."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.2,
        allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.allowed_hosts = None if allowed_hosts is None else frozenset(allowed_hosts)


def _request_body(config: EndpointConfig) -> dict[str, Any]:
    if config.task_type in ("text_embedding", "sparse_embedding"):
        return {"inputs": [TEST_INPUT]}
    if config.task_type == "rerank":
        body: dict[str, Any] = {"texts": [TEST_INPUT], "query": TEST_QUERY}
        if "return_documents" in config.task_settings:
            body["return_text"] = config.task_settings["return_documents"]
        if "top_n" in config.task_settings:
            body["top_n"] = config.task_settings["top_n"]
        return body
    body = {"messages": [{"content": TEST_INPUT, "role": "user"}]}
    if config.service_settings.get("model_id"):
        body["model"] = config.service_settings["model_id"]
    body["n"] = 1
    if config.task_type == "chat_completion":
        body.update(stream=True, stream_options={"include_usage": True})
    else:
        body["stream"] = False
    return body


def _provider_error(inference_id: str, response: httpx.Response) -> EsError:
    code = response.status_code
    if code in _RETRYABLE:
        prefix = "Received a rate limit status code"
    elif code >= 500:
        prefix = "Received a server error status code"
    elif code == 401:
        prefix = "Received an authentication error status code"
    elif code == 413:
        prefix = "Received a content too large status code"
    elif 300 <= code < 400:
        prefix = "Unhandled redirection"
    else:
        prefix = "Received an unsuccessful status code"
    message = f"{prefix} for request from inference entity id [{inference_id}] status [{code}]"
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str):
        message += f". Error message: [{detail}]"
    error_type = "content_too_large_exception" if code == 413 else "status_exception"
    return EsError(error_type, message, status=code if code < 500 else 400)


def _token_name(value: Any) -> str:
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, int | float):
        return "VALUE_NUMBER"
    return "VALUE_NULL"


def _parsing(expected: str, found: Any) -> EsError:
    return EsError(
        "parsing_exception",
        f"Failed to parse object: expecting token of type [{expected}]"
        f" but found [{_token_name(found)}]",
    )


def _embedding_size(payload: Any) -> int:
    if isinstance(payload, dict):
        payload = payload.get("embeddings")
    if not isinstance(payload, list):
        raise _parsing("START_ARRAY", payload)
    if not payload or not isinstance(payload[0], list) or not payload[0]:
        raise status_exception("Could not determine embedding size")
    return len(payload[0])


def _check_payload(task_type: str, payload: Any) -> None:
    if task_type in ("sparse_embedding", "rerank"):
        if not isinstance(payload, list):
            raise _parsing("START_ARRAY", payload)
        for item in payload:
            if not isinstance(item, dict):
                raise _parsing("START_OBJECT", item)
    elif task_type == "completion" and not (isinstance(payload, dict) and "choices" in payload):
        raise _parsing("START_OBJECT", payload)


def _transport_failure(inference_id: str, exc: httpx.TransportError) -> EsError:
    if isinstance(exc, httpx.ConnectTimeout):
        cause = EsError("socket_timeout_exception", "Connect timed out", elasticsearch=False)
    elif isinstance(exc, httpx.TimeoutException):
        cause = EsError("socket_timeout_exception", "Read timed out", elasticsearch=False)
    elif isinstance(exc, httpx.ConnectError):
        cause = EsError("connect_exception", "Connection refused", elasticsearch=False)
    else:
        cause = EsError(
            "connection_closed_exception", "Connection closed unexpectedly", elasticsearch=False
        )
    return EsError(
        "exception",
        f"Http client failed to send request from inference entity id [{inference_id}]",
        cause=cause,
    )


def _call(
    inference_id: str, config: EndpointConfig, settings: ValidationSettings, timeout: float
) -> int | None:
    url = str(config.service_settings.get("url", ""))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EsError(
            "exception",
            f"Http client failed to send request from inference entity id [{inference_id}]",
            cause=EsError(
                "client_protocol_exception", "Target host is not specified", elasticsearch=False
            ),
        )
    if settings.allowed_hosts is not None and parts.hostname not in settings.allowed_hosts:
        # The emulator never leaves the machine: other hosts behave like unresolvable names.
        raise status_exception(f"Invalid host [{url}], please check that the URL is correct.")
    headers = {"Authorization": f"Bearer {config.api_key}", "Content-Type": "application/json"}
    content = json.dumps(_request_body(config))
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        for attempt in range(settings.retries + 1):
            try:
                response = client.post(url, content=content, headers=headers)
            except httpx.TransportError as exc:
                raise _transport_failure(inference_id, exc) from exc
            except httpx.InvalidURL as exc:
                raise EsError(
                    "exception",
                    f"Http client failed to send request from inference entity id [{inference_id}]",
                    cause=EsError("client_protocol_exception", str(exc), elasticsearch=False),
                ) from exc
            if response.status_code in _RETRYABLE and attempt < settings.retries:
                time.sleep(settings.backoff)
                continue
            break
    if not 200 <= response.status_code < 300:
        raise _provider_error(inference_id, response)
    if config.task_type == "chat_completion":
        return None
    try:
        payload = response.json()
    except ValueError as exc:
        raise EsError("parsing_exception", "Failed to parse the response from the service") from exc
    if config.task_type == "text_embedding":
        return _embedding_size(payload)
    _check_payload(config.task_type, payload)
    return None


def validate_endpoint(
    inference_id: str,
    config: EndpointConfig,
    settings: ValidationSettings,
    *,
    timeout: float | None = None,
) -> int | None:
    """Make the validation call; return the discovered embedding size (text_embedding only).

    Raises `EsError`: the 400 "Could not complete inference endpoint creation…" wrapper
    around the provider's error, or a bare 400 when the embedding size cannot be read.
    """
    limit = settings.timeout if timeout is None else min(timeout, settings.timeout)
    try:
        return _call(inference_id, config, settings, max(limit, 0.001))
    except EsError as exc:
        if exc.reason == "Could not determine embedding size":
            raise
        raise status_exception(VALIDATION_FAILED, cause=exc) from exc
