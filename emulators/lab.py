"""A lab on loopback: the Elasticsearch emulator and the Hugging Face test server, with controls.

Tests drive Elasticsearch only through HTTP, as they would drive a real cluster; the ``/_emulator``
admin API is used for what a real cluster cannot do (request log, faults, out-of-band edits).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from typing import Any

import httpx

from emulators import ElasticsearchEmulator, HuggingFaceServer, serve
from emulators.huggingface.endpoints_api import EndpointsApi, HubAccount, Timing
from emulators.vendors.aws import BedrockStandIn
from emulators.vendors.eis import EisServer
from emulators.vendors.google import GoogleStandIn, ServiceAccount, new_service_account
from emulators.vendors.inference_apis import VendorServer

__all__ = [
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ROTATED",
    "AWS_HOSTS",
    "AWS_SECRET_KEY",
    "AWS_SECRET_KEY_ROTATED",
    "GOOGLE_HOSTS",
    "HF_KEY",
    "HF_KEY_ROTATED",
    "HF_NAMESPACE",
    "HF_USER",
    "VENDOR_CLIENTS",
    "VENDOR_CLIENT_ID",
    "VENDOR_CLIENT_SECRET",
    "VENDOR_CLIENT_SECRET_ROTATED",
    "VENDOR_HOSTS",
    "VENDOR_KEY",
    "VENDOR_KEY_ROTATED",
    "Lab",
    "cloud_stand_ins",
    "google_service_account",
    "lab_servers",
]

HF_KEY = "hf_lab_KEY_0a1b2c3d"
HF_KEY_ROTATED = "hf_lab_ROTATED_9z8y7x"
HF_USER = "lab-user"
HF_NAMESPACE = "lab-org"
VENDOR_KEY = "sk-lab-KEY-4e5f6a7b"
VENDOR_KEY_ROTATED = "sk-lab-ROTATED-8c9d0e1f"
# The OAuth2 client the vendor stand-in's token endpoint knows, with its two secrets.
VENDOR_CLIENT_ID = "lab-client"
VENDOR_CLIENT_SECRET = "lab-secret-KEY-2a3b4c5d"
VENDOR_CLIENT_SECRET_ROTATED = "lab-secret-ROTATED-6e7f8a9b"
VENDOR_CLIENTS = {VENDOR_CLIENT_ID: (VENDOR_CLIENT_SECRET, VENDOR_CLIENT_SECRET_ROTATED)}
# The fixed hosts of third-party services, routed to the vendor stand-in.
VENDOR_HOSTS = (
    "api.openai.com",
    "api.cohere.com",
    "*.openai.azure.com",
    "api.mistral.ai",
    "api.anthropic.com",
    "api.jina.ai",
    "api.voyageai.com",
    "login.microsoftonline.com",
)
# AWS key pairs the Bedrock stand-in knows (fake, AWS-shaped); requests must be SigV4-signed.
AWS_ACCESS_KEY = "AKIALABKEY0EXAMPLE01"
AWS_SECRET_KEY = "lab/KEY/wJalrXUtnFEMI0K7MDENG0bPxRfiCY01"
AWS_ACCESS_KEY_ROTATED = "AKIALABKEY0EXAMPLE02"
AWS_SECRET_KEY_ROTATED = "lab/ROTATED/wJalrXUtnFEMI0K7MDENG0bPxRfi02"
# Hosts of the signed and token-authenticated clouds, each routed to its own stand-in.
AWS_HOSTS = ("*.amazonaws.com",)
GOOGLE_HOSTS = ("*.googleapis.com",)


def google_service_account(name: str = "lab") -> ServiceAccount:
    """This process's service-account key for `name` (made on first use, never stored)."""
    return _service_account(name)


@cache
def _service_account(name: str) -> ServiceAccount:
    return new_service_account(name)


def cloud_stand_ins(stack: ExitStack) -> tuple[dict[str, str], str, str]:
    """Serve the Bedrock and Google stand-ins on `stack`: (routes, bedrock URL, google URL).

    Bedrock accepts the AWS_* key pairs; Google the keys of `google_service_account("lab")`
    and `google_service_account("rotated")`.
    """
    bedrock = stack.enter_context(
        serve(
            BedrockStandIn(
                {AWS_ACCESS_KEY: AWS_SECRET_KEY, AWS_ACCESS_KEY_ROTATED: AWS_SECRET_KEY_ROTATED}
            )
        )
    )
    accounts = [google_service_account("lab"), google_service_account("rotated")]
    google = stack.enter_context(serve(GoogleStandIn(accounts)))
    routes = {**dict.fromkeys(AWS_HOSTS, bedrock.url), **dict.fromkeys(GOOGLE_HOSTS, google.url)}
    return routes, bedrock.url, google.url


class Lab:
    """Handles on a running emulator (``es``) and Hugging Face server (``hf``)."""

    def __init__(
        self,
        es_url: str,
        hf_url: str,
        endpoints_url: str | None = None,
        vendor_url: str = "",
        *,
        verify: ssl.SSLContext | bool = True,
        bedrock_url: str = "",
        google_url: str = "",
    ) -> None:
        self.es_url = es_url
        self.hf_url = hf_url
        self.endpoints_url = endpoints_url
        self.vendor_url = vendor_url
        self.eis_url = ""  # the Elastic Inference Service stand-in, when the lab serves one
        self.es = httpx.Client(base_url=es_url, timeout=30, verify=verify)
        self.hf = httpx.Client(base_url=hf_url, timeout=30, verify=verify)
        self.hfe = httpx.Client(base_url=endpoints_url or hf_url, timeout=30, verify=verify)
        self.vendor = httpx.Client(base_url=vendor_url or hf_url, timeout=30, verify=verify)
        self.bedrock = httpx.Client(base_url=bedrock_url or hf_url, timeout=30, verify=verify)
        self.google = httpx.Client(base_url=google_url or hf_url, timeout=30, verify=verify)

    def close(self) -> None:
        """Close the control clients."""
        self.es.close()
        self.hf.close()
        # Subclasses that build their own clients (tests' RecordingLab) may lack some.
        for name in ("vendor", "hfe", "bedrock", "google"):
            client = getattr(self, name, None)
            if client is not None:
                client.close()

    # --- the Hugging Face Inference Endpoints API (when served) -------------------------------
    @property
    def endpoints_api(self) -> str:
        """Base URL of the management API (``…/v2``), as a provider setting takes it."""
        assert self.endpoints_url is not None, "lab_servers(endpoints_api=True) serves it"
        return f"{self.endpoints_url}/v2"

    def hf_endpoint(self, name: str, namespace: str = HF_NAMESPACE) -> dict[str, Any] | None:
        """The HF endpoint as its API shows it, or None."""
        response = self.hfe.get(
            f"/v2/endpoint/{namespace}/{name}", headers={"Authorization": f"Bearer {HF_KEY}"}
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def hf_endpoint_names(self, namespace: str = HF_NAMESPACE) -> list[str]:
        """Names of the namespace's HF endpoints."""
        response = self.hfe.get(
            f"/v2/endpoint/{namespace}", headers={"Authorization": f"Bearer {HF_KEY}"}
        )
        response.raise_for_status()
        return sorted(item["name"] for item in response.json()["items"])

    def hf_action(self, name: str, action: str, namespace: str = HF_NAMESPACE) -> None:
        """Pause, resume or scale-to-zero an HF endpoint out of band, as an operator would."""
        self.hfe.post(
            f"/v2/endpoint/{namespace}/{name}/{action}",
            headers={"Authorization": f"Bearer {HF_KEY}"},
        ).raise_for_status()

    def hf_update(self, name: str, change: dict[str, Any], namespace: str = HF_NAMESPACE) -> None:
        """Change an HF endpoint out of band through its API."""
        self.hfe.put(
            f"/v2/endpoint/{namespace}/{name}",
            json=change,
            headers={"Authorization": f"Bearer {HF_KEY}"},
        ).raise_for_status()

    def hf_delete(self, name: str, namespace: str = HF_NAMESPACE) -> None:
        """Delete an HF endpoint out of band."""
        self.hfe.delete(
            f"/v2/endpoint/{namespace}/{name}", headers={"Authorization": f"Bearer {HF_KEY}"}
        ).raise_for_status()

    def hf_build_fault(self, on: str, name: str = "*", message: str | None = None) -> None:
        """Make the next matching create, update or resume end in failed / updateFailed."""
        spec: dict[str, Any] = {"on": on, "name": name}
        if message:
            spec["message"] = message
        self.hfe.post("/_emulator/build_faults", json=spec).raise_for_status()

    def hfe_fault(self, **spec: Any) -> None:
        """Schedule a fault (status, delay, drop) on the Inference Endpoints API."""
        self.hfe.post("/_emulator/faults", json=spec).raise_for_status()

    # --- what Elasticsearch holds -----------------------------------------------------------
    def endpoint(self, inference_id: str) -> dict[str, Any] | None:
        """The endpoint as a user sees it (GET), or None."""
        response = self.es.get(f"/_inference/{inference_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json()["endpoints"][0])

    def stored(self, inference_id: str) -> dict[str, Any] | None:
        """The endpoint as stored, with ``api_key_sha256`` in place of the key, or None."""
        response = self.es.get(f"/_emulator/endpoints/{inference_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def key_hash(self, inference_id: str) -> str:
        """sha256 of the api_key Elasticsearch holds for the endpoint."""
        stored = self.stored(inference_id)
        assert stored is not None, f"{inference_id} does not exist"
        return str(stored["service_settings"]["api_key_sha256"])

    def user_endpoint_ids(self) -> list[str]:
        """Ids of the endpoints users created (preconfigured ``.`` ids left out)."""
        found = self.es.get("/_inference/_all").json()["endpoints"]
        return sorted(e["inference_id"] for e in found if not e["inference_id"].startswith("."))

    # --- request log --------------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        """Every non-admin request the emulator received, in order."""
        return list(self.es.get("/_emulator/requests").json()["requests"])

    def calls(self) -> list[str]:
        """The request log as ``METHOD path?query`` strings."""
        out = []
        for r in self.requests():
            query = "&".join(f"{k}={v}" for k, v in sorted(r["query"].items()))
            out.append(f"{r['method']} {r['path']}{'?' + query if query else ''}")
        return out

    def mutations(self) -> list[dict[str, Any]]:
        """Requests that changed the emulator's state."""
        return [r for r in self.requests() if r["mutated"]]

    def clear_log(self) -> None:
        """Forget the request logs of both servers."""
        self.es.delete("/_emulator/requests").raise_for_status()
        self.hf.delete("/_emulator/requests").raise_for_status()

    # --- faults and out-of-band changes -------------------------------------------------------
    def fault(self, **spec: Any) -> None:
        """Schedule a fault on the emulator (see emulators.faults)."""
        self.es.post("/_emulator/faults", json=spec).raise_for_status()

    def hf_fault(self, **spec: Any) -> None:
        """Schedule a fault on the Hugging Face server."""
        self.hf.post("/_emulator/faults", json=spec).raise_for_status()

    def clear_faults(self) -> None:
        """Drop pending faults and rate limits on both servers."""
        for client in (self.es, self.hf):
            client.delete("/_emulator/faults").raise_for_status()
            client.delete("/_emulator/rate_limit").raise_for_status()

    def rate_limit(self, requests_per_second: float, burst: int) -> None:
        """Make the emulator answer 429 with Retry-After beyond this rate."""
        body = {"requests_per_second": requests_per_second, "burst": burst}
        self.es.put("/_emulator/rate_limit", json=body).raise_for_status()

    def patch(self, inference_id: str, change: dict[str, Any]) -> None:
        """Change a stored endpoint behind the provider's back (a JSON merge patch)."""
        self.es.patch(f"/_emulator/endpoints/{inference_id}", json=change).raise_for_status()

    def delete_out_of_band(self, inference_id: str) -> None:
        """Delete an endpoint through the real API, as an operator would."""
        self.es.delete(f"/_inference/{inference_id}", params={"force": "true"}).raise_for_status()

    def delete_user_endpoints(self) -> None:
        """Delete every endpoint users created, out of band (preconfigured ones stay)."""
        for inference_id in self.user_endpoint_ids():
            self.delete_out_of_band(inference_id)

    def put_pipeline(self, pipeline_id: str, inference_id: str) -> None:
        """An ingest pipeline whose inference processor uses the endpoint."""
        body = {
            "processors": [
                {
                    "inference": {
                        "model_id": inference_id,
                        "input_output": [{"input_field": "text", "output_field": "vector"}],
                    }
                }
            ]
        }
        self.es.put(f"/_ingest/pipeline/{pipeline_id}", json=body).raise_for_status()

    def delete_pipeline(self, pipeline_id: str) -> None:
        """Remove an ingest pipeline."""
        self.es.delete(f"/_ingest/pipeline/{pipeline_id}").raise_for_status()

    def put_index(self, index: str, inference_id: str) -> None:
        """An index with a semantic_text field that uses the endpoint."""
        body = {
            "mappings": {
                "properties": {"content": {"type": "semantic_text", "inference_id": inference_id}}
            }
        }
        self.es.put(f"/{index}", json=body).raise_for_status()


@contextmanager
def lab_servers(
    *,
    es_version: str = "9.1.0",
    hf_keys: list[str] | None = None,
    endpoints_api: Timing | None = None,
    **emulator: Any,
) -> Iterator[Lab]:
    """Serve a fresh emulator, Hugging Face server and vendor stand-in on 127.0.0.1.

    The emulator routes the fixed hosts of third-party services (VENDOR_HOSTS) to the vendor
    stand-in, which accepts VENDOR_KEY and VENDOR_KEY_ROTATED, and issues OAuth2 tokens to
    VENDOR_CLIENT_ID with VENDOR_CLIENT_SECRET or VENDOR_CLIENT_SECRET_ROTATED; AWS_HOSTS and
    GOOGLE_HOSTS to the Bedrock and Google stand-ins (`cloud_stand_ins`); the emulator reaches
    the Elastic Inference Service stand-in (`emulators.vendors.eis`, its default models) through its
    node setting `xpack.inference.elastic.url`. With ``endpoints_api`` (its transition timing),
    also the Inference Endpoints API emulator, whose endpoints accept HF_KEY and HF_KEY_ROTATED
    for the namespaces HF_USER, HF_NAMESPACE.
    """
    keys = hf_keys or [HF_KEY, HF_KEY_ROTATED]
    hf_app = HuggingFaceServer(api_keys=keys)
    vendor_app = VendorServer(
        api_keys=[VENDOR_KEY, VENDOR_KEY_ROTATED], oauth_clients=VENDOR_CLIENTS
    )
    emulator.setdefault("retry_backoff", 0.01)
    with ExitStack() as stack:
        hf_server = stack.enter_context(serve(hf_app))
        vendor_server = stack.enter_context(serve(vendor_app))
        clouds, bedrock_url, google_url = cloud_stand_ins(stack)
        emulator.setdefault(
            "service_routes", {**dict.fromkeys(VENDOR_HOSTS, vendor_server.url), **clouds}
        )
        # The Elastic Inference Service, as the node setting `xpack.inference.elastic.url`.
        eis_server = stack.enter_context(serve(EisServer()))
        emulator.setdefault("node_settings", {"xpack.inference.elastic.url": eis_server.url})
        es_app = ElasticsearchEmulator(version=es_version, **emulator)
        es_server = stack.enter_context(serve(es_app))
        endpoints_url = None
        if endpoints_api is not None:
            account = HubAccount(HF_USER, (HF_NAMESPACE,))
            api = EndpointsApi(accounts={k: account for k in keys}, timing=endpoints_api)
            endpoints_url = stack.enter_context(serve(api)).url
        lab = Lab(
            es_server.url,
            hf_server.url,
            endpoints_url,
            vendor_server.url,
            bedrock_url=bedrock_url,
            google_url=google_url,
        )
        lab.eis_url = eis_server.url
        try:
            yield lab
        finally:
            lab.close()
