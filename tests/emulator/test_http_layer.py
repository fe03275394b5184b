"""The HTTP layer under the REST API: kept-alive connections and the product header."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, HuggingFaceServer, serve

from ._helpers import HF_KEY, hf_body


@contextmanager
def connection(es: httpx.Client, version: str = "HTTP/1.1") -> Iterator[http.client.HTTPConnection]:
    url = es.base_url
    conn = http.client.HTTPConnection(url.host, url.port, timeout=10)
    conn._http_vsn_str = version  # type: ignore[attr-defined]
    conn._http_vsn = 10 if version == "HTTP/1.0" else 11  # type: ignore[attr-defined]
    try:
        yield conn
    finally:
        conn.close()


def test_two_requests_reuse_one_connection(es: httpx.Client) -> None:
    with connection(es) as conn:
        conn.request("GET", "/")
        first = conn.getresponse()
        assert (first.status, first.getheader("Connection")) == (200, None)
        assert int(first.getheader("Content-Length") or 0) == len(first.read())
        sock = conn.sock
        conn.request("GET", "/_inference")
        second = conn.getresponse()
        assert (second.status, second.read()) == (200, b'{"endpoints":[]}')
        assert conn.sock is sock and sock is not None


def test_a_body_the_handler_did_not_read_is_skipped_before_the_next_request() -> None:
    with serve(ElasticsearchEmulator(api_key="k")) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = b'{"service": "hugging_face", "service_settings": {}}'
        conn.request(
            "PUT",
            "/_inference/text_embedding/e",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        refused = conn.getresponse()
        assert refused.status == 401
        refused.read()
        conn.request("GET", "/", headers={"Authorization": "ApiKey k"})
        assert conn.getresponse().status == 200
        conn.close()


@pytest.mark.parametrize(
    ("version", "headers"),
    [("HTTP/1.1", {"Connection": "close"}), ("HTTP/1.0", {})],
    ids=["a request that asks to close", "an HTTP/1.0 request without keep-alive"],
)
def test_the_connection_closes_when_the_client_asks(
    es: httpx.Client, version: str, headers: dict[str, str]
) -> None:
    with connection(es, version) as conn:
        conn.request("GET", "/", headers=headers)
        response = conn.getresponse()
        assert response.getheader("Connection") == "close"
        response.read()
        assert conn.sock is None


def test_an_http_1_0_client_that_asks_for_keep_alive_keeps_its_connection(es: httpx.Client) -> None:
    with connection(es, "HTTP/1.0") as conn:
        conn.request("GET", "/", headers={"Connection": "keep-alive"})
        response = conn.getresponse()
        assert response.getheader("Connection") is None
        response.read()
        assert response.will_close is False


def test_closing_the_server_closes_the_connections_it_kept_open() -> None:
    server = serve(ElasticsearchEmulator())
    with httpx.Client(base_url=server.url, timeout=5) as client:
        assert client.get("/").status_code == 200
        server.close()
        with pytest.raises(httpx.TransportError):
            client.get("/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/_inference/missing"),
        ("POST", "/_cluster/settings"),
        ("GET", "/no/such/route/here"),
        ("OPTIONS", "/_inference"),
    ],
    ids=["an answer", "an error", "a wrong method", "an unknown route", "an options request"],
)
def test_every_rest_response_names_the_product(es: httpx.Client, method: str, path: str) -> None:
    # elasticsearch-py refuses a server whose responses lack this header.
    assert es.request(method, path).headers["X-elastic-product"] == "Elasticsearch"


def test_an_injected_fault_names_the_product_too(es: httpx.Client) -> None:
    es.post(
        "/_emulator/faults", json={"method": "GET", "path": "/", "action": "status", "status": 500}
    ).raise_for_status()
    response = es.get("/")
    assert (response.status_code, response.headers["X-elastic-product"]) == (500, "Elasticsearch")


def test_the_node_keeps_its_connection_to_a_service_alive_between_validation_calls(
    make_es: Callable[..., httpx.Client],
) -> None:
    # ES sends service calls through one pooled client per node (HttpClientManager), so the
    # validation calls of consecutive PUTs arrive on one kept-alive connection, not one each.
    hf_app = HuggingFaceServer(api_keys=[HF_KEY], dimensions=384)
    client_ports: list[str] = []

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        client_ports.append(environ["REMOTE_PORT"])
        return hf_app(environ, start_response)

    es = make_es(version="9.1.0")
    with serve(recording) as hf:
        for name in ("pooled-a", "pooled-b", "pooled-c"):
            put = es.put(f"/_inference/rerank/{name}", json=hf_body(f"{hf.url}/rerank"))
            assert put.status_code == 200, put.text
    assert len(client_ports) == 3
    assert len(set(client_ports)) == 1, client_ports
