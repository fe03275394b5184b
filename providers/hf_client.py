"""A client of Hugging Face's Inference Endpoints API: the routes ``huggingface_hub`` calls.

Why not ``huggingface_hub`` itself: its API base is the module constant
``constants.INFERENCE_ENDPOINTS_ENDPOINT`` (``https://api.endpoints.huggingface.cloud/v2``), read
by every ``HfApi`` method and settable by neither an argument nor the environment
(``HF_ENDPOINT`` moves only the Hub); ``set_client_factory`` replaces the ``httpx.Client`` but
not the URLs. Pointing it at another server would take patching a constant or rewriting
requests in a transport, so this module sends the same requests with httpx and takes the base
URL as a setting. Method names follow ``HfApi``'s.

Requests answered 429, 502, 503 or 504, and lost connections, are retried with exponential
backoff and jitter, honouring ``Retry-After`` (capped), until the deadline. Every message is
scrubbed of the token.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from providers.errors import HuggingFaceError, HuggingFaceUnreachable

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_HUB_URL",
    "HfSettings",
    "InferenceEndpointsClient",
    "hf_settings",
]

DEFAULT_API_URL = "https://api.endpoints.huggingface.cloud/v2"
DEFAULT_HUB_URL = "https://huggingface.co"
_RETRIED = (429, 502, 503, 504)


@dataclass(frozen=True)
class HfSettings:
    """Where the API is and how patiently to talk to it (no credential: the token is an input)."""

    api_url: str = DEFAULT_API_URL
    hub_url: str = DEFAULT_HUB_URL
    timeout: float = 30.0
    poll_interval: float = 5.0
    retry_deadline: float = 120.0
    max_retry_after: float = 30.0


def hf_settings(declared: Mapping[str, Any], env: Mapping[str, str]) -> HfSettings:
    """Settings from the stack file's ``huggingface:`` block, else the environment, else HF's."""
    return HfSettings(
        api_url=str(
            declared.get("api_url") or env.get("HF_ENDPOINTS_API_URL") or DEFAULT_API_URL
        ).rstrip("/"),
        hub_url=str(declared.get("hub_url") or env.get("HF_ENDPOINT") or DEFAULT_HUB_URL).rstrip(
            "/"
        ),
        timeout=float(declared.get("timeout") or 30.0),
        poll_interval=float(declared.get("poll_interval") or 5.0),
    )


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


def _hf_message(response: httpx.Response) -> str:
    # HF's errors are {"error": "..."} (what hf_raise_for_status reads), sometimes a header.
    header = response.headers.get("X-Error-Message")
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("error"):
        error = data["error"]
        return "; ".join(map(str, error)) if isinstance(error, list) else str(error)
    if header:
        return str(header)
    text = response.text.strip()
    return text[:200] if text and "<html" not in text.lower() else response.reason_phrase


def _retry_after(response: httpx.Response, cap: float) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return min(max(float(value), 0.0), cap) if value is not None else None
    except ValueError:
        return None


class InferenceEndpointsClient:
    """One token's view of the API; a context manager that closes its connection pool."""

    def __init__(
        self,
        settings: HfSettings,
        token: str,
        *,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._token = token
        self._on_retry = on_retry
        self._http = httpx.Client(
            timeout=settings.timeout, headers={"Authorization": f"Bearer {token}"}
        )

    def __enter__(self) -> InferenceEndpointsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(
        self,
        method: str,
        url: str,
        shown: str,
        json: Any = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        deadline = time.monotonic() + self.settings.retry_deadline
        attempt = 0
        ambiguous = False
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, json=json)
            except httpx.TransportError as exc:
                # A write whose response was lost may have been applied.
                ambiguous = ambiguous or method != "GET"
                reason = _scrub(f"{type(exc).__name__}: {exc}", self._token)
                if time.monotonic() >= deadline:
                    lost = HuggingFaceUnreachable(
                        f"{method} {shown} failed: no response from the Inference Endpoints API "
                        f"({reason})",
                        method=method,
                        path=shown,
                    )
                    lost.after_ambiguous_attempt = ambiguous
                    raise lost from None
                self._pause(attempt, None, f"{method} {shown}: {reason}; retrying")
                continue
            if response.status_code < 400 or response.status_code in allow:
                return response
            message = _scrub(_hf_message(response), self._token)
            if response.status_code in _RETRIED and time.monotonic() < deadline:
                self._pause(
                    attempt,
                    _retry_after(response, self.settings.max_retry_after),
                    f"{method} {shown}: {response.status_code} {message}; retrying",
                )
                continue
            error = HuggingFaceError(
                f"{method} {shown} failed: {response.status_code} {message}",
                method=method,
                path=shown,
                status=response.status_code,
            )
            error.after_ambiguous_attempt = ambiguous
            raise error

    def _pause(self, attempt: int, retry_after: float | None, message: str) -> None:
        if self._on_retry is not None:
            self._on_retry(f"hugging face: {message}")
        backoff = min(0.5 * 2 ** (attempt - 1), 10.0)
        time.sleep(retry_after if retry_after is not None else random.uniform(0, backoff))

    def _endpoint_path(self, namespace: str, name: str = "", action: str = "") -> str:
        path = f"/endpoint/{namespace}"
        if name:
            path += f"/{name}"
        if action:
            path += f"/{action}"
        return path

    def _call(
        self, method: str, path: str, json: Any = None, allow: tuple[int, ...] = ()
    ) -> httpx.Response:
        return self._request(method, self.settings.api_url + path, path, json=json, allow=allow)

    # --- HfApi's operations --------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        """The Hub's ``/api/whoami-v2``: the token's user and organisations."""
        url = f"{self.settings.hub_url}/api/whoami-v2"
        return dict(self._request("GET", url, "/api/whoami-v2").json())

    def default_namespace(self) -> str:
        """The token's user, as ``HfApi._get_namespace`` resolves it."""
        return str(self.whoami()["name"])

    def list_inference_endpoints_hardware(self, namespace: str) -> list[dict[str, Any]]:
        """``GET /provider/{namespace}``: vendors, regions and computes with price and quota."""
        return list(self._call("GET", f"/provider/{namespace}").json()["vendors"])

    def list_inference_endpoints(self, namespace: str) -> list[dict[str, Any]]:
        """``GET /endpoint/{namespace}``: the namespace's endpoints."""
        return list(self._call("GET", self._endpoint_path(namespace)).json()["items"])

    def create_inference_endpoint(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /endpoint/{namespace}``."""
        return dict(self._call("POST", self._endpoint_path(namespace), json=dict(body)).json())

    def get_inference_endpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        """``GET /endpoint/{namespace}/{name}``; None when HF has no such endpoint."""
        response = self._call("GET", self._endpoint_path(namespace, name), allow=(404,))
        return None if response.status_code == 404 else dict(response.json())

    def update_inference_endpoint(
        self, namespace: str, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PUT /endpoint/{namespace}/{name}`` with only the changed fields."""
        path = self._endpoint_path(namespace, name)
        return dict(self._call("PUT", path, json=dict(body)).json())

    def delete_inference_endpoint(self, namespace: str, name: str) -> bool:
        """``DELETE /endpoint/{namespace}/{name}``; False when it was already gone."""
        response = self._call("DELETE", self._endpoint_path(namespace, name), allow=(404,))
        return response.status_code != 404

    def pause_inference_endpoint(self, namespace: str, name: str) -> dict[str, Any]:
        """``POST …/pause``."""
        return dict(self._call("POST", self._endpoint_path(namespace, name, "pause")).json())

    def resume_inference_endpoint(self, namespace: str, name: str) -> dict[str, Any]:
        """``POST …/resume``; an endpoint already running is fine (``running_ok``)."""
        path = self._endpoint_path(namespace, name, "resume")
        response = self._call("POST", path, allow=(400,))
        if response.status_code == 400:
            if "already running" not in response.text:
                raise HuggingFaceError(
                    f"POST {path} failed: 400 {_scrub(_hf_message(response), self._token)}",
                    method="POST",
                    path=path,
                    status=400,
                )
            found = self.get_inference_endpoint(namespace, name)
            return found or {}
        return dict(response.json())

    def scale_to_zero_inference_endpoint(self, namespace: str, name: str) -> dict[str, Any]:
        """``POST …/scale-to-zero``."""
        path = self._endpoint_path(namespace, name, "scale-to-zero")
        return dict(self._call("POST", path).json())

    def probe(self, url: str, route: str) -> int | None:
        """One ``GET`` of the endpoint's health route: its status, or None without a response.

        A scaled-to-zero endpoint answers 503 and starts (a cold start), so this also wakes it.
        """
        try:
            return self._http.get(f"{url.rstrip('/')}/{route.lstrip('/')}").status_code
        except httpx.TransportError:
            return None
