"""The HF endpoint's rules (providers.hf_model H1-H6): lifecycle table, bodies, reconcile, cost."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from emulators.huggingface.endpoints_api import DEFAULT_HARDWARE
from providers.hf_model import (
    HF_LIFECYCLE,
    create_body,
    estimate,
    find_compute,
    hardware_problems,
    observed,
    plan,
    reconcile,
    update_body,
    with_defaults,
)

DECLARED: dict[str, Any] = {
    "name": "minilm",
    "namespace": "acme",
    "repository": "sentence-transformers/all-MiniLM-L6-v2",
    "task": "sentence-embeddings",
    "accelerator": "cpu",
    "vendor": "aws",
    "region": "us-east-1",
    "instance_type": "intel-spr",
    "instance_size": "x2",
    "type": "private",
    "env": {"A": "1"},
    "secrets": {"S": "hidden-value"},
    "token": "hf_token_value",
}


def live_of(declared: dict[str, Any], state: str = "running") -> dict[str, Any]:
    body = create_body(declared)
    body["model"].pop("secrets", None)
    body["status"] = {"state": state, "url": "http://127.0.0.1:1/_endpoints/x", "message": "ok"}
    return body


def outs(**changes: Any) -> dict[str, Any]:
    declared = {**DECLARED, **changes}
    return reconcile(declared, live_of(declared), "acme")


@pytest.mark.parametrize(
    ("field", "value", "effect"),
    [
        ("name", "other", "replace"),
        ("namespace", "elsewhere", "replace"),
        ("vendor", "gcp", "replace"),
        ("region", "eu-west-1", "replace"),
        ("type", "public", "replace"),
        ("accelerator", "gpu", "replace"),
        ("repository", "BAAI/bge-small-en-v1.5", "update"),
        ("revision", "abc123", "update"),
        ("task", "feature-extraction", "update"),
        ("framework", "custom", "update"),
        ("image", "tei", "update"),
        ("instance_type", "intel-icl", "update"),
        ("instance_size", "x4", "update"),
        ("min_replica", 2, "update"),
        ("max_replica", 3, "update"),
        ("env", {"A": "2"}, "update"),
        ("secrets", {"S": "rotated"}, "update"),
        ("token", "hf_other_token", "state"),
        ("on_paused", "refuse", "state"),
        ("wait_timeout", 60, "state"),
        ("used_by", ["es-a"], "state"),
    ],
    ids=lambda v: str(v),
)
def test_the_lifecycle_table_decides_each_field(field: str, value: Any, effect: str) -> None:
    change_plan = plan(outs(), with_defaults({**DECLARED, field: value}))
    assert [(c.path, c.action) for c in change_plan.changes] == [(field, effect)]
    assert HF_LIFECYCLE[field][0] == effect


def test_defaults_and_numbers_as_doubles_are_no_change() -> None:
    recorded = outs()
    declared = {**DECLARED, "min_replica": 1.0, "max_replica": 1.0}
    assert plan(recorded, with_defaults(declared)).changes == []
    assert plan(recorded, with_defaults(DECLARED)).changes == []


def test_an_unknown_value_counts_as_changed() -> None:
    unknown = object()
    change_plan = plan(
        outs(), {**with_defaults(DECLARED), "region": unknown}, lambda v: v is unknown
    )
    assert change_plan.replaces == ["region"]


@pytest.mark.parametrize(
    ("state", "effect"),
    [("paused", "update"), ("updateFailed", "update"), ("failed", "replace")],
    ids=["paused is resumed", "updateFailed is updated again", "failed is replaced"],
)
def test_a_state_found_by_refresh_is_a_change(state: str, effect: str) -> None:
    recorded = {**outs(), "state": state}
    change_plan = plan(recorded, with_defaults(DECLARED))
    assert [(c.path, c.action) for c in change_plan.changes] == [("state", effect)]


def test_the_create_body_has_hf_shape() -> None:
    body = create_body({**DECLARED, "min_replica": 0, "scale_to_zero_timeout": 15})
    assert body == {
        "name": "minilm",
        "type": "private",
        "compute": {
            "accelerator": "cpu",
            "instanceType": "intel-spr",
            "instanceSize": "x2",
            "scaling": {"minReplica": 0, "maxReplica": 1, "scaleToZeroTimeout": 15},
        },
        "model": {
            "repository": "sentence-transformers/all-MiniLM-L6-v2",
            "framework": "pytorch",
            "revision": None,
            "image": {"huggingface": {}},
            "task": "sentence-embeddings",
            "env": {"A": "1"},
            "secrets": {"S": "hidden-value"},
        },
        "provider": {"vendor": "aws", "region": "us-east-1"},
    }


def test_the_update_body_carries_only_the_in_place_changes() -> None:
    declared = with_defaults(
        {**DECLARED, "instance_size": "x4", "image": {"url": "ghcr.io/x:1", "port": 8080}}
    )
    body = update_body(plan(outs(), declared), declared)
    assert body == {
        "compute": {"instanceSize": "x4"},
        "model": {"image": {"custom": {"url": "ghcr.io/x:1", "port": 8080}}},
    }


def test_reconcile_keeps_secrets_and_the_token_and_reads_the_rest_from_hf() -> None:
    live = live_of(DECLARED)
    live["model"]["env"] = {}
    recorded = reconcile(DECLARED, live, "acme")
    assert recorded["secrets"] == {"S": "hidden-value"}
    assert recorded["token"] == "hf_token_value"
    assert recorded["env"] == {}
    assert (recorded["state"], recorded["url"]) == ("running", "http://127.0.0.1:1/_endpoints/x")
    assert observed(live, "acme")["image"] == "default"


def test_cost_is_per_replica_hour_at_min_replicas_and_a_730_hour_month() -> None:
    compute, _ = find_compute(DEFAULT_HARDWARE, DECLARED)
    assert compute is not None
    cost = estimate(compute, {**DECLARED, "min_replica": 2, "max_replica": 4})
    assert (cost.hourly, round(cost.monthly, 2)) == (0.132, 96.36)
    assert cost.describe("minilm") == (
        "minilm: aws-us-east-1-intel-spr-x2 at $0.066/h per replica: $0.13/h, about "
        "$96.36/month at min_replica 2 (up to $0.26/h at max_replica 4)"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"instance_type": "nvidia-h100", "accelerator": "gpu"},
            "instance gpu/nvidia-h100/x2 is not offered in aws/us-east-1 (offered there: "
            "aws-us-east-1-intel-spr-x1",
        ),
        (
            {
                "vendor": "gcp",
                "region": "us-east4",
                "accelerator": "gpu",
                "instance_type": "nvidia-t4",
                "instance_size": "x1",
            },
            "instance gcp-us-east4-nvidia-t4-x1 is not available in gcp/us-east4",
        ),
        (
            {
                "accelerator": "gpu",
                "instance_type": "nvidia-l4",
                "instance_size": "x1",
                "max_replica": 2,
            },
            "max_replica 2 of aws-us-east-1-nvidia-l4-x1 needs 2 accelerators but the "
            "namespace's quota allows 1 and 0 are in use",
        ),
    ],
    ids=["not offered", "not available", "over quota"],
)
def test_hardware_hf_would_refuse_is_refused(changes: dict[str, Any], message: str) -> None:
    (found,) = hardware_problems(DEFAULT_HARDWARE, {**DECLARED, **changes}, None)
    assert found.startswith(message)


def test_the_existing_endpoints_own_replicas_do_not_count_against_it() -> None:
    vendors = copy.deepcopy(DEFAULT_HARDWARE)
    declared = {
        **DECLARED,
        "accelerator": "gpu",
        "instance_type": "nvidia-l4",
        "instance_size": "x1",
    }
    compute, _ = find_compute(vendors, declared)
    assert compute is not None
    compute["quota"]["usedAccelerators"] = 1
    assert hardware_problems(vendors, declared, live_of(declared)) == []
    assert hardware_problems(vendors, declared, None) != []
