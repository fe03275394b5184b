"""How ES calls a service at PUT (and, from 9.4, at update): the sender every service shares.

`send` posts one JSON request the way ES's retrying HTTP sender does (HF 429/502/503 are
retried at most twice more), maps transport failures to ES's "Http client failed to send
request…" error and never leaves the machine (hosts outside `allowed_hosts` fail like an
unresolvable name). `unsuccessful_response` is `BaseResponseHandler`'s wording for a non-2xx
answer. `run_validation` wraps a failure in ES's 400 "Could not complete inference endpoint
creation…" error. `TEST_INPUT` and `TEST_QUERY` are what every validation call sends
(`SimpleServiceIntegrationValidator`: `how big`, and `test query` for rerank).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from .errors import EsError, status_exception
from .settings import java_type

__all__ = [
    "EMBEDDING_SIZE_UNKNOWN",
    "LOOPBACK_HOSTS",
    "TEST_INPUT",
    "TEST_QUERY",
    "VALIDATION_FAILED",
    "ValidationSettings",
    "parsing_error",
    "response_json",
    "run_validation",
    "send",
    "unreadable_response",
    "unsuccessful_response",
    "with_error_message",
]

VALIDATION_FAILED = (
    "Could not complete inference endpoint creation as validation call to service threw"
    " an exception."
)
EMBEDDING_SIZE_UNKNOWN = "Could not determine embedding size"
TEST_INPUT = "how big"
TEST_QUERY = "test query"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_RETRYABLE = (429, 502, 503)
# ES calls services through one pooled HTTP client per node (`HttpClientManager`,
# x-pack/plugin/inference/src/main/java/org/elasticsearch/xpack/inference/external/http/
# HttpClientManager.java; the settings are in the reference's "Inference API HTTP settings"):
# `xpack.inference.http.max_total_connections` 50 (its name and default since 8.15, #108219, so in
# every version the emulator serves, 8.17-9.5), idle connections evicted after
# `xpack.inference.http.connection_eviction_interval`, 1 minute. So a connection to a service
# is kept alive between calls and TLS is set up once, not per call. An emulator process serves
# one node, so its pool lives as long as the process, as ES's lives as long as the node.
_POOL = httpx.Limits(max_connections=50, max_keepalive_connections=50, keepalive_expiry=60.0)
_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _pooled_client() -> httpx.Client:
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(trust_env=False, follow_redirects=False, limits=_POOL)
        return _client


T = TypeVar("T")


class ValidationSettings:
    """How the emulator makes validation calls: timeout, retries, backoff and reachable hosts."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.2,
        allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS,
        routes: Mapping[str, str] | None = None,
        node_settings: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.allowed_hosts = None if allowed_hosts is None else frozenset(allowed_hosts)
        # A service's fixed host (api.openai.com, <resource>.openai.azure.com) → a loopback
        # stand-in's base URL; the path and query are kept.
        self.routes = dict(routes or {})
        # The node's static settings (`elasticsearch.yml`, `-E`) that services read, such as
        # `xpack.inference.elastic.url`; and what services learned when the node started.
        self.node_settings = dict(node_settings or {})
        self.service_state: dict[str, Any] = {}

    @property
    def client(self) -> httpx.Client:
        """The pooled HTTP client for the services the node calls."""
        return _pooled_client()

    def route(self, url: str) -> str:
        """``url`` with its host replaced by its stand-in's, when one is routed."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        base = self.routes.get(host) or next(
            (b for h, b in self.routes.items() if h.startswith("*.") and host.endswith(h[1:])),
            None,
        )
        if base is None:
            return url
        target = urlsplit(base)
        return parts._replace(scheme=target.scheme, netloc=target.netloc).geturl()


def _send_failed(inference_id: str, cause: EsError) -> EsError:
    return EsError(
        "exception",
        f"Http client failed to send request from inference entity id [{inference_id}]",
        cause=cause,
    )


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
    return _send_failed(inference_id, cause)


def send(
    inference_id: str,
    url: str,
    body: Any,
    headers: Mapping[str, str],
    settings: ValidationSettings,
    timeout: float,
    *,
    form: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST `body` as JSON (or `form` URL-encoded) to `url`, retrying 429/502/503.

    Raises `EsError` when it cannot send.
    """
    url = settings.route(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _send_failed(
            inference_id,
            EsError(
                "client_protocol_exception", "Target host is not specified", elasticsearch=False
            ),
        )
    if settings.allowed_hosts is not None and parts.hostname not in settings.allowed_hosts:
        raise status_exception(f"Invalid host [{url}], please check that the URL is correct.")
    content = json.dumps(body) if form is None else urlencode(form)
    kind = "application/json" if form is None else "application/x-www-form-urlencoded"
    all_headers = {"Content-Type": kind, **headers}
    client = settings.client
    for attempt in range(settings.retries + 1):
        try:
            response = client.post(url, content=content, headers=all_headers, timeout=timeout)
        except httpx.TransportError as exc:
            raise _transport_failure(inference_id, exc) from exc
        except httpx.InvalidURL as exc:
            raise _send_failed(
                inference_id,
                EsError("client_protocol_exception", str(exc), elasticsearch=False),
            ) from exc
        if response.status_code in _RETRYABLE and attempt < settings.retries:
            time.sleep(settings.backoff)
            continue
        break
    return response


def unsuccessful_response(inference_id: str, response: httpx.Response) -> EsError:
    """ES's error for a non-2xx answer from the service (`BaseResponseHandler`)."""
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
    message = with_error_message(message, response)
    error_type = "content_too_large_exception" if code == 413 else "status_exception"
    return EsError(error_type, message, status=code if code < 500 else 400)


def with_error_message(message: str, response: httpx.Response) -> str:
    """`message` followed by the answer's `error` string, when it carries one (ES's form)."""
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str):
        message += f". Error message: [{detail}]"
    return message


def unreadable_response() -> EsError:
    """ES's error for a service answer that is not the JSON it expects."""
    return EsError("parsing_exception", "Failed to parse the response from the service")


def response_json(response: httpx.Response) -> Any:
    """The answer's JSON; `unreadable_response` when it is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise unreadable_response() from exc


_TOKENS = {"Map": "START_OBJECT", "List": "START_ARRAY", "String": "VALUE_STRING"}
_TOKENS.update(Boolean="VALUE_BOOLEAN", Object="VALUE_NULL")


def _token_name(value: Any) -> str:
    return _TOKENS.get(java_type(value), "VALUE_NUMBER")


def parsing_error(expected: str, found: Any) -> EsError:
    """ES's `parsing_exception` for a service response of the wrong JSON shape."""
    return EsError(
        "parsing_exception",
        f"Failed to parse object: expecting token of type [{expected}]"
        f" but found [{_token_name(found)}]",
    )


def run_validation(call: Callable[[float], T], seconds: float) -> T:
    """Run `call(seconds)` (PUT's `timeout` capped by the emulator's); wrap its failure.

    The failure becomes ES's 400 "Could not complete inference endpoint creation…" around the
    service's error, except an unreadable embedding size, which ES reports bare.
    """
    try:
        return call(seconds)
    except EsError as exc:
        if exc.reason == EMBEDDING_SIZE_UNKNOWN:
            raise
        raise status_exception(VALIDATION_FAILED, cause=exc) from exc
