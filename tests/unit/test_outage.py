"""An outage costs one retry deadline per process and cluster, not one per request (issue 14 row 3).

The cluster is down the way a real outage looks: nothing listens on its port, so every attempt is
a refused connection. Attempts are counted through the client's retry callback.
"""

from __future__ import annotations

import socket

import pytest

from providers.client import ElasticsearchClient
from providers.connection import ConnectionSettings, RetryPolicy
from providers.errors import ElasticsearchUnreachable
from providers.session import session_for

RETRY = RetryPolicy(deadline=1.0, initial_backoff=0.1, max_backoff=0.1, max_retry_after=1)
ONE_LOOP = int(RETRY.deadline / RETRY.initial_backoff) + 1


def _closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_after_one_request_gives_up_the_next_ones_fail_at_once_without_sending() -> None:
    retries: list[str] = []
    settings = ConnectionSettings(endpoints=(_closed_url(),), timeout=5, retry=RETRY)
    with ElasticsearchClient(settings, on_retry=retries.append) as client:
        with pytest.raises(ElasticsearchUnreachable) as first:
            client.info()
        tried = len(retries)
        later = []
        for inference_id in ("a", "b", "c"):
            with pytest.raises(ElasticsearchUnreachable) as caught:
                client.get_inference_endpoint("rerank", inference_id)
            later.append(str(caught.value))

    assert 1 <= tried < ONE_LOOP
    assert len(retries) == tried, "a request was retried after the cluster was found down"
    assert later[0] == (
        "GET /_inference/rerank/a not sent: an earlier request of this run got no response from "
        f"the cluster for its whole retry deadline ({first.value}); fix the cluster or the "
        "connection settings and run again"
    )


def test_the_breaker_is_per_cluster_shared_by_every_session_of_the_process() -> None:
    url = _closed_url()
    retries: list[str] = []
    first = session_for(
        ConnectionSettings(endpoints=(url,), timeout=5, retry=RETRY), on_retry=retries.append
    )
    other = session_for(
        ConnectionSettings(endpoints=(url,), timeout=7, retry=RETRY), on_retry=retries.append
    )

    with pytest.raises(ElasticsearchUnreachable):
        first.version()
    tried = len(retries)
    with pytest.raises(ElasticsearchUnreachable) as caught:
        other.version()

    assert "GET / not sent: an earlier request of this run" in str(caught.value)
    assert len(retries) == tried
