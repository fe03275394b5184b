"""The generic schema annotations at work in plan and update bodies (L11-L14 of docs/spec.md)."""

from __future__ import annotations

from typing import Any

from providers.model import plan, update_body
from providers.schema import EndpointSchema, load_schemas
from providers.versions import Version

V9_1 = Version(9, 1, 0)


def schema(service: str, task_type: str) -> EndpointSchema:
    found = load_schemas().endpoint(service, task_type)
    assert found is not None
    return found


def declared(service: str, task_type: str, settings: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "inference_id": "e",
        "service": service,
        "task_type": task_type,
        "service_settings": settings,
        **top,
    }


ADAPTIVE = {
    "model_id": ".elser_model_2",
    "num_threads": 1,
    "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 1},
}


def test_l12_num_allocations_moved_by_adaptive_allocations_is_no_change() -> None:
    news = declared("elasticsearch", "sparse_embedding", ADAPTIVE)
    olds = declared("elasticsearch", "sparse_embedding", {**ADAPTIVE, "num_allocations": 3})
    assert plan(olds, news, schema("elasticsearch", "sparse_embedding"), V9_1).changes == []


def test_l12_a_declared_num_allocations_change_is_an_update_in_place() -> None:
    es = schema("elasticsearch", "sparse_embedding")
    fixed = {"model_id": ".elser_model_2", "num_threads": 1}
    olds = declared("elasticsearch", "sparse_embedding", {**fixed, "num_allocations": 1})
    news = declared("elasticsearch", "sparse_embedding", {**fixed, "num_allocations": 4})
    change_plan = plan(olds, news, es, V9_1)
    assert change_plan.updates == ["service_settings.num_allocations"]
    assert update_body(change_plan, news, es) == {"service_settings": {"num_allocations": 4}}


def test_num_threads_change_replaces_the_endpoint() -> None:
    fixed = {"model_id": ".elser_model_2", "num_allocations": 1}
    olds = declared("elasticsearch", "sparse_embedding", {**fixed, "num_threads": 1})
    news = declared("elasticsearch", "sparse_embedding", {**fixed, "num_threads": 2})
    change_plan = plan(olds, news, schema("elasticsearch", "sparse_embedding"), V9_1)
    assert change_plan.replaces == ["service_settings.num_threads"]


def test_l11_what_elasticsearch_reads_from_a_deployment_is_no_change() -> None:
    news = declared("elasticsearch", "text_embedding", {"deployment_id": "my-e5"})
    olds = declared(
        "elasticsearch",
        "text_embedding",
        {
            "deployment_id": "my-e5",
            "model_id": ".multilingual-e5-small",
            "num_threads": 1,
            "num_allocations": 2,
        },
    )
    assert plan(olds, news, schema("elasticsearch", "text_embedding"), V9_1).changes == []


def test_l11_a_model_left_out_without_a_deployment_is_a_change() -> None:
    olds = declared("elasticsearch", "text_embedding", {"model_id": "a", "num_threads": 1})
    news = declared("elasticsearch", "text_embedding", {"num_threads": 1})
    change_plan = plan(olds, news, schema("elasticsearch", "text_embedding"), V9_1)
    assert change_plan.replaces == ["service_settings.model_id"]


def test_l13_rotating_one_aws_key_in_place_sends_both() -> None:
    bedrock = schema("amazonbedrock", "text_embedding")
    base = {"region": "us-east-1", "model": "amazon.titan-embed-text-v2:0"}
    olds = declared(
        "amazonbedrock",
        "text_embedding",
        {**base, "access_key": "A1", "secret_key": "S1"},
        secret_rotation="update",
    )
    news = declared(
        "amazonbedrock",
        "text_embedding",
        {**base, "access_key": "A2", "secret_key": "S1"},
        secret_rotation="update",
    )
    change_plan = plan(olds, news, bedrock, V9_1)
    assert change_plan.updates == ["service_settings.access_key"]
    assert update_body(change_plan, news, bedrock) == {
        "service_settings": {"access_key": "A2", "secret_key": "S1"}
    }


def test_a_rate_limit_left_to_each_services_default_is_no_change() -> None:
    settings = {"api_key": "k", "model_id": "m"}
    olds = declared("cohere", "rerank", {**settings, "rate_limit": {"requests_per_minute": 10000}})
    news = declared("cohere", "rerank", settings)
    assert plan(olds, news, schema("cohere", "rerank"), V9_1).changes == []
    olds["service_settings"]["rate_limit"] = {"requests_per_minute": 3000}
    assert plan(olds, news, schema("cohere", "rerank"), V9_1).replaces == [
        "service_settings.rate_limit"
    ]


def test_l14_a_case_insensitive_field_shown_in_another_case_is_no_change() -> None:
    bedrock = schema("amazonbedrock", "completion")
    base = {"access_key": "A", "secret_key": "S", "region": "us-east-1", "model": "m"}
    news = declared("amazonbedrock", "completion", {**base, "provider": "anthropic"})
    shown = declared("amazonbedrock", "completion", {**base, "provider": "ANTHROPIC"})
    assert plan(shown, news, bedrock, V9_1).changes == []
    other = declared("amazonbedrock", "completion", {**base, "provider": "META"})
    assert plan(other, news, bedrock, V9_1).replaces == ["service_settings.provider"]
