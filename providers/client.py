"""The Elasticsearch Inference API client: the only module that speaks HTTP.

Methods are named after Elasticsearch's API operations. Non-2xx answers become the typed errors of
``providers.errors`` in one place (``_error_from_response``), and transport failures become
``ElasticsearchUnreachable`` in another (``_send``). Retries (429, 502, 503, 504 and lost
connections, and a 400 whose cause says the service behind the endpoint answered with a rate-limit
status) use tenacity with exponential backoff and jitter, honour ``Retry-After`` up to a cap,
and stop at a per-operation deadline. A 4xx that is the caller's fault is never retried.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception
from tenacity.wait import wait_base, wait_exponential_jitter

from providers.behaviour import load_behaviour
from providers.connection import ConnectionSettings
from providers.errors import (
    SERVICE_BUSY_HINT,
    ConnectionSettingsError,
    ElasticsearchError,
    ElasticsearchUnreachable,
    EndpointConflict,
    EndpointInUse,
    EndpointNotFound,
)
from providers.versions import Version

__all__ = ["USER_AGENT", "ElasticsearchClient", "OutageBreaker", "TlsContexts", "scrub"]

USER_AGENT = "pulumi-es-inference/0.1.0"
_RETRY_STATUSES = {429, 502, 503, 504}
# A 400 whose cause is the service's rate limit (or cold start) stored nothing: retried.
_SERVICE_BUSY = "put.service_busy_stores_nothing"
_ENCODING_DER = 2  # _ssl.ENCODING_DER
_HTML_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# A 502/504 may come from a proxy after Elasticsearch already acted; 429/503 mean it did not.
_AMBIGUOUS_STATUSES = {502, 504}
# What OpenSSL says when the bytes after a ClientHello are not TLS at all (a plain-HTTP port
# answered "400 Bad Request"): retrying cannot help.
_NOT_TLS = (
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _not_tls(exc: BaseException) -> bool:
    """Whether a failed connection was an https:// URL answered by a plain-HTTP server."""
    return any(
        isinstance(cause, ssl.SSLError)
        and not isinstance(cause, ssl.SSLCertVerificationError)
        and any(marker in str(cause) for marker in _NOT_TLS)
        for cause in _causes(exc)
    )


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value replaced by ``[redacted]``."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


class _Retryable(Exception):
    """One failed attempt that is worth another: carries the error to raise if none follows."""

    def __init__(self, error: ElasticsearchError, retry_after: float | None, ambiguous: bool):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class _WaitRetryAfter(wait_base):
    """Exponential backoff with jitter, or the server's Retry-After (capped) when it sent one."""

    def __init__(self, initial: float, maximum: float, retry_after_cap: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)
        self._cap = retry_after_cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            return min(failure.retry_after, self._cap)
        return float(self._backoff(retry_state))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # neither seconds nor a date (e.g. from a proxy): use the normal backoff
    return max(0.0, parsed.timestamp() - time.time())


def _error_from_response(
    method: str,
    path: str,
    response: httpx.Response,
    inference_id: str,
    secrets: Sequence[str],
    hint: str = "",
) -> ElasticsearchError:
    """Turn a non-2xx answer into the right typed error, with Elasticsearch's type and reason."""
    status = response.status_code
    error_type, reason, details = "", "", []
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error_type, reason = str(error.get("type", "")), str(error.get("reason", ""))
        cause = error.get("caused_by")
        roots = error.get("root_cause") or []
        for extra in [cause, *(roots if isinstance(roots, list) else [])]:
            if isinstance(extra, dict) and extra.get("reason") not in (None, reason):
                line = f"{extra.get('type', '')}: {extra.get('reason')}"
                if line not in details:
                    details.append(line)
    elif isinstance(error, str):
        reason = error
    else:
        title = _HTML_TITLE.search(response.text)
        if title or "html" in response.headers.get("content-type", ""):
            # A proxy's error page: its title (or the status phrase), not its markup.
            reason = " ".join(title[1].split()) if title else response.reason_phrase
            reason = reason.removeprefix(f"{status} ")
        else:
            reason = " ".join(response.text.split())[:200] or response.reason_phrase
    kind: type[ElasticsearchError] = ElasticsearchError
    if status == 404 and error_type in ("resource_not_found_exception", ""):
        kind = EndpointNotFound
    elif error_type == "resource_already_exists_exception":
        kind = EndpointConflict
    elif status == 409:
        kind = EndpointInUse
    return kind.failed(
        method,
        path,
        status=status,
        error_type=scrub(error_type, secrets),
        reason=scrub(reason, secrets),
        caused_by=[scrub(line, secrets) for line in details],
        inference_id=inference_id,
        hint=scrub(hint, secrets),
    )


def _service_busy(error: ElasticsearchError) -> bool:
    """Whether Elasticsearch's 400 says the service kept answering with a rate-limit status."""
    rule = load_behaviour().rule(_SERVICE_BUSY)  # only on a 400: YAML stays off the happy path
    return str(rule.data["cause"]) in error.message


def _server_sent_events(text: str) -> dict[str, Any]:
    """A streamed answer as ``{"events": [each data object], "done": saw [DONE]}``."""
    events: list[Any] = []
    done = False
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            done = True
            continue
        try:
            events.append(json.loads(data))
        except ValueError:
            events.append(data)
    return {"events": events, "done": done}


def _certificate_chain(host: str, port: int, timeout: float) -> list[bytes]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        chain: list[bytes] = []
        getter = getattr(tls, "get_unverified_chain", None) or getattr(
            getattr(tls, "_sslobj", None), "get_unverified_chain", None
        )
        if getter is not None:
            for cert in getter() or []:
                # 3.13+ gives DER bytes; 3.10-3.12's private API gives _ssl.Certificate objects.
                chain.append(cert if isinstance(cert, bytes) else cert.public_bytes(_ENCODING_DER))
        leaf = tls.getpeercert(binary_form=True)
        if leaf and leaf not in chain:
            chain.insert(0, leaf)
        return chain


class TlsContexts:
    """The TLS verification for each URL and CA setting, built once (building one reads CA
    bundles, and a pin opens a connection). Thread-safe; a session shares one between clients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[tuple[object, ...], ssl.SSLContext | bool] = {}

    def verify_for(self, settings: ConnectionSettings, url: str) -> ssl.SSLContext | bool:
        """The ``verify`` argument of httpx for ``url``."""
        key = (url, settings.ca_file, settings.ca_fingerprint, settings.insecure)
        with self._lock:
            cached = self._contexts.get(key)
        if cached is not None:
            return cached
        verify = _verify(settings, url)
        with self._lock:
            return self._contexts.setdefault(key, verify)


def _verify(settings: ConnectionSettings, url: str) -> ssl.SSLContext | bool:
    verify: ssl.SSLContext | bool
    if settings.insecure:
        verify = False
    elif not url.startswith("https://"):
        # No TLS on http://, so no CA bundle to read (httpx's default reads certifi's: ~30 ms per
        # process). A context that trusts no CA: were it ever used, it would refuse every certificate.
        verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    elif settings.ca_fingerprint:
        parts = urlsplit(url)
        try:
            chain = _certificate_chain(parts.hostname or "", parts.port or 443, settings.timeout)
        except OSError as exc:  # refused, reset, timeout, TLS handshake: like any lost connection
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        pinned = [c for c in chain if hashlib.sha256(c).hexdigest() == settings.ca_fingerprint]
        if not pinned:
            raise ElasticsearchUnreachable.fingerprint_mismatch(url)
        # Trust exactly the pinned certificate; the pin replaces the hostname check. A pinned leaf
        # or intermediate is a trust anchor too (partial chain), as Elastic's clients accept
        # any certificate of the chain (elastic-transport's ssl_assert_fingerprint).
        verify = ssl.create_default_context(cadata=ssl.DER_cert_to_PEM_cert(pinned[0]))
        verify.check_hostname = False
        verify.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    elif settings.ca_file:
        try:
            verify = ssl.create_default_context(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionSettingsError(
                f"ca_file {settings.ca_file!r}: not a readable PEM CA certificate ({exc.strerror or exc})"
            ) from None
    else:
        verify = ssl.create_default_context()
    return verify


class OutageBreaker:
    """Remembers that a cluster gave no response for a whole retry deadline. Thread-safe.

    Shared by every request to one cluster (``providers.session`` keeps one per process and
    cluster), so an outage costs one deadline, not one per request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: ElasticsearchUnreachable | None = None

    def trip(self, error: ElasticsearchUnreachable) -> None:
        """Record the first request that gave up on the cluster."""
        with self._lock:
            if self._first is None:
                self._first = error

    def refuse(self, method: str, path: str, inference_id: str) -> None:
        """Raise at once, without sending, once the cluster has been found down."""
        with self._lock:
            first = self._first
        if first is not None:
            raise ElasticsearchUnreachable.not_sent(method, path, first, inference_id)


class ElasticsearchClient:
    """A client for one cluster. Thread-safe; reuse it for many requests, then ``close()``."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        on_retry: Callable[[str], None] | None = None,
        tls: TlsContexts | None = None,
        breaker: OutageBreaker | None = None,
    ) -> None:
        self.settings = settings
        self._tls = tls or TlsContexts()
        self._on_retry = on_retry
        self._breaker = breaker if breaker is not None else OutageBreaker()
        self._secrets = settings.secrets()
        self._clients: dict[str, httpx.Client] = {}
        self._transport = transport
        self._lock = threading.Lock()
        self._node = 0
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"ApiKey {settings.api_key}"
        elif settings.bearer_token:
            headers["Authorization"] = f"Bearer {settings.bearer_token}"
        self._headers = headers
        self._auth = (
            httpx.BasicAuth(settings.username, settings.password or "")
            if settings.username and "Authorization" not in headers
            else None
        )

    def __enter__(self) -> ElasticsearchClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _client_for(self, base_url: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(base_url)
        if client is not None:
            return client
        # Headers and credentials belong to the pooled client, not to each request: httpx merges
        # per-request ones into a new set of headers every time (bench/levers.md).
        if self._transport is not None:
            client = httpx.Client(
                base_url=base_url, transport=self._transport, headers=self._headers, auth=self._auth
            )
        else:
            verify = self._tls.verify_for(self.settings, base_url)
            client = httpx.Client(
                base_url=base_url,
                verify=verify,
                timeout=self.settings.timeout,
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
                headers=self._headers,
                auth=self._auth,
            )
        with self._lock:
            return self._clients.setdefault(base_url, client)

    @contextmanager
    def _send(self, method: str, path: str, base_url: str, inference_id: str) -> Iterator[None]:
        """Map httpx transport failures to ElasticsearchUnreachable, once."""
        try:
            yield
        except httpx.ConnectError as exc:
            if _not_tls(exc):
                error = ElasticsearchUnreachable.not_tls(base_url, method, path, inference_id)
                raise error from exc
            untrusted = isinstance(exc.__context__ or exc.__cause__, ssl.SSLCertVerificationError)
            # httpx keeps only the message of some verification failures.
            untrusted = untrusted or "CERTIFICATE_VERIFY_FAILED" in str(exc)
            error = self._unreachable(method, path, base_url, inference_id, exc, untrusted)
            if untrusted:
                # A certificate we do not trust stays untrusted: say so now, do not retry.
                raise error from exc
            raise _Retryable(error, None, ambiguous=False) from exc
        except httpx.ConnectTimeout as exc:
            error = self._unreachable(method, path, base_url, inference_id, exc)
            raise _Retryable(error, None, ambiguous=False) from exc
        except httpx.TransportError as exc:
            error = self._unreachable(method, path, base_url, inference_id, exc)
            raise _Retryable(error, None, ambiguous=True) from exc

    def _unreachable(
        self,
        method: str,
        path: str,
        base_url: str,
        inference_id: str,
        exc: Exception,
        untrusted_certificate: bool = False,
    ) -> ElasticsearchUnreachable:
        what = type(exc).__name__
        return ElasticsearchUnreachable.no_response(
            method,
            path,
            scrub(base_url, self._secrets),
            scrub(f"{what}: {str(exc) or what}", self._secrets),
            inference_id=inference_id,
            untrusted_certificate=untrusted_certificate,
        )

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
        inference_id: str,
        not_found_ok: bool,
        secrets: Sequence[str],
    ) -> dict[str, Any] | None:
        # Once any request has found the cluster down, refuse without sending (every attempt checks).
        self._breaker.refuse(method, path, inference_id)
        with self._lock:
            base_url = self.settings.endpoints[self._node % len(self.settings.endpoints)]
        try:
            with self._send(method, path, base_url, inference_id):
                client = self._client_for(base_url)
                response = client.request(method, path, params=params, json=body)
        except _Retryable:
            with self._lock:
                self._node += 1
            raise
        if response.is_success:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return _server_sent_events(response.text)
            parsed = response.json() if response.content else {}
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        hint = self.settings.refused_credentials_hint() if response.status_code == 401 else ""
        error = _error_from_response(method, path, response, inference_id, secrets, hint)
        if response.status_code == 404 and not_found_ok and isinstance(error, EndpointNotFound):
            return None
        if response.status_code in _RETRY_STATUSES:
            raise _Retryable(
                error, _retry_after(response), ambiguous=response.status_code in _AMBIGUOUS_STATUSES
            )
        if response.status_code == 400 and _service_busy(error):
            # The service behind the endpoint is overloaded or still starting (a scaled-to-zero
            # Hugging Face endpoint): Elasticsearch stored nothing, so the request is sent again.
            error.hint = SERVICE_BUSY_HINT
            raise _Retryable(error, None, ambiguous=False)
        raise error

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        inference_id: str = "",
        not_found_ok: bool = False,
        redact: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        """Send one request, retrying what is worth retrying until the deadline.

        The error raised last carries ``after_ambiguous_attempt=True`` when an earlier attempt may
        have reached Elasticsearch (its response was lost), so callers can make writes idempotent.
        ``redact`` lists more secrets (from the body) to keep out of messages.
        """
        secrets = [*self._secrets, *redact]
        started = time.monotonic()

        # The first attempt is made before any retry machinery is built: most requests succeed
        # at once, and building and entering tenacity's loop cost 70-90 µs of CPU per request,
        # more than the rest of this client (bench/levers.md). A retryable failure is handed to
        # the loop as its attempt 1. Each attempt first refuses at once if the cluster was found
        # down (the outage breaker).
        def attempt() -> dict[str, Any] | None:
            return self._attempt(method, path, params, body, inference_id, not_found_ok, secrets)

        try:
            return attempt()
        except _Retryable as failure:
            first = failure
        except ElasticsearchError as failed:
            failed.after_ambiguous_attempt = False
            raise
        return self._retry(attempt, first, started)

    def _retry(
        self,
        attempt: Callable[[], dict[str, Any] | None],
        first: _Retryable,
        started: float,
    ) -> dict[str, Any] | None:
        """Call ``attempt`` again until the deadline, counted from ``started``; ``first`` failed."""
        policy = self.settings.retry
        ambiguous = first.ambiguous
        replay: _Retryable | None = first

        def before_sleep(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            if isinstance(failure, _Retryable) and self._on_retry is not None:
                self._on_retry(
                    f"{failure.error}; retrying in {state.upcoming_sleep:.1f} s "
                    f"(attempt {state.attempt_number + 1})"
                )

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            wait=_WaitRetryAfter(
                policy.initial_backoff, policy.max_backoff, policy.max_retry_after
            ),
            stop=lambda _state: time.monotonic() - started >= policy.deadline,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for tried in retrying:
                with tried:
                    if replay is not None:
                        # Attempt 1 is the one already made: its failure decides the first wait.
                        failure, replay = replay, None
                        raise failure
                    try:
                        return attempt()
                    except _Retryable as failure:
                        ambiguous = ambiguous or failure.ambiguous
                        raise
                    except ElasticsearchError as failed:
                        failed.after_ambiguous_attempt = ambiguous
                        raise
        except _Retryable as failure:
            last = failure.error
            last.attempts = retrying.statistics.get("attempt_number", 1)
            last.elapsed = time.monotonic() - started
            last.after_ambiguous_attempt = ambiguous
            if isinstance(last, ElasticsearchUnreachable) and not ambiguous:
                # No connection could be made for a whole deadline: the cluster is down or cut
                # off. (A connection dropped after a request was sent is the request's fault
                # as much as the cluster's, and the caller may still need to look.)
                self._breaker.trip(last)
            raise last from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    # --- Elasticsearch operations -------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """``GET /``: the cluster's name, UUID and version."""
        return self.request("GET", "/") or {}

    def get_cluster_version(self) -> Version:
        """The cluster's version number, from ``GET /``."""
        number = self.info().get("version", {}).get("number", "")
        try:
            return Version.parse(str(number))
        except ValueError:
            raise ElasticsearchError.no_version(number) from None

    def put_inference_endpoint(
        self, task_type: str, inference_id: str, body: dict[str, Any], redact: Sequence[str] = ()
    ) -> dict[str, Any]:
        """``PUT /_inference/{task_type}/{inference_id}``: create; returns the stored endpoint.

        ``redact``: the body's secrets, in case an upstream error quotes them.
        """
        path = f"/_inference/{task_type}/{inference_id}"
        found = self.request("PUT", path, body=body, inference_id=inference_id, redact=redact)
        return found or {}

    def get_inference_endpoint(self, task_type: str, inference_id: str) -> dict[str, Any] | None:
        """``GET /_inference/{task_type}/{inference_id}``; None when it does not exist."""
        path = f"/_inference/{task_type}/{inference_id}"
        found = self.request("GET", path, inference_id=inference_id, not_found_ok=True)
        endpoints = (found or {}).get("endpoints") or []
        return dict(endpoints[0]) if endpoints else None

    def get_inference_endpoints(self) -> list[dict[str, Any]]:
        """``GET /_inference/_all``: every endpoint, preconfigured ones included."""
        found = self.request("GET", "/_inference/_all") or {}
        return [dict(e) for e in found.get("endpoints") or []]

    def update_inference_endpoint(
        self, task_type: str, inference_id: str, body: dict[str, Any], redact: Sequence[str] = ()
    ) -> dict[str, Any]:
        """``PUT /_inference/{task_type}/{inference_id}/_update``; returns the stored endpoint."""
        path = f"/_inference/{task_type}/{inference_id}/_update"
        found = self.request("PUT", path, body=body, inference_id=inference_id, redact=redact)
        return found or {}

    def delete_inference_endpoint(
        self, task_type: str, inference_id: str, *, dry_run: bool = False, force: bool = False
    ) -> dict[str, Any] | None:
        """``DELETE /_inference/{task_type}/{inference_id}``; None when it was already gone."""
        params = {k: "true" for k, on in (("dry_run", dry_run), ("force", force)) if on}
        path = f"/_inference/{task_type}/{inference_id}"
        return self.request(
            "DELETE", path, params=params or None, inference_id=inference_id, not_found_ok=True
        )

    def perform_inference(
        self, task_type: str, inference_id: str, body: dict[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        """``POST /_inference/{task_type}/{inference_id}`` (``…/_stream`` when ``stream``).

        A streamed answer (server-sent events) comes back as ``{"events": [...], "done": bool}``.
        """
        path = f"/_inference/{task_type}/{inference_id}{'/_stream' if stream else ''}"
        return self.request("POST", path, body=body, inference_id=inference_id) or {}

    def get_mapping(self) -> dict[str, Any]:
        """``GET /_mapping``: the mappings of every index, by index name."""
        return self.request("GET", "/_mapping") or {}
