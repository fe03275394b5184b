"""The Elasticsearch client against the emulator: operations, error translation, auth, retries, TLS."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, RunningServer, serve
from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab
from providers.client import USER_AGENT, ElasticsearchClient, scrub
from providers.connection import ConnectionSettings, RetryPolicy, resolve_connection
from providers.errors import (
    ElasticsearchError,
    ElasticsearchUnreachable,
    EndpointConflict,
    EndpointInUse,
    EndpointNotFound,
    ProviderError,
)
from providers.versions import Version
from tests.unit.helpers import FAST_RETRY, NO_RETRY, ClientFactory

ID = "hf-e5"
PATH = f"/_inference/text_embedding/{ID}"
REJECTED = (
    "rejected execution of coordinating operation [coordinating_and_primary_bytes=0,"
    " replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1,"
    " max_coordinating_and_primary_bytes=0]"
)
UNAVAILABLE = {
    "error": {
        "root_cause": [
            {
                "type": "cluster_block_exception",
                "reason": "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];",
            }
        ],
        "type": "cluster_block_exception",
        "reason": "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];",
    },
    "status": 503,
}
UNAVAILABLE_LINE = (
    "GET / failed: 503 cluster_block_exception: blocked by: "
    "[SERVICE_UNAVAILABLE/1/state not recovered / initialized];"
)


def hf_body(hf_url: str, api_key: str = HF_KEY, **settings: Any) -> dict[str, Any]:
    return {
        "service": "hugging_face",
        "service_settings": {"api_key": api_key, "url": f"{hf_url}/embed", **settings},
    }


def stored_endpoint(hf_url: str) -> dict[str, Any]:
    return {
        "inference_id": ID,
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {
            "url": f"{hf_url}/embed",
            "similarity": "cosine",
            "dimensions": 384,
            "rate_limit": {"requests_per_minute": 3000},
        },
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
    }


def failure(call: Callable[[], object], kind: type[Exception] = ElasticsearchError) -> Any:
    with pytest.raises(kind) as caught:
        call()
    assert type(caught.value) is kind
    return caught.value


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- operations, in process ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["8.17.2", "8.19.3", "9.1.0", "9.4.0"], ids=lambda v: f"GET / reads version {v}"
)
def test_get_cluster_version_reads_the_version_number(
    version: str, in_process: ClientFactory
) -> None:
    client = in_process(ElasticsearchEmulator(version=version))
    assert client.get_cluster_version() == Version.parse(version)
    assert client.info()["tagline"] == "You Know, for Search"


def test_a_cluster_without_a_version_number_is_an_error(
    emulator: ElasticsearchEmulator, admin: httpx.Client, in_process: ClientFactory
) -> None:
    admin.post(
        "/_emulator/faults",
        json={
            "method": "GET",
            "path": "/",
            "action": "status",
            "status": 200,
            "body": {"name": "x"},
        },
    ).raise_for_status()
    error = failure(in_process(emulator).get_cluster_version)
    assert str(error) == "GET / returned no usable version number (''); is this Elasticsearch?"


def test_put_get_list_and_delete_an_endpoint(
    emulator: ElasticsearchEmulator, in_process: ClientFactory, hf_url: str
) -> None:
    client = in_process(emulator)
    assert client.put_inference_endpoint("text_embedding", ID, hf_body(hf_url)) == stored_endpoint(
        hf_url
    )
    assert client.get_inference_endpoint("text_embedding", ID) == stored_endpoint(hf_url)
    assert [e["inference_id"] for e in client.get_inference_endpoints()] == [
        ".elser-2-elasticsearch",
        ".multilingual-e5-small-elasticsearch",
        ".rerank-v1-elasticsearch",
        ID,
    ]
    assert client.delete_inference_endpoint("text_embedding", ID, dry_run=True) == {
        "acknowledged": False,
        "pipelines": [],
        "indexes": [],
        "error_message": "",
    }
    assert client.get_inference_endpoint("text_embedding", ID) is not None
    assert client.delete_inference_endpoint("text_embedding", ID) == {
        "acknowledged": True,
        "pipelines": [],
        "indexes": [],
    }
    assert client.get_inference_endpoint("text_embedding", ID) is None


def test_update_changes_the_endpoint_in_place_on_9_5(
    in_process: ClientFactory, hf_url: str
) -> None:
    client = in_process(ElasticsearchEmulator(version="9.5.0", retry_backoff=0.01))
    client.put_inference_endpoint("text_embedding", ID, hf_body(hf_url))
    updated = client.update_inference_endpoint(
        "text_embedding",
        ID,
        {
            "service_settings": {
                "api_key": HF_KEY_ROTATED,
                "rate_limit": {"requests_per_minute": 60},
            }
        },
    )
    assert updated["service_settings"]["rate_limit"] == {"requests_per_minute": 60}
    assert "api_key" not in updated["service_settings"]


def test_delete_with_force_removes_an_endpoint_a_pipeline_uses(
    emulator: ElasticsearchEmulator, admin: httpx.Client, in_process: ClientFactory, hf_url: str
) -> None:
    client = in_process(emulator)
    client.put_inference_endpoint("text_embedding", ID, hf_body(hf_url))
    admin.put("/_ingest/pipeline/embed", json=_pipeline(ID)).raise_for_status()
    found = client.delete_inference_endpoint("text_embedding", ID, dry_run=True)
    assert found is not None and found["pipelines"] == ["embed"]
    assert client.delete_inference_endpoint("text_embedding", ID, force=True) is not None
    assert client.get_inference_endpoint("text_embedding", ID) is None


@pytest.mark.parametrize(
    "operation",
    [
        lambda c: c.get_inference_endpoint("text_embedding", "absent"),
        lambda c: c.delete_inference_endpoint("text_embedding", "absent"),
        lambda c: c.delete_inference_endpoint("rerank", "absent", dry_run=True),
    ],
    ids=[
        "GET of a missing endpoint is None",
        "DELETE of a missing endpoint is None",
        "a dry-run DELETE of a missing endpoint is None",
    ],
)
def test_not_found_is_none_for_get_and_delete(
    operation: Callable[[ElasticsearchClient], object],
    emulator: ElasticsearchEmulator,
    in_process: ClientFactory,
) -> None:
    assert operation(in_process(emulator)) is None


def test_a_404_of_another_kind_is_not_taken_for_a_missing_endpoint(
    emulator: ElasticsearchEmulator, admin: httpx.Client, in_process: ClientFactory
) -> None:
    body = {
        "error": {"type": "index_not_found_exception", "reason": "no such index [.inference]"},
        "status": 404,
    }
    admin.post(
        "/_emulator/faults",
        json={
            "method": "GET",
            "path": "/_inference/*",
            "action": "status",
            "status": 404,
            "body": body,
        },
    ).raise_for_status()
    error = failure(lambda: in_process(emulator).get_inference_endpoint("text_embedding", ID))
    assert str(error) == (
        f"GET {PATH} failed: 404 index_not_found_exception: no such index [.inference]"
    )


# --- error translation --------------------------------------------------------------------------


def _pipeline(inference_id: str) -> dict[str, Any]:
    processor = {
        "model_id": inference_id,
        "input_output": [{"input_field": "t", "output_field": "v"}],
    }
    return {"processors": [{"inference": processor}]}


def _existing(client: ElasticsearchClient, admin: httpx.Client, hf_url: str) -> None:
    client.put_inference_endpoint("text_embedding", ID, hf_body(hf_url))


def _in_use(client: ElasticsearchClient, admin: httpx.Client, hf_url: str) -> None:
    _existing(client, admin, hf_url)
    admin.put("/_ingest/pipeline/embed", json=_pipeline(ID)).raise_for_status()


def _nothing(client: ElasticsearchClient, admin: httpx.Client, hf_url: str) -> None:
    del client, admin, hf_url


Setup = Callable[[ElasticsearchClient, httpx.Client, str], None]
Call = Callable[[ElasticsearchClient, str], object]
TRANSLATIONS: list[tuple[str, Setup, Call, type[ElasticsearchError], str]] = [
    (
        "an unknown service",
        _nothing,
        lambda c, hf: c.put_inference_endpoint(
            "text_embedding", ID, {"service": "foo", "service_settings": {}}
        ),
        ElasticsearchError,
        f"PUT {PATH} failed: 400 status_exception: Unknown service [foo]",
    ),
    (
        "Hugging Face refusing the key at the validation call",
        _nothing,
        lambda c, hf: c.put_inference_endpoint("text_embedding", ID, hf_body(hf, "hf_wrong_key")),
        ElasticsearchError,
        f"PUT {PATH} failed: 400 status_exception: Could not complete inference endpoint creation "
        "as validation call to service threw an exception.; caused by status_exception: Received "
        f"an authentication error status code for request from inference entity id [{ID}] status "
        "[401]. Error message: [Invalid credentials in Authorization header]",
    ),
    (
        "a missing api_key",
        _nothing,
        lambda c, hf: c.put_inference_endpoint(
            "text_embedding", ID, {"service": "hugging_face", "service_settings": {"url": hf}}
        ),
        ElasticsearchError,
        f"PUT {PATH} failed: 400 validation_exception: Validation Failed: 1: [secret_settings] "
        "does not contain the required setting [api_key];",
    ),
    (
        "an invalid inference id",
        _nothing,
        lambda c, hf: c.put_inference_endpoint("text_embedding", "Bad", hf_body(hf)),
        ElasticsearchError,
        "PUT /_inference/text_embedding/Bad failed: 400 action_request_validation_exception: "
        "Validation Failed: 1: Invalid inference_id; 'Bad' can contain lowercase alphanumeric "
        "(a-z and 0-9), hyphens or underscores; must start and end with alphanumeric;",
    ),
    (
        "an endpoint that already exists",
        _existing,
        lambda c, hf: c.put_inference_endpoint("text_embedding", ID, hf_body(hf)),
        EndpointConflict,
        f"PUT {PATH} failed: 400 resource_already_exists_exception: Inference endpoint [{ID}] "
        "already exists",
    ),
    (
        "a task type that does not match",
        _existing,
        lambda c, hf: c.get_inference_endpoint("rerank", ID),
        ElasticsearchError,
        f"GET /_inference/rerank/{ID} failed: 400 status_exception: Requested task type [rerank] "
        "does not match the inference endpoint's task type [text_embedding]",
    ),
    (
        "an update that sends service",
        _existing,
        lambda c, hf: c.update_inference_endpoint(
            "text_embedding", ID, {"service": "hugging_face"}
        ),
        ElasticsearchError,
        f"PUT {PATH}/_update failed: 400 status_exception: Request contained fields which cannot "
        "be updated, remove these fields and try again [{service=hugging_face}]",
    ),
    (
        "an update of a missing endpoint",
        _nothing,
        lambda c, hf: c.update_inference_endpoint("text_embedding", ID, {"task_settings": {}}),
        EndpointNotFound,
        f"PUT {PATH}/_update failed: 404 resource_not_found_exception: The inference endpoint "
        f"[{ID}] does not exist and cannot be updated",
    ),
    (
        "a delete refused because a pipeline uses the endpoint",
        _in_use,
        lambda c, hf: c.delete_inference_endpoint("text_embedding", ID),
        EndpointInUse,
        f"DELETE {PATH} failed: 409 status_exception: Inference endpoint {ID} is referenced by "
        "pipelines: [embed]. Ensure that no pipelines are using this inference endpoint, or use "
        "force to ignore this warning and delete the inference endpoint.",
    ),
    (
        "deleting a preconfigured endpoint",
        _nothing,
        lambda c, hf: c.delete_inference_endpoint("sparse_embedding", ".elser-2-elasticsearch"),
        ElasticsearchError,
        "DELETE /_inference/sparse_embedding/.elser-2-elasticsearch failed: 400 status_exception: "
        "[.elser-2-elasticsearch] is a reserved inference endpoint. Cannot delete a reserved "
        "inference endpoint.",
    ),
    (
        "a REST-layer error whose body is a bare string",
        _nothing,
        lambda c, hf: c.request("GET", "/_inference/a/b/c"),
        ElasticsearchError,
        "GET /_inference/a/b/c failed: 400 no handler found for uri [/_inference/a/b/c] and method [GET]",
    ),
]


@pytest.mark.parametrize(
    ("setup", "call", "kind", "message"),
    [t[1:] for t in TRANSLATIONS],
    ids=[f"{t[0]} becomes {t[3].__name__} with a full message" for t in TRANSLATIONS],
)
def test_elasticsearch_errors_are_translated_once_into_typed_errors(
    setup: Setup,
    call: Call,
    kind: type[ElasticsearchError],
    message: str,
    emulator: ElasticsearchEmulator,
    admin: httpx.Client,
    in_process: ClientFactory,
    hf_url: str,
) -> None:
    client = in_process(emulator)
    setup(client, admin, hf_url)
    error = failure(lambda: call(client, hf_url), kind)
    assert str(error) == message


def test_a_translated_error_carries_its_context(
    emulator: ElasticsearchEmulator, in_process: ClientFactory, hf_url: str
) -> None:
    client = in_process(emulator)
    error = failure(
        lambda: client.put_inference_endpoint("text_embedding", ID, hf_body(hf_url, "hf_bad"))
    )
    assert (error.method, error.path, error.status, error.error_type, error.inference_id) == (
        "PUT",
        PATH,
        400,
        "status_exception",
        ID,
    )
    assert error.reason == (
        "Could not complete inference endpoint creation as validation call to service threw an exception."
    )
    assert error.after_ambiguous_attempt is False


CREDENTIALS: dict[str, Any] = {
    "api_key": "es-api-key-5e1b",
    "bearer_token": "es-bearer-8c2d",
    "username": "elastic",
    "password": "es-password-3a9f",
}


class HeaderRecorder:
    """Wraps the emulator app to keep the headers each request arrived with."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, str | None]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.seen.append(
            {
                "authorization": environ.get("HTTP_AUTHORIZATION"),
                "user-agent": environ.get("HTTP_USER_AGENT"),
            }
        )
        return self.app(environ, start_response)


@pytest.fixture
def secured() -> HeaderRecorder:
    return HeaderRecorder(ElasticsearchEmulator(retry_backoff=0.01, **CREDENTIALS))


BASIC = "Basic " + base64.b64encode(b"elastic:es-password-3a9f").decode()
ACCEPTED = [
    (
        "an API key is sent as ApiKey",
        {"api_key": CREDENTIALS["api_key"]},
        f"ApiKey {CREDENTIALS['api_key']}",
    ),
    (
        "a bearer token is sent as Bearer",
        {"bearer_token": CREDENTIALS["bearer_token"]},
        f"Bearer {CREDENTIALS['bearer_token']}",
    ),
    (
        "a username and password are sent as Basic",
        {"username": "elastic", "password": CREDENTIALS["password"]},
        BASIC,
    ),
    (
        "an API key wins over a bearer token and basic auth",
        {
            "api_key": CREDENTIALS["api_key"],
            "bearer_token": "stale",
            "username": "elastic",
            "password": "stale",
        },
        f"ApiKey {CREDENTIALS['api_key']}",
    ),
    (
        "a bearer token wins over basic auth",
        {"bearer_token": CREDENTIALS["bearer_token"], "username": "elastic", "password": "stale"},
        f"Bearer {CREDENTIALS['bearer_token']}",
    ),
]


@pytest.mark.parametrize(
    ("credentials", "header"), [a[1:] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED]
)
def test_one_kind_of_credential_is_sent_and_accepted(
    credentials: dict[str, str], header: str, secured: HeaderRecorder, in_process: ClientFactory
) -> None:
    assert in_process(secured, **credentials).get_cluster_version() == Version(9, 1, 0)
    assert secured.seen == [{"authorization": header, "user-agent": USER_AGENT}]


REFUSED = [
    (
        "no credentials",
        {},
        "GET / failed: 401 security_exception: missing authentication credentials for REST request "
        "[/]. Elasticsearch requires credentials and none is configured (es-inference:apiKey, "
        "elasticsearch.api_key in the stack file, or ELASTICSEARCH_API_KEY)",
    ),
    (
        "a wrong API key",
        {"api_key": "es-api-key-wrong"},
        "GET / failed: 401 security_exception: unable to authenticate with provided credentials and "
        "anonymous access is not allowed for this request. Elasticsearch refused the credentials "
        "(401)",
    ),
    (
        "a wrong password",
        {"username": "elastic", "password": "nope"},
        "GET / failed: 401 security_exception: unable to authenticate user [elastic] for REST "
        "request [/]. Elasticsearch refused the credentials (401)",
    ),
]


@pytest.mark.parametrize(
    ("credentials", "message"),
    [r[1:] for r in REFUSED],
    ids=[f"{r[0]} is a 401 that is not retried" for r in REFUSED],
)
def test_a_cluster_that_requires_credentials_answers_401_otherwise(
    credentials: dict[str, str], message: str, secured: HeaderRecorder, in_process: ClientFactory
) -> None:
    client = in_process(secured, retry=FAST_RETRY, **credentials)
    error = failure(client.get_cluster_version)
    assert (str(error), error.status) == (message, 401)
    assert len(secured.seen) == 1


@pytest.mark.parametrize(
    "credential",
    ["api_key", "bearer_token", "password"],
    ids=[
        "an API key echoed by Elasticsearch is redacted",
        "a bearer token echoed by Elasticsearch is redacted",
        "a password echoed by Elasticsearch is redacted",
    ],
)
def test_secrets_echoed_in_an_error_are_scrubbed(
    credential: str, secured: HeaderRecorder, in_process: ClientFactory, hf_url: str
) -> None:
    chosen = {credential: CREDENTIALS[credential]}
    if credential == "password":
        chosen["username"] = "elastic"
    client = in_process(secured, **chosen)
    # ES repeats unknown settings verbatim, so a misplaced secret comes back in the error.
    body = hf_body(hf_url, note=CREDENTIALS[credential])
    error = failure(lambda: client.put_inference_endpoint("text_embedding", ID, body))
    assert str(error) == (
        f"PUT {PATH} failed: 400 status_exception: Model configuration contains settings "
        "[{note=[redacted]}] unknown to the [hugging_face] service"
    )
    assert CREDENTIALS[credential] not in error.reason


def test_secrets_are_scrubbed_from_retry_lines_too(
    emulator: ElasticsearchEmulator, admin: httpx.Client, in_process: ClientFactory
) -> None:
    body = {
        "error": {"type": "security_exception", "reason": "token es-api-key-5e1b is stale"},
        "status": 503,
    }
    admin.post(
        "/_emulator/faults", json={"action": "status", "status": 503, "body": body}
    ).raise_for_status()
    lines: list[str] = []
    client = in_process(
        emulator, api_key="es-api-key-5e1b", retry=FAST_RETRY, on_retry=lines.append
    )
    client.get_cluster_version()
    assert lines == [
        "GET / failed: 503 security_exception: token [redacted] is stale; retrying in 0.1 s (attempt 2)"
    ]


def test_scrub_replaces_every_occurrence_of_every_secret() -> None:
    assert scrub("a=s1 b=s2 c=s1", ["s1", "s2", ""]) == "a=[redacted] b=[redacted] c=[redacted]"


def test_a_secret_that_contains_another_is_redacted_whole() -> None:
    # secrets() lists the API key first; a password that extends it must not leak its tail.
    assert scrub("user=elastic pw=abc123-tail", ["abc123", "abc123-tail"]) == (
        "user=elastic pw=[redacted]"
    )


def test_a_request_emits_no_warning(
    emulator: ElasticsearchEmulator, in_process: ClientFactory
) -> None:
    client = in_process(emulator, retry=RetryPolicy(deadline=5, initial_backoff=0.5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.info()
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


# --- retries, on loopback -----------------------------------------------------------------------


@pytest.fixture
def retry_lines() -> list[str]:
    return []


@pytest.fixture
def looped(lab: Lab, retry_lines: list[str]) -> Iterator[Callable[..., ElasticsearchClient]]:
    """Clients of the lab's emulator over a real socket; retry lines go to ``retry_lines``."""
    clients: list[ElasticsearchClient] = []

    def factory(
        *endpoints: str, retry: RetryPolicy = FAST_RETRY, **settings: Any
    ) -> ElasticsearchClient:
        connection = ConnectionSettings(
            endpoints=endpoints or (lab.es_url,),
            timeout=settings.pop("timeout", 2),
            retry=retry,
            **settings,
        )
        client = ElasticsearchClient(connection, on_retry=retry_lines.append)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def test_a_429_waits_for_its_retry_after(
    lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    lab.fault(method="GET", path="/", action="status", status=429, retry_after="1")
    started = time.monotonic()
    assert looped().get_cluster_version() == Version(9, 1, 0)
    assert time.monotonic() - started >= 0.95
    assert retry_lines == [
        f"GET / failed: 429 es_rejected_execution_exception: {REJECTED}; retrying in 1.0 s (attempt 2)"
    ]
    assert lab.calls() == ["GET /", "GET /"]


@pytest.mark.parametrize(
    "retry_after",
    ["30", email.utils.formatdate(time.time() + 3600, usegmt=True)],
    ids=["a long Retry-After in seconds is capped", "a Retry-After date an hour away is capped"],
)
def test_a_long_retry_after_is_capped_by_max_retry_after(
    retry_after: str, lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    lab.fault(method="GET", path="/", action="status", status=429, retry_after=retry_after)
    started = time.monotonic()
    looped(
        retry=RetryPolicy(deadline=5, initial_backoff=0.1, max_backoff=0.1, max_retry_after=0.2)
    ).info()
    assert time.monotonic() - started < 2
    assert retry_lines == [
        f"GET / failed: 429 es_rejected_execution_exception: {REJECTED}; retrying in 0.2 s (attempt 2)"
    ]


@pytest.mark.parametrize(
    ("retry_after", "line"),
    [("soon", "retrying in 0.1 s"), ("-5", "retrying in 0.0 s")],
    ids=[
        "a Retry-After that is neither seconds nor a date falls back to the backoff",
        "a negative Retry-After means retry at once",
    ],
)
def test_an_odd_retry_after_does_not_break_the_retry(
    retry_after: str,
    line: str,
    lab: Lab,
    looped: Callable[..., ElasticsearchClient],
    retry_lines: list[str],
) -> None:
    lab.fault(
        method="GET",
        path="/",
        action="status",
        status=503,
        body=UNAVAILABLE,
        retry_after=retry_after,
    )
    assert looped().get_cluster_version() == Version(9, 1, 0)
    assert retry_lines == [f"{UNAVAILABLE_LINE}; {line} (attempt 2)"]


def test_a_503_is_retried_until_it_succeeds(
    lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    lab.fault(method="GET", path="/", action="status", status=503, times=2, body=UNAVAILABLE)
    assert looped().get_cluster_version() == Version(9, 1, 0)
    assert retry_lines == [
        f"{UNAVAILABLE_LINE}; retrying in 0.1 s (attempt 2)",
        f"{UNAVAILABLE_LINE}; retrying in 0.1 s (attempt 3)",
    ]
    assert lab.calls() == ["GET /", "GET /", "GET /"]


def test_a_proxy_page_502_or_504_is_retried(
    lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    lab.fault(method="GET", path="/", action="status", status=502)
    lab.fault(method="GET", path="/", action="status", status=504)
    assert looped().get_cluster_version() == Version(9, 1, 0)
    assert len(retry_lines) == 2
    # A proxy's HTML page is reported by its title, without the markup or a repeated status.
    assert retry_lines[0].startswith("GET / failed: 502 Bad Gateway; retrying in ")
    assert retry_lines[1].startswith("GET / failed: 504 Gateway Time-out; retrying in ")


def test_past_the_deadline_the_error_says_how_many_attempts_were_made(
    lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    lab.fault(method="GET", path="/", action="status", status=503, times=-1, body=UNAVAILABLE)
    client = looped(retry=RetryPolicy(deadline=0.5, initial_backoff=0.1, max_backoff=0.1))
    error = failure(client.info)
    attempts = len(lab.calls())
    assert attempts >= 3
    assert re.fullmatch(
        re.escape(f"{UNAVAILABLE_LINE} (gave up after {attempts} attempts in ") + r"\d+\.\d s\)",
        str(error),
    ), str(error)
    assert len(retry_lines) == attempts - 1


NOT_RETRIED: list[tuple[int, type[ElasticsearchError], str]] = [
    (400, ElasticsearchError, "illegal_argument_exception: injected fault"),
    (
        401,
        ElasticsearchError,
        "security_exception: missing authentication credentials for REST request. Elasticsearch "
        "requires credentials and none is configured (es-inference:apiKey, elasticsearch.api_key "
        "in the stack file, or ELASTICSEARCH_API_KEY)",
    ),
    (403, ElasticsearchError, "security_exception: action is unauthorized"),
    (409, EndpointInUse, "version_conflict_engine_exception: version conflict, injected fault"),
    (500, ElasticsearchError, "exception: injected fault"),
]


@pytest.mark.parametrize(
    ("status", "kind", "detail"),
    NOT_RETRIED,
    ids=[f"a {n[0]} is never retried" for n in NOT_RETRIED],
)
def test_a_caller_or_server_error_is_never_retried(
    status: int,
    kind: type[ElasticsearchError],
    detail: str,
    lab: Lab,
    looped: Callable[..., ElasticsearchClient],
    retry_lines: list[str],
) -> None:
    lab.fault(method="PUT", path="/_inference/*", action="status", status=status)
    client = looped()
    error = failure(
        lambda: client.put_inference_endpoint("text_embedding", ID, hf_body(lab.hf_url)), kind
    )
    assert str(error) == f"PUT {PATH} failed: {status} {detail}"
    assert lab.calls() == [f"PUT {PATH}"]
    assert retry_lines == []


def test_a_dropped_connection_is_unreachable(
    lab: Lab, looped: Callable[..., ElasticsearchClient]
) -> None:
    lab.fault(method="GET", path="/", action="drop")
    error = failure(looped(retry=NO_RETRY).info, ElasticsearchUnreachable)
    assert str(error) == (
        f"GET / failed: no response from {lab.es_url} "
        "(RemoteProtocolError: Server disconnected without sending a response.)"
    )


def test_a_dropped_connection_is_retried_and_the_retry_succeeds(
    lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    lab.fault(method="GET", path="/", action="drop")
    assert looped().get_cluster_version() == Version(9, 1, 0)
    assert retry_lines == [
        f"GET / failed: no response from {lab.es_url} (RemoteProtocolError: Server disconnected "
        "without sending a response.); retrying in 0.1 s (attempt 2)"
    ]
    assert lab.calls() == ["GET /", "GET /"]


def test_a_read_timeout_is_unreachable(
    lab: Lab, looped: Callable[..., ElasticsearchClient]
) -> None:
    lab.fault(method="GET", path="/", action="delay", seconds=0.6)
    error = failure(looped(retry=NO_RETRY, timeout=0.2).info, ElasticsearchUnreachable)
    assert str(error) == f"GET / failed: no response from {lab.es_url} (ReadTimeout: timed out)"


def test_a_put_whose_answer_was_lost_reports_an_ambiguous_attempt(
    lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    lab.fault(method="PUT", path="/_inference/*", action="commit_then_drop")
    client = looped()
    error = failure(
        lambda: client.put_inference_endpoint("text_embedding", ID, hf_body(lab.hf_url)),
        EndpointConflict,
    )
    assert error.after_ambiguous_attempt is True
    assert str(error) == (
        f"PUT {PATH} failed: 400 resource_already_exists_exception: Inference endpoint [{ID}] already exists"
    )
    assert lab.calls() == [f"PUT {PATH}", f"PUT {PATH}"]
    assert lab.endpoint(ID) is not None
    assert len(retry_lines) == 1


AMBIGUITY = [
    ("a dropped connection may have reached Elasticsearch", {"action": "drop"}, True),
    ("a lost answer may have reached Elasticsearch", {"action": "commit_then_drop"}, True),
    (
        "a 502 from a proxy may have reached Elasticsearch",
        {"action": "status", "status": 502},
        True,
    ),
    (
        "a 504 from a proxy may have reached Elasticsearch",
        {"action": "status", "status": 504},
        True,
    ),
    ("a 503 did not reach Elasticsearch", {"action": "status", "status": 503}, False),
    ("a 429 did not reach Elasticsearch", {"action": "status", "status": 429}, False),
    ("a 400 is certain", {"action": "status", "status": 400}, False),
]


@pytest.mark.parametrize(
    ("fault", "ambiguous"), [a[1:] for a in AMBIGUITY], ids=[a[0] for a in AMBIGUITY]
)
def test_the_final_error_says_whether_a_write_may_have_happened(
    fault: dict[str, Any], ambiguous: bool, lab: Lab, looped: Callable[..., ElasticsearchClient]
) -> None:
    lab.fault(method="PUT", path="/_inference/*", **fault)
    client = looped(retry=NO_RETRY)
    with pytest.raises(ElasticsearchError) as caught:
        client.put_inference_endpoint("text_embedding", ID, hf_body(lab.hf_url))
    assert caught.value.after_ambiguous_attempt is ambiguous


def test_a_refused_connection_is_not_ambiguous_and_gives_up_at_the_deadline(
    looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = looped(url, retry=RetryPolicy(deadline=0.3, initial_backoff=0.1, max_backoff=0.1))
    error = failure(client.info, ElasticsearchUnreachable)
    assert error.after_ambiguous_attempt is False
    assert re.fullmatch(
        re.escape(
            f"GET / failed: no response from {url} (ConnectError: [Errno 111] Connection refused) (gave up after {len(retry_lines) + 1} attempts in "
        )
        + r"\d+\.\d s\)",
        str(error),
    ), str(error)


def test_a_refused_connection_fails_over_to_the_next_endpoint(
    lab: Lab, looped: Callable[..., ElasticsearchClient], retry_lines: list[str]
) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    client = looped(down, lab.es_url)
    assert client.get_cluster_version() == Version(9, 1, 0)
    assert client.get_inference_endpoint("text_embedding", ID) is None
    assert retry_lines == [
        f"GET / failed: no response from {down} (ConnectError: [Errno 111] Connection refused); "
        "retrying in 0.1 s (attempt 2)"
    ]
    assert lab.calls() == ["GET /", f"GET {PATH}"]


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_server(certificate: tuple[Path, Path]) -> Iterator[RunningServer]:
    cert, key = certificate
    with serve(ElasticsearchEmulator(), ssl_context=(str(cert), str(key))) as server:
        yield server


@pytest.fixture(scope="module")
def fingerprint(certificate: tuple[Path, Path]) -> str:
    der = ssl.PEM_cert_to_DER_cert(certificate[0].read_text(encoding="ascii"))
    return hashlib.sha256(der).hexdigest()


def tls_client(server: RunningServer, **settings: Any) -> ElasticsearchClient:
    return ElasticsearchClient(
        ConnectionSettings(endpoints=(server.url,), timeout=2, retry=NO_RETRY, **settings)
    )


def test_tls_is_trusted_through_a_ca_file(
    tls_server: RunningServer, certificate: tuple[Path, Path]
) -> None:
    with tls_client(tls_server, ca_file=str(certificate[0])) as client:
        assert client.get_cluster_version() == Version(9, 1, 0)


def test_tls_is_trusted_through_the_sha256_fingerprint(
    tls_server: RunningServer, fingerprint: str
) -> None:
    with tls_client(tls_server, ca_fingerprint=fingerprint) as client:
        assert client.get_cluster_version() == Version(9, 1, 0)


def test_a_fingerprint_written_with_colons_in_upper_case_works(
    tls_server: RunningServer, fingerprint: str
) -> None:
    written = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    settings = resolve_connection(
        {"endpoints": [tls_server.url], "ca_fingerprint": written, "retry": {"deadline": 0}},
        config={},
        env={},
        project="proj",
    )
    with ElasticsearchClient(settings) as client:
        assert client.get_cluster_version() == Version(9, 1, 0)


def test_tls_verification_can_be_turned_off(tls_server: RunningServer) -> None:
    with tls_client(tls_server, insecure=True) as client:
        assert client.get_cluster_version() == Version(9, 1, 0)


def test_a_wrong_fingerprint_is_refused_clearly(tls_server: RunningServer) -> None:
    with tls_client(tls_server, ca_fingerprint="0" * 64) as client:
        error = failure(client.info, ElasticsearchUnreachable)
    assert str(error) == (
        f"TLS to {tls_server.url}: no certificate presented matches the configured CA fingerprint"
    )


def test_an_untrusted_certificate_is_refused_clearly(tls_server: RunningServer) -> None:
    with tls_client(tls_server) as client:
        error = failure(client.info, ElasticsearchUnreachable)
    assert re.fullmatch(
        re.escape(
            f"GET / failed: no response from {tls_server.url} (ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self"
        )
        + r"[- ]signed certificate \(_ssl\.c:\d+\)\); configure ca_file or ca_fingerprint for "
        + re.escape("this cluster's CA (or insecure: true for a test cluster)"),
        str(error),
    ), str(error)


def test_a_missing_ca_file_is_a_provider_error_naming_the_file(
    tls_server: RunningServer, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with (
        tls_client(tls_server, ca_file=str(missing)) as client,
        pytest.raises(ProviderError) as caught,
    ):
        client.info()
    assert str(missing) in str(caught.value)


def test_a_pinned_cluster_that_is_down_is_unreachable_and_fails_over(
    tls_server: RunningServer, fingerprint: str
) -> None:
    down = f"https://127.0.0.1:{closed_port()}"
    settings = ConnectionSettings(
        endpoints=(down, tls_server.url), ca_fingerprint=fingerprint, timeout=2, retry=FAST_RETRY
    )
    with ElasticsearchClient(settings) as client:
        assert client.get_cluster_version() == Version(9, 1, 0)
