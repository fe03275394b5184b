"""The Inference Endpoints API emulator: routes, shapes, states, errors, faults, served URLs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, serve
from emulators.huggingface.endpoints_api import EndpointsApi, HubAccount, Timing

TOKEN = "hf_emulator_ORG_token_123"
OTHER = "hf_emulator_other_user_456"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAST = Timing(pending=0.05, initializing=0.1, updating=0.05, cold_start=0.05)


def body(name: str = "minilm", **compute: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "private",
        "compute": {
            "accelerator": compute.get("accelerator", "cpu"),
            "instanceType": compute.get("instance_type", "intel-spr"),
            "instanceSize": compute.get("instance_size", "x2"),
            "scaling": {"minReplica": 1, "maxReplica": compute.get("max_replica", 1)},
        },
        "model": {
            "repository": "sentence-transformers/all-MiniLM-L6-v2",
            "framework": "pytorch",
            "task": "sentence-embeddings",
            "image": {"huggingface": {}},
            "env": {"MAX_BATCH": "32"},
            "secrets": {"PRIVATE": "s3cr3t-value"},
        },
        "provider": {"vendor": compute.get("vendor", "aws"), "region": "us-east-1"},
    }


@pytest.fixture(scope="module")
def _server() -> Iterator[str]:
    accounts = {TOKEN: HubAccount("alice", ("acme",)), OTHER: HubAccount("bob")}
    with serve(EndpointsApi(accounts=accounts, timing=FAST)) as server:
        yield server.url


@pytest.fixture
def api(_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=_server, timeout=10) as client:
        client.post("/_emulator/reset").raise_for_status()
        client.put("/_emulator/timing", json=FAST.to_json()).raise_for_status()
        yield client


def wait_for(api: httpx.Client, name: str, wanted: str, namespace: str = "acme") -> dict[str, Any]:
    deadline = time.monotonic() + 5
    seen = []
    while time.monotonic() < deadline:
        found = api.get(f"/v2/endpoint/{namespace}/{name}", headers=AUTH).json()
        seen.append(found["status"]["state"])
        if found["status"]["state"] == wanted:
            return dict(found)
        time.sleep(0.02)
    raise AssertionError(f"{name} never became {wanted}: {seen}")


def test_create_answers_pending_then_the_endpoint_moves_to_running_and_gets_a_url(
    api: httpx.Client,
) -> None:
    created = api.post("/v2/endpoint/acme", json=body(), headers=AUTH)
    assert created.status_code == 200
    assert created.json()["status"]["state"] == "pending"
    assert created.json()["status"]["url"] is None
    running = wait_for(api, "minilm", "running")
    assert running["status"]["readyReplica"] == 1
    assert running["status"]["url"].startswith("http://127.0.0.1:")
    assert running["model"]["env"] == {"MAX_BATCH": "32"}
    assert "secrets" not in running["model"]
    assert running["compute"]["instanceSize"] == "x2"
    assert running["provider"] == {"vendor": "aws", "region": "us-east-1"}
    assert running["healthRoute"] == "/health"
    assert {"createdAt", "updatedAt", "message"} <= set(running["status"])


def test_a_running_endpoint_serves_embeddings_and_health_only_with_a_namespace_token(
    api: httpx.Client,
) -> None:
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    url = wait_for(api, "minilm", "running")["status"]["url"]
    vectors = httpx.post(url, json={"inputs": ["how big"]}, headers=AUTH).json()
    assert len(vectors[0]) == 384
    assert httpx.get(f"{url}/health", headers=AUTH).status_code == 200
    outsider = httpx.post(url, json={"inputs": ["x"]}, headers={"Authorization": f"Bearer {OTHER}"})
    assert outsider.status_code == 401


def test_the_elasticsearch_emulator_validates_against_the_served_url_end_to_end(
    api: httpx.Client,
) -> None:
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    url = wait_for(api, "minilm", "running")["status"]["url"]
    with serve(ElasticsearchEmulator(default_endpoints=False)) as es:
        put = httpx.put(
            f"{es.url}/_inference/text_embedding/hf-minilm",
            json={"service": "hugging_face", "service_settings": {"url": url, "api_key": TOKEN}},
        )
    assert put.status_code == 200, put.text
    assert put.json()["service_settings"]["dimensions"] == 384


@pytest.mark.parametrize(
    ("headers", "path", "payload", "status", "message"),
    [
        ({}, "/v2/endpoint/acme", body(), 401, "Invalid credentials in Authorization header"),
        (AUTH, "/v2/endpoint/nobody", body(), 404, "Namespace nobody not found"),
        (AUTH, "/v2/endpoint/acme", {"name": "x"}, 422, "missing field `compute.accelerator`"),
        (AUTH, "/v2/endpoint/acme", body("Bad_Name"), 422, "`name` must be 1-32 lowercase"),
        (
            AUTH,
            "/v2/endpoint/acme",
            body(accelerator="gpu", instance_type="nvidia-h100"),
            400,
            "Instance gpu/nvidia-h100/x2 is not offered in aws/us-east-1",
        ),
        (
            AUTH,
            "/v2/endpoint/acme",
            body(instance_size="x1", max_replica=17),
            400,
            "Quota exceeded for intel-spr in namespace acme: 0 of 16 in use, 17 requested",
        ),
    ],
    ids=[
        "no token is 401",
        "a namespace the token cannot use is 404",
        "a body without compute is 422",
        "an invalid name is 422",
        "hardware not offered in the region is 400",
        "more replicas than the quota is 400",
    ],
)
def test_create_errors_have_hf_status_and_error_body(
    api: httpx.Client,
    headers: dict[str, str],
    path: str,
    payload: dict[str, Any],
    status: int,
    message: str,
) -> None:
    response = api.post(path, json=payload, headers=headers)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_a_second_create_with_the_same_name_is_409_and_get_of_an_unknown_name_is_404(
    api: httpx.Client,
) -> None:
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    again = api.post("/v2/endpoint/acme", json=body(), headers=AUTH)
    assert again.status_code == 409
    assert again.json() == {"error": "Endpoint minilm already exists in namespace acme"}
    missing = api.get("/v2/endpoint/acme/nope", headers=AUTH)
    assert missing.status_code == 404


def test_hardware_list_has_price_quota_and_availability_per_vendor_and_region(
    api: httpx.Client,
) -> None:
    api.post("/v2/endpoint/acme", json=body(max_replica=2), headers=AUTH).raise_for_status()
    vendors = api.get("/v2/provider/acme", headers=AUTH).json()["vendors"]
    by_id = {
        c["id"]: (v["name"], r["name"], c)
        for v in vendors
        for r in v["regions"]
        for c in r["computes"]
    }
    vendor, region, compute = by_id["aws-us-east-1-intel-spr-x2"]
    assert (vendor, region) == ("aws", "us-east-1")
    assert compute["pricePerHour"] == 0.066
    assert compute["quota"] == {"maxAccelerators": 16, "usedAccelerators": 2}
    assert by_id["gcp-us-east4-nvidia-t4-x1"][2]["status"] == "not_available"


def test_update_goes_through_updating_and_merges_compute_and_model(api: httpx.Client) -> None:
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    url = wait_for(api, "minilm", "running")["status"]["url"]
    change = {"compute": {"instanceSize": "x4", "scaling": {"maxReplica": 2}}, "model": {"env": {}}}
    updated = api.put("/v2/endpoint/acme/minilm", json=change, headers=AUTH).json()
    assert updated["status"]["state"] == "updating"
    after = wait_for(api, "minilm", "running")
    assert after["compute"]["instanceSize"] == "x4"
    assert after["compute"]["scaling"] == {"minReplica": 1, "maxReplica": 2}
    assert after["model"]["env"] == {}
    assert after["status"]["url"] == url


def test_the_env_quirk_drops_env_updates_silently(api: httpx.Client) -> None:
    api.put("/_emulator/quirks", json={"drop_env_updates": True}).raise_for_status()
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    api.put("/v2/endpoint/acme/minilm", json={"model": {"env": {"A": "1"}}}, headers=AUTH)
    assert wait_for(api, "minilm", "running")["model"]["env"] == {"MAX_BATCH": "32"}


def test_provider_cannot_change_in_place(api: httpx.Client) -> None:
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    moved = api.put(
        "/v2/endpoint/acme/minilm",
        json={"provider": {"vendor": "aws", "region": "eu-west-1"}},
        headers=AUTH,
    )
    assert moved.status_code == 400


def test_build_faults_end_in_failed_and_update_failed_with_hf_message(api: httpx.Client) -> None:
    api.post(
        "/_emulator/build_faults", json={"on": "create", "message": "Error: OOM while loading"}
    ).raise_for_status()
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    failed = wait_for(api, "minilm", "failed")
    assert failed["status"]["message"] == "Error: OOM while loading"
    api.post("/v2/endpoint/acme", json=body("other"), headers=AUTH).raise_for_status()
    wait_for(api, "other", "running")
    api.post("/_emulator/build_faults", json={"on": "update", "name": "other"}).raise_for_status()
    api.put("/v2/endpoint/acme/other", json={"model": {"revision": "abc"}}, headers=AUTH)
    assert wait_for(api, "other", "updateFailed")["status"]["message"].startswith("Endpoint failed")


def test_pause_resume_and_scale_to_zero_with_a_cold_start(api: httpx.Client) -> None:
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    url = wait_for(api, "minilm", "running")["status"]["url"]
    again = api.post("/v2/endpoint/acme/minilm/resume", headers=AUTH)
    assert again.status_code == 400
    assert "already running" in again.text
    paused = api.post("/v2/endpoint/acme/minilm/pause", headers=AUTH).json()
    assert paused["status"]["state"] == "paused"
    assert paused["status"]["readyReplica"] == 0
    assert httpx.post(url, json={"inputs": ["x"]}, headers=AUTH).status_code == 503
    assert api.get("/v2/endpoint/acme/minilm", headers=AUTH).json()["status"]["state"] == "paused"
    api.post("/v2/endpoint/acme/minilm/resume", headers=AUTH).raise_for_status()
    wait_for(api, "minilm", "running")
    zero = api.post("/v2/endpoint/acme/minilm/scale-to-zero", headers=AUTH).json()
    assert zero["status"]["state"] == "scaledToZero"
    assert httpx.post(url, json={"inputs": ["x"]}, headers=AUTH).status_code == 503
    wait_for(api, "minilm", "running")
    assert httpx.post(url, json={"inputs": ["x"]}, headers=AUTH).status_code == 200


def test_list_whoami_delete_and_scripted_429(api: httpx.Client) -> None:
    api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
    me = api.get("/api/whoami-v2", headers=AUTH).json()
    assert me == {"type": "user", "name": "alice", "orgs": [{"type": "org", "name": "acme"}]}
    assert [i["name"] for i in api.get("/v2/endpoint/acme", headers=AUTH).json()["items"]] == [
        "minilm"
    ]
    api.post(
        "/_emulator/faults",
        json={"action": "status", "status": 429, "retry_after": "1", "path": "/v2/endpoint/*"},
    ).raise_for_status()
    limited = api.get("/v2/endpoint/acme/minilm", headers=AUTH)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    assert api.delete("/v2/endpoint/acme/minilm", headers=AUTH).status_code == 200
    assert api.get("/v2/endpoint/acme", headers=AUTH).json() == {"items": []}


def test_with_a_data_dir_endpoints_and_their_urls_survive_a_restart(tmp_path: Any) -> None:
    accounts = {TOKEN: HubAccount("alice", ("acme",))}
    with serve(EndpointsApi(accounts=accounts, timing=FAST, data_dir=str(tmp_path))) as server:
        with httpx.Client(base_url=server.url, timeout=10) as api:
            api.post("/v2/endpoint/acme", json=body(), headers=AUTH).raise_for_status()
            before = wait_for(api, "minilm", "running")
        port = server.port
    assert oct((tmp_path / "hf-endpoints.json").stat().st_mode & 0o777) == "0o600"
    again = EndpointsApi(accounts=accounts, timing=FAST, data_dir=str(tmp_path))
    with serve(again, "127.0.0.1", port) as server, httpx.Client(base_url=server.url) as api:
        after = api.get("/v2/endpoint/acme/minilm", headers=AUTH).json()
        assert after["status"]["url"] == before["status"]["url"]
        assert after["status"]["state"] == "running"
        assert httpx.post(after["status"]["url"], json={"inputs": ["x"]}, headers=AUTH).is_success
