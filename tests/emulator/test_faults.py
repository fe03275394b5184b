"""The admin API: fault injection, rate limiting, the request log, reset and the drift tool."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import pytest

from ._helpers import HF_KEY, error_of, hf_body

URL = "http://127.0.0.1:9/embed"
PUT_PATH = "/_inference/text_embedding/e"


@pytest.fixture
def es(make_es: Any) -> httpx.Client:
    client: httpx.Client = make_es(default_endpoints=False)
    body = {"persistent": {"xpack.inference.skip_validate_and_start": True}}
    client.put("/_cluster/settings", json=body).raise_for_status()
    client.delete("/_emulator/requests").raise_for_status()
    return client


def fault(client: httpx.Client, **spec: Any) -> str:
    response = client.post("/_emulator/faults", json=spec)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def stored_ids(es: httpx.Client) -> list[str]:
    return [e["inference_id"] for e in es.get("/_emulator/endpoints").json()["endpoints"]]


def test_a_status_fault_answers_without_touching_state(es: httpx.Client) -> None:
    fault(es, method="PUT", path="/_inference/*", action="status", status=429, retry_after="2")
    response = es.put(PUT_PATH, json=hf_body(URL))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["type"] == "es_rejected_execution_exception"
    assert stored_ids(es) == []
    assert es.put(PUT_PATH, json=hf_body(URL)).status_code == 200


@pytest.mark.parametrize("status", [502, 503, 504], ids=["502", "503", "504"])
def test_gateway_faults_default_to_a_proxy_page(es: httpx.Client, status: int) -> None:
    fault(es, action="status", status=status)
    response = es.get("/")
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert str(status) in response.text


def test_a_fault_may_carry_its_own_body(es: httpx.Client) -> None:
    fault(es, action="status", status=500, body={"custom": True})
    assert es.get("/").json() == {"custom": True}


def test_after_and_times_select_which_matching_requests_fail(es: httpx.Client) -> None:
    fault(es, method="GET", path="/", action="status", status=503, after=1, times=2)
    statuses = [es.get("/").status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 200]
    assert es.get("/_emulator/faults").json() == {"faults": []}


def test_faults_only_match_their_method_and_path(es: httpx.Client) -> None:
    fault(es, method="DELETE", path="/_inference/*", action="status", status=500, times=-1)
    assert es.get("/_inference").status_code == 200
    assert es.delete("/_inference/x").status_code == 500
    assert es.delete("/_inference/x").status_code == 500
    pending = es.get("/_emulator/faults").json()["faults"]
    assert [(f["method"], f["path"], f["times"]) for f in pending] == [
        ("DELETE", "/_inference/*", -1)
    ]
    es.delete("/_emulator/faults").raise_for_status()
    assert es.delete("/_inference/x").status_code == 404


def test_a_delayed_write_still_happens_after_the_client_gives_up(es: httpx.Client) -> None:
    fault(es, method="PUT", path=PUT_PATH, action="delay", seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        es.put(PUT_PATH, json=hf_body(URL), timeout=0.1)
    deadline = time.monotonic() + 3
    while stored_ids(es) != ["e"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_ids(es) == ["e"]


def test_a_dropped_request_is_a_transport_error_and_commits_nothing(es: httpx.Client) -> None:
    fault(es, method="PUT", path=PUT_PATH, action="drop")
    with pytest.raises(httpx.TransportError):
        es.put(PUT_PATH, json=hf_body(URL))
    assert stored_ids(es) == []
    (entry,) = es.get("/_emulator/requests").json()["requests"][-1:]
    assert (entry["status"], entry["mutated"]) == (None, False)


def test_commit_then_drop_changes_state_but_never_answers(es: httpx.Client) -> None:
    fault(es, method="PUT", path=PUT_PATH, action="commit_then_drop")
    with pytest.raises(httpx.TransportError):
        es.put(PUT_PATH, json=hf_body(URL))
    assert stored_ids(es) == ["e"]
    entry = es.get("/_emulator/requests").json()["requests"][-1]
    assert (entry["status"], entry["mutated"]) == (None, True)
    retry = es.put(PUT_PATH, json=hf_body(URL))
    assert error_of(retry)[1] == "resource_already_exists_exception"


def test_the_hf_server_can_drop_connections_too(hf: httpx.Client) -> None:
    fault(hf, method="POST", path="/embed", action="drop")
    with pytest.raises(httpx.TransportError):
        hf.post("/embed", json={"inputs": "x"}, headers={"Authorization": f"Bearer {HF_KEY}"})


@pytest.mark.parametrize(
    "spec",
    [
        {"action": "explode"},
        {"action": "delay", "seconds": -1},
        {"action": "status", "times": 0},
        {"action": "drop", "oops": 1},
    ],
    ids=["an unknown action", "a negative delay", "zero times", "an unknown field"],
)
def test_malformed_faults_are_rejected(es: httpx.Client, spec: dict[str, Any]) -> None:
    assert es.post("/_emulator/faults", json=spec).status_code == 400


def test_the_rate_limit_rejects_requests_beyond_the_burst(es: httpx.Client) -> None:
    es.put(
        "/_emulator/rate_limit", json={"requests_per_second": 0.5, "burst": 2}
    ).raise_for_status()
    statuses = [es.get("/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = es.get("/")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["type"] == "es_rejected_execution_exception"
    assert limited.json()["status"] == 429
    es.delete("/_emulator/rate_limit").raise_for_status()
    assert es.get("/").status_code == 200


def test_the_request_log_records_each_request_in_order(es: httpx.Client) -> None:
    es.put(PUT_PATH, json=hf_body(URL))
    es.get("/_inference/e?pretty")
    es.put(PUT_PATH, json=hf_body(URL))
    entries = es.get("/_emulator/requests").json()["requests"]
    assert [(e["method"], e["path"], e["query"], e["status"], e["mutated"]) for e in entries] == [
        ("PUT", PUT_PATH, {}, 200, True),
        ("GET", "/_inference/e", {"pretty": ""}, 200, False),
        ("PUT", PUT_PATH, {}, 400, False),
    ]
    assert entries[1]["seq"] == entries[0]["seq"] + 1
    es.delete("/_emulator/requests").raise_for_status()
    assert es.get("/_emulator/requests").json() == {"requests": []}


def test_reset_forgets_everything(es: httpx.Client) -> None:
    es.put(PUT_PATH, json=hf_body(URL)).raise_for_status()
    es.put("/_ingest/pipeline/p", json={"processors": []}).raise_for_status()
    es.put("/docs").raise_for_status()
    fault(es, action="status", status=500, path="/nothing")
    es.put(
        "/_emulator/rate_limit", json={"requests_per_second": 100, "burst": 100}
    ).raise_for_status()
    es.post("/_emulator/reset").raise_for_status()
    assert es.get("/_emulator/faults").json() == {"faults": []}
    assert es.get("/_emulator/rate_limit").json() == {"rate_limit": None}
    assert es.get("/_emulator/requests").json() == {"requests": []}
    assert es.get("/_inference").json() == {"endpoints": []}
    assert es.get("/_ingest/pipeline").json() == {}
    assert es.get("/docs").status_code == 404
    assert es.get("/_cluster/settings").json() == {"persistent": {}, "transient": {}}


def test_the_admin_view_shows_the_stored_endpoint_with_a_hashed_secret(es: httpx.Client) -> None:
    es.put(PUT_PATH, json=hf_body(URL)).raise_for_status()
    view = es.get("/_emulator/endpoints/e").json()
    assert view["service_settings"] == {
        "url": URL,
        "rate_limit": {"requests_per_minute": 3000},
        "api_key_sha256": hashlib.sha256(HF_KEY.encode()).hexdigest(),
    }
    assert view["task_settings"] == {}
    assert es.get("/_emulator/endpoints/missing").status_code == 404


def test_patch_edits_an_endpoint_out_of_band_for_drift_tests(es: httpx.Client) -> None:
    es.put(PUT_PATH, json=hf_body(URL)).raise_for_status()
    patch = {"service_settings": {"rate_limit": {"requests_per_minute": 10}, "api_key": "rotated"}}
    view = es.patch("/_emulator/endpoints/e", json=patch).json()
    assert view["service_settings"]["api_key_sha256"] == hashlib.sha256(b"rotated").hexdigest()
    live = es.get("/_inference/e").json()["endpoints"][0]
    assert live["service_settings"]["rate_limit"] == {"requests_per_minute": 10}
    es.patch("/_emulator/endpoints/e", json={"chunking_settings": None}).raise_for_status()
    assert "chunking_settings" not in es.get("/_inference/e").json()["endpoints"][0]
    assert es.get("/_emulator/requests").json()["requests"][-1]["method"] == "GET"
