"""Loopback servers for the emulator tests: one HF server, ES emulators cached per configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, HuggingFaceServer, RunningServer, serve

from ._helpers import HF_KEY


@pytest.fixture(scope="session")
def hf_server() -> Iterator[RunningServer]:
    with serve(HuggingFaceServer(api_keys=[HF_KEY], dimensions=384)) as server:
        yield server


@pytest.fixture
def hf(hf_server: RunningServer) -> Iterator[httpx.Client]:
    """A client of the shared HF server, reset before each test."""
    with httpx.Client(base_url=hf_server.url, timeout=10) as client:
        client.post("/_emulator/reset").raise_for_status()
        yield client


@pytest.fixture(scope="session")
def _es_servers() -> Iterator[dict[tuple[Any, ...], RunningServer]]:
    servers: dict[tuple[Any, ...], RunningServer] = {}
    yield servers
    for server in servers.values():
        server.close()


EsFactory = Callable[..., httpx.Client]


@pytest.fixture
def make_es(_es_servers: dict[tuple[Any, ...], RunningServer]) -> Iterator[EsFactory]:
    """Return a reset ES emulator client for the given constructor options (servers are cached)."""
    clients: list[httpx.Client] = []

    def factory(**options: Any) -> httpx.Client:
        options.setdefault("retry_backoff", 0.01)
        key = tuple(sorted(options.items()))
        if key not in _es_servers:
            _es_servers[key] = serve(ElasticsearchEmulator(**options))
        client = httpx.Client(base_url=_es_servers[key].url, timeout=10)
        clients.append(client)
        client.post("/_emulator/reset").raise_for_status()
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def es(make_es: EsFactory) -> httpx.Client:
    """A client of a default (9.1.0) emulator without preconfigured endpoints."""
    return make_es(default_endpoints=False)
