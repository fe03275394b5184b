"""GET and DELETE /_inference, with the pipeline and index references DELETE checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._helpers import error_of, hf_body

URL = "http://127.0.0.1:9/x"
DEFAULT_IDS = [
    ".elser-2-elasticsearch",
    ".multilingual-e5-small-elasticsearch",
    ".rerank-v1-elasticsearch",
]


def skip_validation(es: httpx.Client) -> None:
    body = {"persistent": {"xpack.inference.skip_validate_and_start": True}}
    es.put("/_cluster/settings", json=body).raise_for_status()


def create(es: httpx.Client, task_type: str, inference_id: str) -> None:
    es.put(f"/_inference/{task_type}/{inference_id}", json=hf_body(URL)).raise_for_status()


@pytest.fixture
def populated(make_es: Any) -> httpx.Client:
    es: httpx.Client = make_es()
    skip_validation(es)
    create(es, "text_embedding", "zeta")
    create(es, "rerank", "alpha")
    create(es, "text_embedding", "mid")
    return es


def ids(response: httpx.Response) -> list[str]:
    return [e["inference_id"] for e in response.json()["endpoints"]]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/_inference", [*DEFAULT_IDS, "alpha", "mid", "zeta"]),
        ("/_inference/_all", [*DEFAULT_IDS, "alpha", "mid", "zeta"]),
        ("/_inference/*", [*DEFAULT_IDS, "alpha", "mid", "zeta"]),
        (
            "/_inference/text_embedding/_all",
            [".multilingual-e5-small-elasticsearch", "mid", "zeta"],
        ),
        ("/_inference/rerank/*", [".rerank-v1-elasticsearch", "alpha"]),
        ("/_inference/mid", ["mid"]),
        ("/_inference/text_embedding/mid", ["mid"]),
        ("/_inference/.elser-2-elasticsearch", [".elser-2-elasticsearch"]),
    ],
    ids=[
        "all endpoints, defaults first by sort order",
        "_all lists everything",
        "a star lists everything",
        "all of one task type",
        "a star within a task type",
        "one endpoint by id",
        "one endpoint by task type and id",
        "a default endpoint by id",
    ],
)
def test_get_lists_endpoints_sorted_by_id(
    populated: httpx.Client, path: str, expected: list[str]
) -> None:
    response = populated.get(path)
    assert response.status_code == 200
    assert ids(response) == expected


def test_an_empty_cluster_lists_no_endpoints(es: httpx.Client) -> None:
    assert es.get("/_inference").json() == {"endpoints": []}


@pytest.mark.parametrize(
    ("version", "expected"),
    [("8.15.0", []), ("8.17.0", DEFAULT_IDS[:2]), ("9.0.0", DEFAULT_IDS)],
    ids=["8.15 has no defaults", "8.17 has elser and e5", "9.0 adds rerank v1"],
)
def test_default_endpoints_follow_the_version(
    make_es: Any, version: str, expected: list[str]
) -> None:
    assert ids(make_es(version=version).get("/_inference")) == expected


def test_a_single_task_type_segment_is_an_id_not_a_task_type(populated: httpx.Client) -> None:
    response = populated.get("/_inference/text_embedding")
    assert error_of(response) == (
        404,
        "resource_not_found_exception",
        "Inference endpoint not found [text_embedding]",
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "error_type", "reason"),
    [
        (
            "GET",
            "/_inference/missing",
            404,
            "resource_not_found_exception",
            "Inference endpoint not found [missing]",
        ),
        (
            "GET",
            "/_inference/rerank/mid",
            400,
            "status_exception",
            "Requested task type [rerank] does not match the inference endpoint's task type [text_embedding]",
        ),
        ("GET", "/_inference/bogus/mid", 400, "status_exception", "Unknown task_type [bogus]"),
        (
            "DELETE",
            "/_inference/missing",
            404,
            "resource_not_found_exception",
            "Inference endpoint not found [missing]",
        ),
        (
            "DELETE",
            "/_inference/rerank/mid",
            400,
            "status_exception",
            "Requested task type [rerank] does not match the inference endpoint's task type [text_embedding]",
        ),
        (
            "DELETE",
            "/_inference/.elser-2-elasticsearch",
            400,
            "status_exception",
            "[.elser-2-elasticsearch] is a reserved inference endpoint. Use the force=true query"
            " parameter to delete the inference endpoint.",
        ),
        (
            "DELETE",
            "/_inference/mid?dry_run=maybe",
            400,
            "illegal_argument_exception",
            "Failed to parse value [maybe] as only [true] or [false] are allowed.",
        ),
    ],
    ids=[
        "get of a missing id",
        "get with the wrong task type",
        "get with an unknown task type",
        "delete of a missing id",
        "delete with the wrong task type",
        "delete of a default endpoint",
        "delete with a non-boolean flag",
    ],
)
def test_get_and_delete_errors(
    populated: httpx.Client, method: str, path: str, status: int, error_type: str, reason: str
) -> None:
    assert error_of(populated.request(method, path)) == (status, error_type, reason)


RESERVED = ".elser-2-elasticsearch"
OLD_RULE = (
    f"[{RESERVED}] is a reserved inference endpoint. Cannot delete a reserved inference endpoint."
)
NEW_RULE = (
    f"[{RESERVED}] is a reserved inference endpoint. Use the force=true query parameter to"
    " delete the inference endpoint."
)


@pytest.mark.parametrize(
    ("version", "without_force", "forced"),
    [
        ("8.17.0", OLD_RULE, OLD_RULE),
        ("8.18.0", NEW_RULE, None),
        ("9.0.0", OLD_RULE, OLD_RULE),
        ("9.1.0", NEW_RULE, None),
    ],
    ids=[
        "8.17 refuses even with force",
        "8.18 deletes with force (elastic/elasticsearch#124781)",
        "9.0 refuses even with force (no backport found)",
        "9.1 deletes with force",
    ],
)
def test_a_reserved_endpoint_is_deleted_only_with_force_and_only_from_8_18_and_9_1(
    make_es: Any, version: str, without_force: str, forced: str | None
) -> None:
    es = make_es(version=version)
    assert error_of(es.delete(f"/_inference/{RESERVED}")) == (
        400,
        "status_exception",
        without_force,
    )
    response = es.delete(f"/_inference/{RESERVED}?force=true")
    if forced is None:
        assert response.json() == {"acknowledged": True, "pipelines": [], "indexes": []}
    else:
        assert error_of(response) == (400, "status_exception", forced)
    # Deleted or not, a preconfigured endpoint is there again on the next read.
    assert es.get(f"/_inference/{RESERVED}").status_code == 200


def test_delete_removes_the_endpoint(populated: httpx.Client) -> None:
    response = populated.delete("/_inference/text_embedding/mid")
    assert response.json() == {"acknowledged": True, "pipelines": [], "indexes": []}
    assert populated.get("/_inference/mid").status_code == 404


def test_delete_before_8_15_has_no_reference_fields_or_flags(make_es: Any) -> None:
    es = make_es(version="8.14.0")
    skip_validation(es)
    create(es, "text_embedding", "e")
    bad = es.delete("/_inference/e?force=true")
    assert error_of(bad)[2] == "request [/_inference/e] contains unrecognized parameter: [force]"
    assert es.delete("/_inference/e").json() == {"acknowledged": True}


def reference(es: httpx.Client, inference_id: str) -> None:
    pipeline = {"processors": [{"inference": {"model_id": inference_id, "input_output": []}}]}
    es.put("/_ingest/pipeline/pipeline_referencing_model", json=pipeline).raise_for_status()
    nested = {
        "processors": [
            {
                "set": {
                    "field": "a",
                    "value": 1,
                    "on_failure": [{"inference": {"model_id": inference_id}}],
                }
            }
        ]
    }
    es.put("/_ingest/pipeline/nested", json=nested).raise_for_status()
    mappings = {
        "mappings": {
            "properties": {"body": {"type": "semantic_text", "inference_id": inference_id}}
        }
    }
    es.put("/docs", json=mappings).raise_for_status()


REFERENCED = (
    "Inference endpoint mid is referenced by pipelines: [pipeline_referencing_model, nested]. Ensure that no"
    " pipelines are using this inference endpoint, or use force to ignore this warning and delete the"
    " inference endpoint. Inference endpoint mid is being used in the mapping for indexes: [docs]. Ensure"
    " that no index mappings are using this inference endpoint, or use force to ignore this warning and"
    " delete the inference endpoint."
)


def test_a_referenced_endpoint_cannot_be_deleted_without_force(populated: httpx.Client) -> None:
    reference(populated, "mid")
    response = populated.delete("/_inference/mid")
    assert error_of(response) == (409, "status_exception", REFERENCED)
    assert populated.get("/_inference/mid").status_code == 200


def test_dry_run_reports_references_in_java_set_order_and_deletes_nothing(
    populated: httpx.Client,
) -> None:
    reference(populated, "mid")
    response = populated.delete("/_inference/mid?dry_run=true")
    assert response.json() == {
        "acknowledged": False,
        "pipelines": ["pipeline_referencing_model", "nested"],
        "indexes": ["docs"],
        "error_message": REFERENCED,
    }
    assert populated.get("/_inference/mid").status_code == 200


def test_dry_run_without_references_has_an_empty_error_message(populated: httpx.Client) -> None:
    response = populated.delete("/_inference/mid?dry_run")
    assert response.json() == {
        "acknowledged": False,
        "pipelines": [],
        "indexes": [],
        "error_message": "",
    }


def test_force_deletes_a_referenced_endpoint(populated: httpx.Client) -> None:
    reference(populated, "mid")
    response = populated.delete("/_inference/mid?force=true")
    assert response.json() == {"acknowledged": True, "pipelines": [], "indexes": []}
    assert populated.get("/_inference/mid").status_code == 404


def test_removing_the_references_allows_the_delete(populated: httpx.Client) -> None:
    reference(populated, "mid")
    populated.delete("/_ingest/pipeline/nested").raise_for_status()
    populated.delete("/_ingest/pipeline/pipeline_referencing_model").raise_for_status()
    populated.delete("/docs").raise_for_status()
    assert populated.delete("/_inference/mid").status_code == 200


def test_pipelines_round_trip_and_missing_ones_are_404(es: httpx.Client) -> None:
    pipeline = {"description": "d", "processors": [{"inference": {"model_id": "x"}}]}
    assert es.put("/_ingest/pipeline/p", json=pipeline).json() == {"acknowledged": True}
    assert es.get("/_ingest/pipeline/p").json() == {"p": pipeline}
    assert es.get("/_ingest/pipeline").json() == {"p": pipeline}
    missing = es.get("/_ingest/pipeline/nope")
    assert (missing.status_code, missing.json()) == (404, {})
    assert error_of(es.delete("/_ingest/pipeline/nope")) == (
        404,
        "resource_not_found_exception",
        "pipeline [nope] is missing",
    )


def test_a_pipeline_without_processors_or_model_id_is_rejected(es: httpx.Client) -> None:
    assert error_of(es.put("/_ingest/pipeline/p", json={})) == (
        400,
        "parse_exception",
        "[processors] required property is missing",
    )
    bad = es.put("/_ingest/pipeline/p", json={"processors": [{"inference": {}}]})
    assert bad.json()["error"]["root_cause"] == [
        {
            "type": "parse_exception",
            "reason": "[model_id] required property is missing",
            "processor_type": "inference",
            "property_name": "model_id",
        }
    ]


def test_indexes_are_created_once_and_deleted_once(es: httpx.Client) -> None:
    created = es.put("/docs", json={"mappings": {"properties": {"t": {"type": "text"}}}})
    assert created.json() == {"acknowledged": True, "shards_acknowledged": True, "index": "docs"}
    assert es.get("/docs/_mapping").json() == {
        "docs": {"mappings": {"properties": {"t": {"type": "text"}}}}
    }
    again = es.put("/docs").json()["error"]
    uuid = again["index_uuid"]
    assert again["type"] == "resource_already_exists_exception"
    assert again["reason"] == f"index [docs/{uuid}] already exists"
    assert es.delete("/docs").json() == {"acknowledged": True}
    gone = es.delete("/docs")
    assert gone.status_code == 404
    assert gone.json()["error"]["root_cause"] == [
        {
            "type": "index_not_found_exception",
            "reason": "no such index [docs]",
            "resource.type": "index_or_alias",
            "resource.id": "docs",
            "index_uuid": "_na_",
            "index": "docs",
        }
    ]


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("Docs", "must be lowercase"),
        ("_docs", "must not start with '_', '-', or '+'"),
        ("a:b", "must not contain ':'"),
        ("a*b", 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'),
    ],
    ids=["uppercase", "leading underscore", "a colon", "a wildcard"],
)
def test_invalid_index_names_are_rejected(es: httpx.Client, name: str, description: str) -> None:
    response = es.put(f"/{name}")
    assert error_of(response) == (
        400,
        "invalid_index_name_exception",
        f"Invalid index name [{name}], {description}",
    )
