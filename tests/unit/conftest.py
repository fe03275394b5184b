"""Fixtures of the unit tier: an in-process emulator client and a loopback Hugging Face server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, HuggingFaceServer, serve
from emulators.lab import HF_KEY, HF_KEY_ROTATED
from providers.client import ElasticsearchClient
from providers.connection import ConnectionSettings, RetryPolicy
from tests.unit.helpers import NO_RETRY, ClientFactory


@pytest.fixture(scope="session")
def hf_url() -> Iterator[str]:
    """A Hugging Face test server on loopback that accepts HF_KEY and HF_KEY_ROTATED."""
    with serve(HuggingFaceServer(api_keys=[HF_KEY, HF_KEY_ROTATED])) as server:
        yield server.url


@pytest.fixture
def emulator() -> ElasticsearchEmulator:
    """A fresh Elasticsearch 9.1.0 emulator app, served in process."""
    return ElasticsearchEmulator(version="9.1.0", retry_backoff=0.01)


@pytest.fixture
def in_process() -> Iterator[ClientFactory]:
    """Build clients whose requests go straight into a WSGI app (no socket); all are closed."""
    clients: list[ElasticsearchClient] = []

    def factory(
        app: Any,
        *,
        retry: RetryPolicy = NO_RETRY,
        on_retry: Callable[[str], None] | None = None,
        **settings: Any,
    ) -> ElasticsearchClient:
        connection = ConnectionSettings(
            endpoints=("http://es.test:9200",), retry=retry, timeout=5, **settings
        )
        client = ElasticsearchClient(
            connection, transport=httpx.WSGITransport(app=app), on_retry=on_retry
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def admin(emulator: ElasticsearchEmulator) -> Iterator[httpx.Client]:
    """A plain HTTP client of the same in-process emulator, for setup an operator would do."""
    with httpx.Client(
        base_url="http://es.test:9200", transport=httpx.WSGITransport(app=emulator)
    ) as client:
        yield client
