"""The opt-in tier against a real cluster: runs only when ELASTICSEARCH_ENDPOINTS names one.

Like elasticstack's acceptance tests, it sets ``xpack.inference.skip_validate_and_start`` so no
Hugging Face endpoint is needed, uses random ``test-inference-<hex>`` ids, and resets the setting
afterwards. Credentials come from the usual ELASTICSEARCH_* variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

# Read at import: the autouse clean_env fixture hides these variables from every test.
CLUSTER_ENV = {k: v for k, v in os.environ.items() if k.startswith("ELASTICSEARCH_")}
SKIP = "xpack.inference.skip_validate_and_start"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this tier; skip it when no cluster is named."""
    for item in items:
        if "tests/acceptance/" in str(item.fspath):
            item.add_marker(pytest.mark.acceptance)
            if "ELASTICSEARCH_ENDPOINTS" not in CLUSTER_ENV:
                item.add_marker(pytest.mark.skip(reason="set ELASTICSEARCH_ENDPOINTS to run"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[httpx.Client]:
    """A client of the named cluster, with the validation call to providers switched off."""
    from providers.client import ElasticsearchClient
    from providers.connection import resolve_connection

    settings = resolve_connection({}, config={}, env=CLUSTER_ENV, project="es-inference")
    es = ElasticsearchClient(settings)
    version = es.get_cluster_version()
    if (version.major, version.minor) < (8, 19):
        pytest.skip(f"the cluster runs {version}; these scenarios need 8.19+ (rerank)")
    es.request("PUT", "/_cluster/settings", body={"persistent": {SKIP: "true"}})
    headers = dict(es._headers)
    client = httpx.Client(
        base_url=settings.endpoints[0], headers=headers, verify=not settings.insecure, timeout=60
    )
    try:
        yield client
    finally:
        es.request("PUT", "/_cluster/settings", body={"persistent": {SKIP: None}})
        es.close()
        client.close()
