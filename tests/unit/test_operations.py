"""The lifecycle operations, called directly with a session: no Pulumi engine, no provider host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.lab import HF_KEY, Lab, lab_servers
from providers.connection import ConnectionSettings, RetryPolicy
from providers.errors import ElasticsearchError, EndpointConflict, EndpointInUse, EndpointLost
from providers.operations import (
    create_endpoint,
    delete_endpoint,
    read_endpoint,
    update_endpoint,
)
from providers.schema import load_schemas
from providers.session import ProcessState, Session

WHERE = "stacks/dev.yaml: endpoint 'rr'"
PATH = "/_inference/rerank/rr"


@pytest.fixture
def session(lab: Lab) -> Iterator[Session]:
    settings = ConnectionSettings(endpoints=(lab.es_url,), retry=RetryPolicy(deadline=0))
    opened = Session(settings)
    yield opened
    opened.client.close()


def _rerank(lab: Lab, **task: Any) -> dict[str, Any]:
    return {
        "inference_id": "rr",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": HF_KEY},
        "task_settings": {"return_documents": True, **task},
    }


def _body(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: inputs[k] for k in ("service", "service_settings", "task_settings")}


SCHEMA = load_schemas().endpoint("hugging_face", "rerank")


def test_create_read_and_delete_run_without_the_engine(session: Session, lab: Lab) -> None:
    warnings: list[str] = []
    inputs = _rerank(lab)

    outs = create_endpoint(
        session, inputs, SCHEMA, where=WHERE, stack_file="", warn=warnings.append
    )
    read = read_endpoint(session, "rr", outs, SCHEMA)
    delete_endpoint(session, "rr", outs, stack_file="", warn=warnings.append)

    assert read == outs
    assert outs["service_settings"]["api_key"] == HF_KEY
    assert outs["elasticsearch_version"] == "9.1.0"
    assert read_endpoint(session, "rr", outs, SCHEMA) is None
    assert session.deleted_here("rr")
    assert warnings == []


def test_create_adopts_an_identical_endpoint_it_declares_adopt_for_and_says_so(
    session: Session, lab: Lab
) -> None:
    inputs = {**_rerank(lab), "adopt": True}
    lab.es.put(PATH, json=_body(inputs)).raise_for_status()
    warnings: list[str] = []

    outs = create_endpoint(
        session, inputs, SCHEMA, where=WHERE, stack_file="", warn=warnings.append
    )

    assert outs["task_settings"] == {"return_documents": True}
    assert warnings == [
        "es-inference: 'rr' already existed with the declared settings and says adopt: true; "
        "this stack now manages it"
    ]


def test_create_never_takes_over_an_endpoint_it_did_not_create(session: Session, lab: Lab) -> None:
    lab.es.put(PATH, json=_body(_rerank(lab))).raise_for_status()

    with pytest.raises(EndpointConflict) as raised:
        create_endpoint(session, _rerank(lab), SCHEMA, where=WHERE, stack_file="s.yaml", warn=print)

    assert str(raised.value).endswith(
        "This stack did not create 'rr' (another stack, a person or tool, or an interrupted run "
        "of this stack may have), and it never takes over, re-keys or deletes an endpoint it did "
        "not create; nothing was changed. To manage it from this stack, set `adopt: true` on rr "
        "in s.yaml"
    )


def test_create_over_a_different_endpoint_names_the_fields_that_differ(
    session: Session, lab: Lab
) -> None:
    lab.es.put(PATH, json=_body(_rerank(lab, top_n=2))).raise_for_status()

    with pytest.raises(EndpointConflict) as raised:
        create_endpoint(
            session, {**_rerank(lab), "adopt": True}, SCHEMA, where=WHERE, stack_file="", warn=print
        )

    assert str(raised.value) == (
        f"PUT {PATH} failed: 400 resource_already_exists_exception: Inference endpoint [rr] "
        "already exists. Elasticsearch already has an endpoint 'rr' that differs from the "
        "declaration in task_settings.top_n; delete it in Elasticsearch or choose another "
        "inference_id"
    )
    assert (raised.value.status, raised.value.error_type) == (
        400,
        "resource_already_exists_exception",
    )


def test_a_change_of_provider_options_only_never_connects(lab: Lab) -> None:
    olds = {**_rerank(lab), "force": False, "secret_rotation": "replace", "__provider": "x"}

    def connect() -> Session:
        raise AssertionError("an option-only update must not reach Elasticsearch")

    outs = update_endpoint(connect, "rr", olds, {**_rerank(lab), "force": True}, SCHEMA)

    assert outs == {**_rerank(lab), "force": True, "secret_rotation": "replace"}


def test_delete_refuses_an_endpoint_a_pipeline_uses(session: Session, lab: Lab) -> None:
    outs = create_endpoint(session, _rerank(lab), SCHEMA, where=WHERE, stack_file="", warn=print)
    lab.put_pipeline("docs", "rr")

    with pytest.raises(EndpointInUse) as raised:
        delete_endpoint(session, "rr", outs, stack_file="stacks/dev.yaml", warn=print)

    assert str(raised.value) == (
        f"DELETE {PATH} refused: ingest pipelines ['docs'] use the endpoint, so nothing was "
        "deleted. Remove those references, or set `force: true` on rr in stacks/dev.yaml to "
        "delete it anyway (they fail until it exists again)"
    )
    assert not session.deleted_here("rr")
    assert lab.endpoint("rr") is not None


def test_a_deletion_on_one_cluster_says_nothing_about_the_same_id_on_another(lab: Lab) -> None:
    process = ProcessState()
    with lab_servers() as other:
        here = process.session_for(ConnectionSettings((lab.es_url,), retry=RetryPolicy(0)))
        there = process.session_for(ConnectionSettings((other.es_url,), retry=RetryPolicy(0)))
        outs = create_endpoint(here, _rerank(lab), SCHEMA, where=WHERE, stack_file="", warn=print)
        delete_endpoint(here, "rr", outs, stack_file="", warn=print)
        refused = {
            **_rerank(lab),
            "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": "hf_no"},
        }

        with pytest.raises(ElasticsearchError) as elsewhere:
            create_endpoint(there, refused, SCHEMA, where=WHERE, stack_file="", warn=print)
        with pytest.raises(EndpointLost) as lost:
            create_endpoint(here, refused, SCHEMA, where=WHERE, stack_file="", warn=print)
        process.close()

    assert not isinstance(elsewhere.value, EndpointLost)
    assert "The replacement already deleted" not in str(elsewhere.value)
    assert str(lost.value) == (
        f"{elsewhere.value}. The replacement already deleted the previous endpoint 'rr', so "
        "Elasticsearch has none now; fix the cause and run pulumi up to create it"
    )
