"""The emulator's `elastic` service (the Elastic Inference Service) against ES's source.

Each cluster reaches a loopback EIS stand-in (`emulators.vendors.eis`) through its node setting
`xpack.inference.elastic.url`, asks it once which models it may use, and makes its validation
calls there. The versions and the choices the sources left open are in
emulators/elasticsearch/services/elastic.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, serve
from emulators.vendors.eis import DEFAULT_MODELS, DENSE_DIMENSIONS, EisServer

from ._helpers import error_of

CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}
VALIDATION_FAILED = (
    "Could not complete inference endpoint creation as validation call to service threw"
    " an exception."
)


class Cluster:
    """An emulator and its EIS stand-in, with clients of both."""

    def __init__(self, es: httpx.Client, eis: httpx.Client | None) -> None:
        self.es = es
        self.eis = eis

    def put(self, task: str, inference_id: str, settings: dict[str, Any], **body: Any) -> Any:
        return self.es.put(
            f"/_inference/{task}/{inference_id}",
            json={"service": "elastic", "service_settings": settings, **body},
        )

    def eis_calls(self) -> list[dict[str, Any]]:
        assert self.eis is not None
        return [
            {"method": r["method"], "path": r["path"], "body": r["body"], "key": r["key_sha256"]}
            for r in self.eis.get("/_emulator/requests").json()["requests"]
        ]

    def clear_eis_log(self) -> None:
        assert self.eis is not None
        self.eis.delete("/_emulator/requests").raise_for_status()

    def ids(self, task: str = "_all") -> list[str]:
        path = "/_inference/_all" if task == "_all" else f"/_inference/{task}/_all"
        return [e["inference_id"] for e in self.es.get(path).json()["endpoints"]]


@contextmanager
def cluster(
    version: str,
    models: Mapping[str, tuple[str, ...]] | None = DEFAULT_MODELS,
    **options: Any,
) -> Iterator[Cluster]:
    """A cluster of `version` whose EIS authorizes `models` (None: no EIS URL configured)."""
    with ExitStack() as stack:
        eis = None
        node_settings: dict[str, str] = {}
        if models is not None:
            eis_server = stack.enter_context(serve(EisServer(models)))
            node_settings["xpack.inference.elastic.url"] = eis_server.url
            eis = stack.enter_context(httpx.Client(base_url=eis_server.url, timeout=10))
        emulator = ElasticsearchEmulator(
            version=version, retry_backoff=0.01, node_settings=node_settings, **options
        )
        es_server = stack.enter_context(serve(emulator))
        es = stack.enter_context(httpx.Client(base_url=es_server.url, timeout=10))
        yield Cluster(es, eis)


@pytest.fixture(scope="module")
def v91() -> Iterator[Cluster]:
    with cluster("9.1.0") as running:
        yield running


@pytest.fixture
def c91(v91: Cluster) -> Cluster:
    v91.es.post("/_emulator/reset").raise_for_status()
    v91.clear_eis_log()
    return v91


# --- authorization: ElasticInferenceServiceAuthorizationRequestHandler ------------------------


def test_the_node_asks_eis_once_which_models_it_may_use() -> None:
    with cluster("9.1.0") as running:
        calls = running.eis_calls()
    assert calls == [{"method": "GET", "path": "/api/v1/authorizations", "body": None, "key": None}]


def test_from_9_3_the_node_asks_the_v2_authorization_endpoint() -> None:
    with cluster("9.3.0") as running:
        assert [c["path"] for c in running.eis_calls()] == ["/api/v2/authorizations"]
        # The v2 answer names the endpoints; rate limiting is disabled, so none is shown.
        elser = running.es.get("/_inference/.elser-2-elastic").json()["endpoints"][0]
    assert elser["service_settings"] == {"model_id": "elser_model_2"}


def test_sparse_embedding_is_validated_by_eis_without_a_credential(c91: Cluster) -> None:
    response = c91.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "inference_id": "eis-sparse",
        "task_type": "sparse_embedding",
        "service": "elastic",
        "service_settings": {
            "model_id": "elser_model_2",
            "rate_limit": {"requests_per_minute": 1000},
        },
        "chunking_settings": CHUNKING,
    }
    assert c91.eis_calls() == [
        {
            "method": "POST",
            "path": "/api/v1/embed/text/sparse",
            "body": {"input": ["how big"], "model": "elser_model_2", "usage_context": "ingest"},
            "key": None,
        }
    ]


def test_text_embedding_measures_its_dimensions_and_defaults_to_cosine(c91: Cluster) -> None:
    response = c91.put(
        "text_embedding", "eis-dense", {"model_id": "multilingual-embed-v1", "max_input_tokens": 64}
    )
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "similarity": "cosine",
        "dimensions": DENSE_DIMENSIONS,
        "max_input_tokens": 64,
        "model_id": "multilingual-embed-v1",
        "rate_limit": {"requests_per_minute": 10000},
    }
    assert [c["path"] for c in c91.eis_calls()] == ["/api/v1/embed/text/dense"]


def test_chat_completion_streams_the_validation_call(c91: Cluster) -> None:
    response = c91.put("chat_completion", "eis-chat", {"model_id": "rainbow-sprinkles"})
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "model_id": "rainbow-sprinkles",
        "rate_limit": {"requests_per_minute": 720},
    }
    [call] = c91.eis_calls()
    assert call["path"] == "/api/v1/chat"
    assert call["body"] == {
        "messages": [{"content": "how big", "role": "user"}],
        "model": "rainbow-sprinkles",
        "n": 1,
        "stream": True,
    }


def test_rerank_is_a_task_type_from_9_1(c91: Cluster) -> None:
    response = c91.put("rerank", "eis-rerank", {"model_id": "rerank-v1"})
    assert response.status_code == 200, response.text
    assert response.json()["service_settings"] == {
        "model_id": "rerank-v1",
        "rate_limit": {"requests_per_minute": 500},
    }
    [call] = c91.eis_calls()
    assert call["path"] == "/api/v1/rerank/text/text-similarity"
    assert call["body"] == {"query": "test query", "model": "rerank-v1", "documents": ["how big"]}
    with cluster("9.0.0") as running:
        refused = running.put("rerank", "eis-rerank", {"model_id": "rerank-v1"})
    assert error_of(refused) == (
        400,
        "status_exception",
        "The [elastic] service does not support task type [rerank]",
    )


def test_a_model_eis_does_not_authorize_fails_the_validation_call(c91: Cluster) -> None:
    response = c91.put("sparse_embedding", "eis-other", {"model_id": "not-a-model"})
    status, kind, why = error_of(response)
    assert (status, kind, why) == (400, "status_exception", VALIDATION_FAILED)
    assert response.json()["error"]["caused_by"]["reason"] == (
        "Received a bad request status code for request from inference entity id [eis-other]"
        " status [400]. Error message: [Model [not-a-model] is not authorized for task"
        " [embed/text/sparse]]"
    )
    assert c91.es.get("/_inference/eis-other").status_code == 404


def test_services_lists_only_what_eis_authorizes_and_put_leaves_the_refusal_to_eis() -> None:
    with cluster("9.1.0", {"rainbow-sprinkles": ("chat_completion",)}) as running:
        services = running.es.get("/_inference/_services").json()
        refused = running.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"})
        calls = [c["path"] for c in running.eis_calls()]
        # With the validation call skipped nothing asks EIS: the endpoint is stored.
        running.es.put(
            "/_cluster/settings",
            json={"persistent": {"xpack.inference.skip_validate_and_start": "true"}},
        ).raise_for_status()
        stored = running.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"})
        eis_ids = [i for i in running.ids() if i.endswith("-elastic") or i.startswith("eis-")]
    [elastic] = [s for s in services if s["service"] == "elastic"]
    assert elastic["task_types"] == ["chat_completion"]
    assert error_of(refused) == (400, "status_exception", VALIDATION_FAILED)
    assert refused.json()["error"]["caused_by"]["reason"].endswith(
        "Error message: [Model [elser_model_2] is not authorized for task [embed/text/sparse]]"
    )
    assert calls == ["/api/v1/authorizations", "/api/v1/embed/text/sparse"]
    assert stored.status_code == 200, stored.text
    assert eis_ids == [".rainbow-sprinkles-elastic", "eis-sparse"]


def test_without_an_eis_url_nothing_is_authorized_and_nothing_can_be_sent() -> None:
    with cluster("9.1.0", None) as running:
        refused = running.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"})
        services = running.es.get("/_inference/_services").json()
        ids = running.ids()
    assert error_of(refused) == (400, "status_exception", VALIDATION_FAILED)
    cause = refused.json()["error"]["caused_by"]
    assert (
        cause["reason"]
        == "Http client failed to send request from inference entity id [eis-sparse]"
    )
    assert cause["caused_by"]["reason"] == "Target host is not specified"
    assert "elastic" not in [s["service"] for s in services]
    assert not [i for i in ids if i.endswith("-elastic")]


def test_before_8_18_the_service_is_unknown() -> None:
    with cluster("8.17.0") as running:
        response = running.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"})
        assert error_of(response) == (400, "status_exception", "Unknown service [elastic]")
        assert running.eis_calls() == []


# --- parsing: ElasticInferenceService.parseRequestConfig and the *ServiceSettings.fromMap -------


def test_every_settings_problem_is_reported_at_once(c91: Cluster) -> None:
    response = c91.put(
        "sparse_embedding",
        "bad",
        {"max_input_tokens": -1, "rate_limit": {"requests_per_minute": "x"}},
    )
    assert error_of(response) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] does not contain the required setting"
        " [model_id];2: [service_settings] Invalid value [-1]. [max_input_tokens] must be a"
        " positive integer;3: field [requests_per_minute] is not of one of the expected types."
        " The value [x] cannot be converted to one of [Integer, Long];",
    )
    dense = c91.put("text_embedding", "bad", {"model_id": "m", "similarity": "nope"})
    assert error_of(dense)[2] == (
        "Validation Failed: 1: [service_settings] Invalid value [nope] received. [similarity]"
        " must be one of [cosine, dot_product, l2_norm];"
    )
    assert c91.eis_calls() == []


@pytest.mark.parametrize(
    ("body", "leftover"),
    [
        ({"service_settings": {"model_id": "elser_model_2", "api_key": "k"}}, "{api_key=k}"),
        (
            {"service_settings": {"model_id": "elser_model_2"}, "task_settings": {"top_n": 2}},
            "{top_n=2}",
        ),
        ({"service_settings": {"model_id": "elser_model_2"}, "extra": 1}, "{extra=1}"),
    ],
    ids=["no secret settings", "no task settings", "unknown top-level key"],
)
def test_unknown_settings_are_refused(c91: Cluster, body: dict[str, Any], leftover: str) -> None:
    response = c91.es.put("/_inference/sparse_embedding/bad", json={"service": "elastic", **body})
    assert error_of(response) == (
        400,
        "status_exception",
        f"Model configuration contains settings [{leftover}] unknown to the [elastic] service",
    )


def test_service_settings_are_required(c91: Cluster) -> None:
    response = c91.es.put("/_inference/sparse_embedding/bad", json={"service": "elastic"})
    assert error_of(response) == (
        400,
        "status_exception",
        "Missing required field [service_settings]",
    )


def test_8_18_has_no_chunking_and_a_lower_chat_rate_limit() -> None:
    with cluster("8.18.0") as running:
        chunked = running.put(
            "sparse_embedding",
            "eis-sparse",
            {"model_id": "elser-v2"},
            chunking_settings={"strategy": "word", "max_chunk_size": 100, "overlap": 10},
        )
        plain = running.put("sparse_embedding", "eis-sparse", {"model_id": "elser-v2"})
        chat = running.put("chat_completion", "eis-chat", {"model_id": "rainbow-sprinkles"})
        dense = running.put("text_embedding", "eis-dense", {"model_id": "multilingual-embed-v1"})
        ids = running.ids()
    assert error_of(chunked)[2].startswith(
        "Model configuration contains settings [{chunking_settings="
    )
    assert "chunking_settings" not in plain.json()
    assert chat.json()["service_settings"]["rate_limit"] == {"requests_per_minute": 240}
    assert error_of(dense)[2] == "The [elastic] service does not support task type [text_embedding]"
    assert [i for i in ids if i.startswith(".") and i.endswith("-elastic")] == [
        ".elser-v2-elastic",
        ".rainbow-sprinkles-elastic",
    ]


def test_from_9_2_rate_limits_are_not_permitted() -> None:
    with cluster("9.2.0") as running:
        refused = running.put(
            "sparse_embedding",
            "eis-sparse",
            {"model_id": "elser_model_2", "rate_limit": {"requests_per_minute": 10}},
        )
        plain = running.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"})
    assert error_of(refused) == (
        400,
        "validation_exception",
        "Validation Failed: 1: [service_settings] rate limit settings are not permitted for"
        " service [elastic] and task type [sparse_embedding];",
    )
    assert plain.json()["service_settings"] == {"model_id": "elser_model_2"}


# --- preconfigured endpoints: ElasticInferenceServiceAuthorizationHandler -----------------------


def test_authorized_default_endpoints_are_listed_and_filtered_by_task_type(c91: Cluster) -> None:
    eis_ids = [i for i in c91.ids() if i.endswith("-elastic")]
    assert eis_ids == [
        ".elser-2-elastic",
        ".multilingual-embed-v1-elastic",
        ".rainbow-sprinkles-elastic",
        ".rerank-v1-elastic",
    ]
    assert ".elser-2-elastic" in c91.ids("sparse_embedding")
    assert ".rainbow-sprinkles-elastic" not in c91.ids("sparse_embedding")
    dense = c91.es.get("/_inference/text_embedding/.multilingual-embed-v1-elastic").json()
    assert dense["endpoints"] == [
        {
            "inference_id": ".multilingual-embed-v1-elastic",
            "task_type": "text_embedding",
            "service": "elastic",
            "service_settings": {
                "similarity": "cosine",
                "dimensions": 1024,
                "model_id": "multilingual-embed-v1",
                "rate_limit": {"requests_per_minute": 10000},
            },
            "chunking_settings": CHUNKING,
        }
    ]
    wrong = c91.es.get("/_inference/rerank/.elser-2-elastic")
    assert error_of(wrong)[0] == 400


def test_default_endpoints_cannot_be_created_deleted_or_updated(c91: Cluster) -> None:
    # A leading dot is no valid id for a PUT (`MlStrings.isValidId`), before the reserved check.
    put = c91.put("sparse_embedding", ".elser-2-elastic", {"model_id": "elser_model_2"})
    assert error_of(put)[:2] == (400, "action_request_validation_exception")
    assert error_of(put)[2].startswith("Validation Failed: 1: Invalid inference_id;")
    delete = c91.es.delete("/_inference/.elser-2-elastic")
    assert error_of(delete) == (
        400,
        "status_exception",
        "[.elser-2-elastic] is a reserved inference endpoint. Use the force=true query parameter"
        " to delete the inference endpoint.",
    )
    assert ".elser-2-elastic" in c91.ids()
    with cluster("9.4.0") as running:
        update = running.es.put(
            "/_inference/.elser-2-elastic/_update", json={"service_settings": {"model_id": "x"}}
        )
    assert error_of(update)[:2] == (400, "action_request_validation_exception")
    assert error_of(update)[2].startswith("Validation Failed: 1: Invalid inference_id;")


# --- GET _inference/_services: ElasticInferenceService.createConfiguration ----------------------


def test_services_lists_the_authorized_task_types(c91: Cluster) -> None:
    services = c91.es.get("/_inference/_services").json()
    [elastic] = [s for s in services if s["service"] == "elastic"]
    assert elastic["name"] == "Elastic"
    assert elastic["task_types"] == [
        "text_embedding",
        "sparse_embedding",
        "rerank",
        "chat_completion",
    ]
    assert elastic["configurations"]["model_id"] == {
        "description": "The name of the model to use for the inference task.",
        "label": "Model ID",
        "required": True,
        "sensitive": False,
        "updatable": False,
        "type": "str",
        "supported_task_types": ["text_embedding", "sparse_embedding", "rerank", "chat_completion"],
    }
    assert elastic["configurations"]["max_input_tokens"]["supported_task_types"] == [
        "text_embedding",
        "sparse_embedding",
    ]
    assert elastic["configurations"]["rate_limit.requests_per_minute"]["label"] == "Rate Limit"
    by_task = c91.es.get("/_inference/_services/completion").json()
    assert "elastic" not in [s["service"] for s in by_task]
    with cluster("9.2.0") as running:
        [later] = [
            s for s in running.es.get("/_inference/_services").json() if s["service"] == "elastic"
        ]
    # #135838: no rate-limit field once EIS rate limiting is disabled.
    assert sorted(later["configurations"]) == ["max_input_tokens", "model_id"]


# --- _update: TransportUpdateInferenceModelAction --------------------------------------------


def test_update_before_9_4_changes_nothing_and_from_9_4_refuses_other_settings(
    c91: Cluster,
) -> None:
    assert (
        c91.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"}).status_code == 200
    )
    ignored = c91.es.put(
        "/_inference/eis-sparse/_update", json={"service_settings": {"model_id": "other"}}
    )
    assert ignored.status_code == 200
    assert ignored.json()["service_settings"]["model_id"] == "elser_model_2"
    with cluster("9.4.0") as running:
        assert (
            running.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"}).status_code
            == 200
        )
        refused = running.es.put(
            "/_inference/eis-sparse/_update", json={"service_settings": {"model_id": "other"}}
        )
        limited = running.es.put(
            "/_inference/eis-sparse/_update",
            json={"service_settings": {"rate_limit": {"requests_per_minute": 5}}},
        )
    assert error_of(refused) == (
        400,
        "status_exception",
        "Configuration contains settings [{model_id=other}] unknown to the [elastic] service",
    )
    assert error_of(limited)[2].endswith(
        "rate limit settings are not permitted for service [elastic] and task type"
        " [sparse_embedding];"
    )


# --- perform inference: ElasticInferenceService.doInfer and doUnifiedCompletionInfer ----------


def test_perform_inference_goes_to_eis_with_the_usage_context(c91: Cluster) -> None:
    assert (
        c91.put("sparse_embedding", "eis-sparse", {"model_id": "elser_model_2"}).status_code == 200
    )
    assert (
        c91.put("text_embedding", "eis-dense", {"model_id": "multilingual-embed-v1"}).status_code
        == 200
    )
    c91.clear_eis_log()
    sparse = c91.es.post(
        "/_inference/sparse_embedding/eis-sparse",
        json={"input": "hello world", "input_type": "search"},
    )
    dense = c91.es.post("/_inference/eis-dense", json={"input": ["a", "b"]})
    assert sparse.status_code == 200, sparse.text
    [result] = sparse.json()["sparse_embedding"]
    assert result["is_truncated"] is False and set(result["embedding"]) == {"hello", "world"}
    vectors = dense.json()["text_embedding"]
    assert [len(v["embedding"]) for v in vectors] == [DENSE_DIMENSIONS, DENSE_DIMENSIONS]
    assert [c["body"] for c in c91.eis_calls()] == [
        {"input": ["hello world"], "model": "elser_model_2", "usage_context": "search"},
        {"input": ["a", "b"], "model": "multilingual-embed-v1", "usage_context": "unspecified"},
    ]


def test_rerank_inference_needs_a_query_and_answers_ranked_documents() -> None:
    with cluster("9.1.0") as running:
        assert running.put("rerank", "eis-rerank", {"model_id": "rerank-v1"}).status_code == 200
        missing = running.es.post("/_inference/rerank/eis-rerank", json={"input": ["x"]})
        ranked = running.es.post(
            "/_inference/rerank/eis-rerank", json={"input": ["x", "y"], "query": "q"}
        )
    assert error_of(missing) == (
        400,
        "action_request_validation_exception",
        "Validation Failed: 1: Field [query] cannot be null for task type [rerank];",
    )
    assert ranked.json() == {
        "rerank": [{"index": 0, "relevance_score": 1.0}, {"index": 1, "relevance_score": 0.5}]
    }


def test_chat_completion_streams_only(c91: Cluster) -> None:
    assert (
        c91.put("chat_completion", "eis-chat", {"model_id": "rainbow-sprinkles"}).status_code == 200
    )
    plain = c91.es.post("/_inference/chat_completion/eis-chat", json={"input": "hi"})
    assert error_of(plain) == (
        400,
        "status_exception",
        "Inference entity [eis-chat] does not support task type [chat_completion] for inference,"
        " the task type must be one of [sparse_embedding, rerank, text_embedding]. The task type"
        " for the inference entity is chat_completion, please use the"
        " _inference/chat_completion/eis-chat/_stream URL.",
    )
    streamed = c91.es.post(
        "/_inference/chat_completion/eis-chat/_stream",
        json={"messages": [{"role": "user", "content": "hi"}]},
    )
    assert streamed.status_code == 200
    assert '"content": "big enough"' in streamed.text or '"content":"big enough"' in streamed.text
    assert streamed.text.endswith("data: [DONE]\n\n")
