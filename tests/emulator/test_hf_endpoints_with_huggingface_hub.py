"""Hugging Face's own client, ``huggingface_hub``, against the Inference Endpoints emulator.

Its supported hook ``set_client_factory`` supplies the HTTP client; the client's transport sends
the requests meant for api.endpoints.huggingface.cloud and huggingface.co to the emulator on
loopback. So the emulator's routes and JSON shapes are checked by HF's own parsers
(``InferenceEndpoint.from_raw``, ``InferenceEndpointHardware.from_raw``, ``wait()``,
``hf_raise_for_status``), not only by our provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils._http import (
    close_session,
    default_client_factory,
    hf_request_event_hook,
    set_client_factory,
)

from emulators import serve
from emulators.huggingface.endpoints_api import EndpointsApi, HubAccount, Timing

TOKEN = "hf_hub_client_TOKEN_789"
FAST = Timing(pending=0.05, initializing=0.1, updating=0.05, cold_start=0.05)


class _ToLoopback(httpx2.HTTPTransport):
    """Sends every request to the emulator, whatever host huggingface_hub addressed."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return super().handle_request(request)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[HfApi]:
    # InferenceEndpoint objects make their own HfApi(), which reads the token from HF_TOKEN.
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    accounts = {TOKEN: HubAccount("alice", ("acme",))}
    with serve(EndpointsApi(accounts=accounts, timing=FAST)) as server:
        set_client_factory(
            lambda: httpx2.Client(
                transport=_ToLoopback(server.port),
                event_hooks={"request": [hf_request_event_hook]},
                timeout=10,
            )
        )
        try:
            yield HfApi()
        finally:
            set_client_factory(default_client_factory)
            close_session()


def create(api: HfApi, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "repository": "sentence-transformers/all-MiniLM-L6-v2",
        "framework": "pytorch",
        "task": "sentence-embeddings",
        "accelerator": "cpu",
        "vendor": "aws",
        "region": "us-east-1",
        "instance_type": "intel-spr",
        "instance_size": "x2",
        "type": "private",
        "namespace": "acme",
        **changes,
    }
    return api.create_inference_endpoint("minilm", **fields)


def test_create_wait_and_the_fields_huggingface_hub_parses(api: HfApi) -> None:
    endpoint = create(api, env={"A": "1"}, secrets={"S": "hidden"})
    assert (endpoint.name, endpoint.namespace, endpoint.status) == ("minilm", "acme", "pending")
    endpoint.wait(timeout=10, refresh_every=0.02)
    assert endpoint.status == "running"
    assert endpoint.url is not None and "/_endpoints/" in endpoint.url
    assert (endpoint.repository, endpoint.task, endpoint.type) == (
        "sentence-transformers/all-MiniLM-L6-v2",
        "sentence-embeddings",
        "private",
    )
    assert endpoint.raw["model"]["env"] == {"A": "1"}


def test_pause_resume_scale_to_zero_update_list_and_delete(api: HfApi) -> None:
    endpoint = create(api).wait(timeout=10, refresh_every=0.02)
    assert endpoint.pause().status == "paused"
    endpoint.resume().wait(timeout=10, refresh_every=0.02)
    assert endpoint.resume(running_ok=True).status == "running"
    assert endpoint.scale_to_zero().status == "scaledToZero"
    updated = api.update_inference_endpoint("minilm", namespace="acme", instance_size="x4")
    assert updated.status == "updating"
    assert [e.name for e in api.list_inference_endpoints(namespace="acme")] == ["minilm"]
    api.delete_inference_endpoint("minilm", namespace="acme")
    with pytest.raises(HfHubHTTPError) as missing:
        api.get_inference_endpoint("minilm", namespace="acme")
    assert missing.value.response.status_code == 404


def test_errors_reach_huggingface_hub_with_status_and_message(api: HfApi) -> None:
    create(api)
    with pytest.raises(HfHubHTTPError) as conflict:
        create(api)
    assert conflict.value.response.status_code == 409
    assert "already exists" in str(conflict.value)
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_inference_endpoint(
            "big",
            repository="x/y",
            framework="pytorch",
            accelerator="gpu",
            vendor="aws",
            region="us-east-1",
            instance_type="nvidia-l4",
            instance_size="x1",
            max_replica=5,
            namespace="acme",
        )
    assert refused.value.response.status_code == 400
    assert "Quota exceeded" in str(refused.value)


def test_the_hardware_list_and_the_default_namespace(api: HfApi) -> None:
    hardware = api.list_inference_endpoints_hardware()  # namespace: whoami's user
    by_id = {h.id: h for h in hardware}
    cpu = by_id["aws-us-east-1-intel-spr-x2"]
    assert (cpu.vendor, cpu.region, cpu.accelerator, cpu.price_per_hour) == (
        "aws",
        "us-east-1",
        "cpu",
        0.066,
    )
    assert (cpu.max_accelerators, cpu.used_accelerators, cpu.status) == (16, 0, "available")
