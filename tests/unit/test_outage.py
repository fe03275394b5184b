"""An outage costs one retry deadline per process and cluster, not one per request (issue 14 row 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators import ElasticsearchEmulator, serve
from emulators.lab import Lab
from providers.client import ElasticsearchClient
from providers.connection import ConnectionSettings, RetryPolicy
from providers.errors import ElasticsearchUnreachable
from providers.session import session_for

RETRY = RetryPolicy(deadline=1.0, initial_backoff=0.1, max_backoff=0.1, max_retry_after=1)
ONE_LOOP = int(RETRY.deadline / RETRY.initial_backoff) + 1


@pytest.fixture
def down() -> Iterator[Lab]:
    """An emulator that drops every connection, and counts them."""
    with serve(ElasticsearchEmulator()) as server:
        lab = Lab(server.url, "http://127.0.0.1:1")
        lab.fault(method="*", path="*", action="drop", times=-1)
        yield lab
        lab.close()


def test_after_one_request_gives_up_the_next_ones_fail_at_once_without_sending(
    down: Lab,
) -> None:
    settings = ConnectionSettings(endpoints=(down.es_url,), timeout=5, retry=RETRY)
    with ElasticsearchClient(settings) as client:
        with pytest.raises(ElasticsearchUnreachable) as first:
            client.info()
        sent = len(down.requests())
        later = []
        for inference_id in ("a", "b", "c"):
            with pytest.raises(ElasticsearchUnreachable) as caught:
                client.get_inference_endpoint("rerank", inference_id)
            later.append(str(caught.value))

    assert 1 < sent <= ONE_LOOP
    assert len(down.requests()) == sent, "a request was sent after the cluster was found down"
    assert later[0] == (
        "GET /_inference/rerank/a not sent: an earlier request of this run got no response from "
        f"the cluster for its whole retry deadline ({first.value}); fix the cluster or the "
        "connection settings and run again"
    )


def test_the_breaker_is_per_cluster_shared_by_every_session_of_the_process(down: Lab) -> None:
    first = session_for(ConnectionSettings(endpoints=(down.es_url,), timeout=5, retry=RETRY))
    other_settings = ConnectionSettings(endpoints=(down.es_url,), timeout=7, retry=RETRY)

    with pytest.raises(ElasticsearchUnreachable):
        first.version()
    sent = len(down.requests())
    with pytest.raises(ElasticsearchUnreachable) as caught:
        session_for(other_settings).version()

    assert "GET / not sent: an earlier request of this run" in str(caught.value)
    assert len(down.requests()) == sent
