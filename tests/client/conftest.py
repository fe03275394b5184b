"""Loopback servers for the official-client tier: one HF server, one ES emulator per version."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import Elasticsearch

from emulators import ElasticsearchEmulator, HuggingFaceServer, RunningServer, serve

HF_KEY = "hf_client_tier_key"


@pytest.fixture(scope="session")
def hf_server() -> Iterator[RunningServer]:
    with serve(HuggingFaceServer(api_keys=[HF_KEY], dimensions=384)) as server:
        yield server


@pytest.fixture(scope="session", params=["9.1.0", "9.5.0"], ids=lambda v: f"ES {v}")
def es_server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    # elasticsearch-py 9 asks for compatible-with=9, which an 8.x cluster refuses.
    emulator = ElasticsearchEmulator(version=request.param, default_endpoints=False)
    with serve(emulator) as server:
        yield server


@pytest.fixture
def client(es_server: RunningServer, hf_server: RunningServer) -> Iterator[Elasticsearch]:
    """Elastic's official client on a reset emulator."""
    # The emulator's own admin API is not Elasticsearch's, so it is reset without the client.
    httpx.post(es_server.url + "/_emulator/reset").raise_for_status()
    with Elasticsearch(es_server.url, request_timeout=10) as es:
        yield es
