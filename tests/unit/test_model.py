"""The lifecycle table L1-L10 of providers/model.py, reconcile, and the request bodies."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.rpc import UNKNOWN

from providers.inference_endpoint import InferenceEndpointProvider
from providers.model import (
    Change,
    Plan,
    effective_chunking,
    plan,
    put_body,
    reconcile,
    update_body,
)
from providers.schema import EndpointSchema, load_schemas
from providers.versions import Version

V9_1 = Version(9, 1, 0)
V9_3 = Version(9, 3, 0)
V9_4 = Version(9, 4, 0)
V9_5 = Version(9, 5, 0)
DEFAULT_CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}
PLAINTEXT_SEPARATORS = ["(?<!\\n)\\n\\n(?!\\n)", "(?<!\\n)\\n(?!\\n)"]
MARKDOWN_SEPARATORS = [
    "\n# ",
    "\n## ",
    "\n### ",
    "\n#### ",
    "\n##### ",
    "\n###### ",
    "\n^(?!\\s*$).*\\n-{1,}\\n",
    "\n^(?!\\s*$).*\\n={1,}\\n",
]
IDENTITY = "it identifies the endpoint"
CANNOT = "Elasticsearch cannot change it in place"
IN_PLACE = "Elasticsearch updates it in place"
SECRET = "a secret is immutable here: the endpoint is re-created with the new value"
ROTATE = "secret_rotation: update rotates it in place with _update"
STATE = "recorded in the stack's state only"


def schema(task_type: str) -> EndpointSchema:
    found = load_schemas().endpoint("hugging_face", task_type)
    assert found is not None
    return found


def declared(task_type: str = "text_embedding", **changes: Any) -> dict[str, Any]:
    """The inputs of one endpoint as the program declares them."""
    url = (
        "http://127.0.0.1:18080/embed"
        if task_type == "text_embedding"
        else "http://127.0.0.1:18080/rerank"
    )
    news: dict[str, Any] = {
        "inference_id": "hf-e5",
        "task_type": task_type,
        "service": "hugging_face",
        "service_settings": {"url": url, "api_key": "hf_key_1"},
    }
    if task_type == "rerank":
        news["task_settings"] = {"return_documents": True, "top_n": 3}
    settings = changes.pop("service_settings", {})
    news["service_settings"].update(settings)
    news.update(changes)
    return news


def recorded(task_type: str = "text_embedding", **changes: Any) -> dict[str, Any]:
    """The outputs recorded after creating ``declared(task_type)`` on 9.1.0 (server fills included)."""
    olds = declared(task_type)
    olds["service_settings"]["rate_limit"] = {"requests_per_minute": 3000}
    if task_type == "text_embedding":
        olds["service_settings"].update(similarity="cosine", dimensions=384)
        olds["chunking_settings"] = dict(DEFAULT_CHUNKING)
    olds.update(force=False, elasticsearch_version="9.1.0")
    settings = changes.pop("service_settings", {})
    olds["service_settings"].update(settings)
    olds.update(changes)
    return olds


def unknown(value: object) -> bool:
    return isinstance(value, str) and value == UNKNOWN


# (id citing the rule, olds, news, cluster version, expected changes)
SCENARIOS: list[tuple[str, dict[str, Any], dict[str, Any], Version | None, list[Change]]] = [
    (
        "L1 a new inference_id replaces the endpoint",
        recorded(),
        declared(inference_id="hf-e5-v2"),
        V9_4,
        [Change("inference_id", "replace", IDENTITY)],
    ),
    (
        "L1 a new service replaces the endpoint",
        recorded(),
        declared(service="openai"),
        V9_4,
        [Change("service", "replace", IDENTITY)],
    ),
    (
        "L1 a new task_type replaces the endpoint and hides other changes",
        recorded(),
        declared(task_type="rerank", service_settings={"url": "http://elsewhere/x"}),
        V9_4,
        [Change("task_type", "replace", IDENTITY)],
    ),
    (
        "L2 a new url replaces the endpoint",
        recorded(),
        declared(service_settings={"url": "http://127.0.0.1:18080/embed/v2"}),
        V9_4,
        [Change("service_settings.url", "replace", CANNOT)],
    ),
    (
        "L2 a new similarity replaces the endpoint",
        recorded(),
        declared(service_settings={"similarity": "dot_product"}),
        V9_4,
        [Change("service_settings.similarity", "replace", CANNOT)],
    ),
    (
        "L2 a new max_input_tokens replaces the endpoint before 9.5",
        recorded(service_settings={"max_input_tokens": 512}),
        declared(service_settings={"max_input_tokens": 256}),
        V9_4,
        [
            Change(
                "service_settings.max_input_tokens",
                "replace",
                "Elasticsearch 9.4.0 cannot update it in place (elastic/elasticsearch#147143: 9.5.0+)",
            )
        ],
    ),
    (
        "L2 removing a declared max_input_tokens replaces the endpoint",
        recorded(service_settings={"max_input_tokens": 512}),
        declared(),
        V9_4,
        [
            Change(
                "service_settings.max_input_tokens", "replace", "removing it needs a new endpoint"
            )
        ],
    ),
    (
        "L2 declaring dimensions other than the discovered ones replaces the endpoint",
        recorded(),
        declared(service_settings={"dimensions": 768}),
        V9_4,
        [Change("service_settings.dimensions", "replace", CANNOT)],
    ),
    (
        "L2 a new model_id replaces a completion endpoint",
        recorded("completion", service_settings={"model_id": "a"}),
        declared("completion", service_settings={"model_id": "b"}),
        V9_4,
        [Change("service_settings.model_id", "replace", CANNOT)],
    ),
    (
        "L2 a new rate_limit updates in place on 9.5.0",
        recorded(),
        declared(service_settings={"rate_limit": {"requests_per_minute": 60}}),
        V9_5,
        [Change("service_settings.rate_limit", "update", IN_PLACE)],
    ),
    (
        "L2 a new rate_limit updates in place on a later major",
        recorded(),
        declared(service_settings={"rate_limit": {"requests_per_minute": 60}}),
        Version(10, 0, 0),
        [Change("service_settings.rate_limit", "update", IN_PLACE)],
    ),
    (
        "L2 a new rate_limit replaces on 9.4.0 (no 9.4 backport of #147143 was found)",
        recorded(),
        declared(service_settings={"rate_limit": {"requests_per_minute": 60}}),
        V9_4,
        [
            Change(
                "service_settings.rate_limit",
                "replace",
                "Elasticsearch 9.4.0 cannot update it in place (elastic/elasticsearch#147143: 9.5.0+)",
            )
        ],
    ),
    (
        "L2 a new rate_limit replaces when the version is unknown",
        recorded(),
        declared(service_settings={"rate_limit": {"requests_per_minute": 60}}),
        None,
        [
            Change(
                "service_settings.rate_limit",
                "replace",
                "this cluster (version not yet recorded) cannot update it in place "
                "(elastic/elasticsearch#147143: 9.5.0+)",
            )
        ],
    ),
    (
        "L3 a rotated api_key replaces the endpoint for the secret's reason",
        recorded(),
        declared(service_settings={"api_key": "hf_key_2"}),
        V9_4,
        [Change("service_settings.api_key", "replace", SECRET)],
    ),
    (
        "L3 secret_rotation: update rotates a changed api_key in place",
        recorded(secret_rotation="update"),
        declared(secret_rotation="update", service_settings={"api_key": "hf_key_2"}),
        V9_4,
        [Change("service_settings.api_key", "update", ROTATE)],
    ),
    (
        "L3 before 9.4 an in-place rotation warns that the new key is not tested",
        recorded("rerank", secret_rotation="update"),
        declared("rerank", secret_rotation="update", service_settings={"api_key": "hf_key_2"}),
        V9_3,
        [
            Change(
                "service_settings.api_key",
                "update",
                f"{ROTATE}; Elasticsearch 9.3.0 does not test the new value, so check it works",
            )
        ],
    ),
    (
        "L3 the declared secret_rotation decides, even when it changes in the same run",
        recorded(),
        declared(secret_rotation="update", service_settings={"api_key": "hf_key_2"}),
        V9_4,
        [
            Change("service_settings.api_key", "update", ROTATE),
            Change("secret_rotation", "state", STATE),
        ],
    ),
    (
        "L3 secret_rotation: update changes nothing else: a new url still replaces",
        recorded(secret_rotation="update"),
        declared(secret_rotation="update", service_settings={"url": "http://other/embed"}),
        V9_4,
        [Change("service_settings.url", "replace", CANNOT)],
    ),
    (
        "L4 a changed task_settings key updates in place",
        recorded("rerank"),
        declared("rerank", task_settings={"return_documents": True, "top_n": 5}),
        V9_1,
        [Change("task_settings.top_n", "update", IN_PLACE)],
    ),
    (
        "L4 an added task_settings key updates in place",
        recorded("rerank", task_settings={"top_n": 3}),
        declared("rerank", task_settings={"return_documents": False, "top_n": 3}),
        V9_1,
        [Change("task_settings.return_documents", "update", IN_PLACE)],
    ),
    (
        "L9 on 9.3.0 an in-place rotation of an embedding endpoint replaces (chunking reset)",
        recorded(secret_rotation="update"),
        declared(secret_rotation="update", service_settings={"api_key": "hf_key_2"}),
        V9_3,
        [
            Change(
                "service_settings.api_key",
                "update",
                f"{ROTATE}; Elasticsearch 9.3.0 does not test the new value, so check it works",
            ),
            Change(
                "chunking_settings",
                "replace",
                "Elasticsearch 9.3.0 resets chunking_settings to word/250/100 on every _update (elastic/elasticsearch#139574), so the in-place change of "
                "service_settings.api_key re-creates the endpoint",
            ),
        ],
    ),
    (
        "L9 the reset is assumed on every 9.3.x, the fix in 9.3.1 being unconfirmed",
        recorded(secret_rotation="update"),
        declared(secret_rotation="update", service_settings={"api_key": "hf_key_2"}),
        Version(9, 3, 8),
        [
            Change(
                "service_settings.api_key",
                "update",
                f"{ROTATE}; Elasticsearch 9.3.8 does not test the new value, so check it works",
            ),
            Change(
                "chunking_settings",
                "replace",
                "Elasticsearch 9.3.8 resets chunking_settings to word/250/100 on every _update (elastic/elasticsearch#139574), so the in-place change of "
                "service_settings.api_key re-creates the endpoint",
            ),
        ],
    ),
    (
        "L9 an endpoint already chunking word/250/100 loses nothing: the update stays in place",
        recorded(
            secret_rotation="update",
            chunking_settings={"strategy": "word", "max_chunk_size": 250, "overlap": 100},
        ),
        declared(
            secret_rotation="update",
            service_settings={"api_key": "hf_key_2"},
            chunking_settings={"strategy": "word", "max_chunk_size": 250, "overlap": 100},
        ),
        V9_1,
        [
            Change(
                "service_settings.api_key",
                "update",
                f"{ROTATE}; Elasticsearch 9.1.0 does not test the new value, so check it works",
            )
        ],
    ),
    (
        "L2 a new max_input_tokens updates in place on 9.5.0",
        recorded(),
        declared(service_settings={"max_input_tokens": 256}),
        V9_5,
        [Change("service_settings.max_input_tokens", "update", IN_PLACE)],
    ),
    (
        "L4 a removed task_settings key replaces the endpoint",
        recorded("rerank"),
        declared("rerank", task_settings={"top_n": 3}),
        V9_4,
        [
            Change(
                "task_settings.return_documents",
                "replace",
                "Elasticsearch merges task_settings, so a removed key needs a new endpoint",
            )
        ],
    ),
    (
        "L5 changed chunking replaces the endpoint on 9.1.0",
        recorded(),
        declared(chunking_settings={"strategy": "word", "max_chunk_size": 100, "overlap": 10}),
        V9_1,
        [
            Change(
                "chunking_settings",
                "replace",
                "Elasticsearch 9.1.0 cannot update it in place (elastic/elasticsearch#149723: 9.5.0+)",
            )
        ],
    ),
    (
        "L5 changed chunking updates in place on 9.5.0",
        recorded(),
        declared(chunking_settings={"strategy": "none"}),
        V9_5,
        [Change("chunking_settings", "update", IN_PLACE)],
    ),
    (
        "L5 leaving out chunking recorded as non-default is a change",
        recorded(chunking_settings={"strategy": "none"}),
        declared(),
        V9_5,
        [Change("chunking_settings", "update", IN_PLACE)],
    ),
    (
        "L5 and L6 chunking left out equals the default sentence 250 1",
        recorded(),
        declared(),
        V9_1,
        [],
    ),
    (
        "L5 and L6 a sentence_overlap left out equals 1",
        recorded(),
        declared(chunking_settings={"strategy": "sentence", "max_chunk_size": 250}),
        V9_1,
        [],
    ),
    (
        "L5 and L6 a separator_group equals the separators it expands to",
        recorded(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 200,
                "separators": MARKDOWN_SEPARATORS,
            }
        ),
        declared(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 200,
                "separator_group": "markdown",
            }
        ),
        V9_1,
        [],
    ),
    (
        "L5 and L6 recursive chunking without separators equals the plaintext ones",
        recorded(
            chunking_settings={
                "strategy": "recursive",
                "max_chunk_size": 200,
                "separators": PLAINTEXT_SEPARATORS,
            }
        ),
        declared(chunking_settings={"strategy": "recursive", "max_chunk_size": 200}),
        V9_1,
        [],
    ),
    (
        "L6 similarity left out equals the server default cosine",
        recorded(),
        declared(),
        V9_1,
        [],
    ),
    (
        "L6 similarity declared as cosine equals the recorded default",
        recorded(),
        declared(service_settings={"similarity": "cosine"}),
        V9_1,
        [],
    ),
    (
        "L6 rate_limit left out equals the default 3000",
        recorded(),
        declared(),
        V9_1,
        [],
    ),
    (
        "L6 rate_limit declared as 3000 equals a recorded default",
        recorded(),
        declared(service_settings={"rate_limit": {"requests_per_minute": 3000}}),
        V9_1,
        [],
    ),
    (
        "L6 discovered dimensions left out are never a change",
        recorded(service_settings={"dimensions": 1024}),
        declared(),
        V9_1,
        [],
    ),
    (
        "L6 declared dimensions equal to the discovered ones are no change",
        recorded(),
        declared(service_settings={"dimensions": 384}),
        V9_1,
        [],
    ),
    (
        "L6 numbers Pulumi hands back as floats equal the declared integers",
        recorded(
            service_settings={"dimensions": 384.0, "rate_limit": {"requests_per_minute": 60.0}},
            chunking_settings={
                "strategy": "sentence",
                "max_chunk_size": 250.0,
                "sentence_overlap": 1.0,
            },
        ),
        declared(service_settings={"rate_limit": {"requests_per_minute": 60}}),
        V9_1,
        [],
    ),
    (
        "L6 rerank's server-filled rate_limit is never a change",
        recorded("rerank"),
        declared("rerank"),
        V9_1,
        [],
    ),
    (
        "L7 a force-only change is a state change",
        recorded(),
        declared(force=True),
        V9_1,
        [Change("force", "state", "recorded in the stack's state only")],
    ),
    (
        "L7 secret_rotation replace declared equals it left out (and absent from older states)",
        {k: v for k, v in recorded().items() if k != "secret_rotation"},
        declared(secret_rotation="replace"),
        V9_1,
        [],
    ),
    (
        "L7 a secret_rotation-only change is a state change",
        recorded(),
        declared(secret_rotation="update"),
        V9_1,
        [Change("secret_rotation", "state", STATE)],
    ),
    (
        "L7 force false declared equals force left out",
        recorded(),
        declared(force=False),
        V9_1,
        [],
    ),
    (
        "unknown values count as changed: an unknown url replaces",
        recorded(),
        declared(service_settings={"url": UNKNOWN}),
        V9_4,
        [Change("service_settings.url", "replace", CANNOT)],
    ),
    (
        "unknown values count as changed: unknown service_settings replace",
        recorded(),
        {**declared(), "service_settings": UNKNOWN},
        V9_4,
        [Change("service_settings", "replace", CANNOT)],
    ),
    (
        "unknown values count as changed: an unknown inference_id replaces",
        recorded(),
        declared(inference_id=UNKNOWN),
        V9_4,
        [Change("inference_id", "replace", IDENTITY)],
    ),
    (
        "unknown values count as changed: unknown chunking updates on 9.5.0",
        recorded(),
        declared(chunking_settings=UNKNOWN),
        V9_5,
        [Change("chunking_settings", "update", IN_PLACE)],
    ),
    (
        "unknown values count as changed: an unknown top_n updates in place",
        recorded("rerank"),
        declared("rerank", task_settings={"return_documents": True, "top_n": UNKNOWN}),
        V9_1,
        [Change("task_settings.top_n", "update", IN_PLACE)],
    ),
    (
        "unknown values count as changed: an unknown rate_limit equal in value still counts",
        recorded(),
        declared(service_settings={"rate_limit": UNKNOWN}),
        V9_5,
        [Change("service_settings.rate_limit", "update", IN_PLACE)],
    ),
]


@pytest.mark.parametrize(
    ("olds", "news", "version", "expected"),
    [s[1:] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_the_lifecycle_table(
    olds: dict[str, Any], news: dict[str, Any], version: Version | None, expected: list[Change]
) -> None:
    # As the provider does: the schema of the declared service and task type, if any.
    declared_schema = load_schemas().endpoint(news["service"], news["task_type"])
    assert plan(olds, news, declared_schema, version, unknown).changes == expected


def test_the_plan_sorts_changes_into_replaces_and_updates() -> None:
    change_plan = plan(
        recorded(),
        declared(
            force=True,
            service_settings={
                "url": "http://other/embed",
                "rate_limit": {"requests_per_minute": 1},
            },
            chunking_settings={"strategy": "none"},
        ),
        schema("text_embedding"),
        V9_5,
    )
    assert change_plan.replaces == ["service_settings.url"]
    assert change_plan.updates == ["service_settings.rate_limit", "chunking_settings"]
    assert [c.path for c in change_plan.changes if c.action == "state"] == ["force"]


@pytest.mark.parametrize(
    ("change_plan", "text"),
    [
        (
            Plan([Change("service_settings.url", "replace", CANNOT)]),
            "hf-e5: replace (delete, then re-create with the same id) because "
            "service_settings.url (Elasticsearch cannot change it in place)",
        ),
        (
            Plan(
                [
                    Change("service_settings.api_key", "replace", SECRET),
                    Change("service_settings.rate_limit", "update", IN_PLACE),
                    Change(
                        "chunking_settings",
                        "replace",
                        "Elasticsearch 9.1.0 cannot update it in place (elastic/elasticsearch#149723: 9.5.0+)",
                    ),
                ]
            ),
            "hf-e5: replace (delete, then re-create with the same id) because "
            "service_settings.api_key (a secret is immutable here: the endpoint is re-created "
            "with the new value); chunking_settings (Elasticsearch 9.1.0 cannot update it in "
            "place (elastic/elasticsearch#149723: 9.5.0+))",
        ),
        (
            Plan(
                [
                    Change("service_settings.rate_limit", "update", IN_PLACE),
                    Change("chunking_settings", "update", IN_PLACE),
                ]
            ),
            "hf-e5: update in place: service_settings.rate_limit, chunking_settings",
        ),
        (
            Plan([Change("force", "state", "recorded in the stack's state only")]),
            "hf-e5: update of the stack's state only: force (recorded in the stack's state only)",
        ),
        (
            Plan(
                [
                    Change("service_settings.rate_limit", "update", IN_PLACE),
                    Change("force", "state", "recorded in the stack's state only"),
                ]
            ),
            "hf-e5: update in place: service_settings.rate_limit, force",
        ),
        (
            Plan([Change("service_settings.api_key", "update", ROTATE)]),
            "hf-e5: update in place: service_settings.api_key (secret_rotation: update rotates "
            "it in place with _update)",
        ),
    ],
    ids=[
        "one replacement names its field and reason",
        "several replacements list every reason and leave out the updates",
        "an update lists its fields",
        "a state-only change says it touches only the stack's state, and why",
        "an update with a state change lists both fields",
        "an in-place rotation says why it is not a replacement",
    ],
)
def test_describe_says_what_happens_and_why(change_plan: Plan, text: str) -> None:
    assert change_plan.describe("hf-e5") == text


OLD_PROVIDER = serialize_provider(InferenceEndpointProvider({"endpoints": ["http://es-a:9200"]}))
NEW_PROVIDER = serialize_provider(InferenceEndpointProvider({"endpoints": ["http://es-b:9200"]}))


@pytest.mark.parametrize(
    ("olds", "news", "replaces", "changes"),
    [
        (
            recorded(),
            declared(service_settings={"url": "http://other/embed"}),
            ["service_settings.url"],
            True,
        ),
        (recorded(), declared(inference_id="hf-e5-v2"), ["inference_id"], True),
        (recorded(), declared(force=True), [], True),
        (recorded(), declared(), [], False),
        (
            recorded(__provider=OLD_PROVIDER),
            declared(__provider=NEW_PROVIDER),
            [],
            True,
        ),
        (
            recorded(__provider=OLD_PROVIDER),
            declared(__provider=NEW_PROVIDER, service_settings={"url": "http://other/embed"}),
            ["service_settings.url"],
            True,
        ),
        (recorded(__provider=OLD_PROVIDER), declared(__provider=OLD_PROVIDER), [], False),
    ],
    ids=[
        "L8 a replacement deletes before it re-creates",
        "L8 even a new id is replaced delete-first",
        "L7 a force-only change is a change without replacement",
        "no difference is explicitly no change",
        "new connection settings are a state-only change",
        "new connection settings ride along with a replacement",
        "the same connection settings are no change",
    ],
)
def test_the_provider_diff_applies_the_table_and_deletes_before_replacing(
    olds: dict[str, Any], news: dict[str, Any], replaces: list[str], changes: bool
) -> None:
    result = InferenceEndpointProvider().diff("hf-e5", olds, news)
    assert (result.changes, result.replaces, result.delete_before_replace) == (
        changes,
        replaces,
        True,
    )


# --- reconcile ----------------------------------------------------------------------------------

LIVE: dict[str, Any] = {
    "inference_id": "hf-e5",
    "task_type": "text_embedding",
    "service": "hugging_face",
    "service_settings": {
        "url": "http://127.0.0.1:18080/embed-moved",
        "similarity": "cosine",
        "dimensions": 384.0,
        "rate_limit": {"requests_per_minute": 3000},
    },
    "task_settings": {},
    "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
}


def test_reconcile_keeps_the_api_key_and_takes_everything_else_from_elasticsearch() -> None:
    prior = declared(force=True, service_settings={"similarity": "dot_product"})
    assert reconcile(prior, LIVE, schema("text_embedding"), V9_1) == {
        "inference_id": "hf-e5",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "service_settings": {
            "url": "http://127.0.0.1:18080/embed-moved",
            "similarity": "cosine",
            "dimensions": 384,
            "rate_limit": {"requests_per_minute": 3000},
            "api_key": "hf_key_1",
        },
        "force": True,
        "secret_rotation": "replace",
        "elasticsearch_version": "9.1.0",
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1},
    }


def test_reconcile_records_task_settings_only_when_elasticsearch_has_some() -> None:
    live = {
        "inference_id": "hf-rerank",
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": "http://h/rerank", "rate_limit": {"requests_per_minute": 3000}},
        "task_settings": {"top_n": 3.0},
    }
    outs = reconcile(declared("rerank"), live, schema("rerank"), V9_4)
    assert outs["task_settings"] == {"top_n": 3}
    assert outs["elasticsearch_version"] == "9.4.0"
    assert "chunking_settings" not in outs
    assert "task_settings" not in reconcile(
        declared("rerank"), {**live, "task_settings": {}}, schema("rerank"), V9_4
    )


def test_reconcile_on_refresh_keeps_the_key_from_the_previous_outputs() -> None:
    outs = reconcile(
        recorded(service_settings={"api_key": "hf_key_9"}), LIVE, schema("text_embedding"), V9_1
    )
    assert outs["service_settings"]["api_key"] == "hf_key_9"
    assert outs["force"] is False


def test_reconciled_outputs_of_a_fresh_create_leave_nothing_to_change() -> None:
    news = declared()
    live = copy.deepcopy(LIVE)
    live["service_settings"]["url"] = news["service_settings"]["url"]
    outs = reconcile(news, live, schema("text_embedding"), V9_1)
    assert plan(outs, news, schema("text_embedding"), V9_1).changes == []


def test_an_endpoint_changed_out_of_band_shows_as_drift_after_reconcile() -> None:
    outs = reconcile(recorded(), LIVE, schema("text_embedding"), V9_1)
    assert plan(outs, declared(), schema("text_embedding"), V9_1).changes == [
        Change("service_settings.url", "replace", CANNOT)
    ]


# --- request bodies -----------------------------------------------------------------------------


def test_the_put_body_holds_service_and_settings_and_nothing_of_the_provider() -> None:
    news = declared(
        force=True,
        service_settings={"rate_limit": {"requests_per_minute": 60.0}},
        chunking_settings={"strategy": "word", "max_chunk_size": 100.0, "overlap": 10},
        task_settings={},
    )
    assert put_body(news) == {
        "service": "hugging_face",
        "service_settings": {
            "url": "http://127.0.0.1:18080/embed",
            "api_key": "hf_key_1",
            "rate_limit": {"requests_per_minute": 60},
        },
        "chunking_settings": {"strategy": "word", "max_chunk_size": 100, "overlap": 10},
    }


def test_the_put_body_of_a_rerank_endpoint_carries_its_task_settings() -> None:
    assert put_body(declared("rerank")) == {
        "service": "hugging_face",
        "service_settings": {"url": "http://127.0.0.1:18080/rerank", "api_key": "hf_key_1"},
        "task_settings": {"return_documents": True, "top_n": 3},
    }


def test_the_update_body_holds_only_the_updatable_part_and_never_service() -> None:
    news = declared(
        "rerank",
        force=True,
        service_settings={"rate_limit": {"requests_per_minute": 60.0}},
        task_settings={"return_documents": True, "top_n": 5.0},
    )
    change_plan = plan(recorded("rerank"), news, schema("rerank"), V9_5)
    assert change_plan.updates == ["service_settings.rate_limit", "task_settings.top_n"]
    # L10: the key goes with service_settings (always: #149628's release is unconfirmed).
    assert update_body(change_plan, news, schema("rerank"), V9_5) == {
        "service_settings": {"rate_limit": {"requests_per_minute": 60}, "api_key": "hf_key_1"},
        "task_settings": {"return_documents": True, "top_n": 5},
    }


def test_task_settings_alone_go_without_the_secret() -> None:
    news = declared("rerank", task_settings={"return_documents": True, "top_n": 5})
    change_plan = plan(recorded("rerank"), news, schema("rerank"), V9_1)
    assert update_body(change_plan, news, schema("rerank"), V9_1) == {
        "task_settings": {"return_documents": True, "top_n": 5}
    }


def test_on_9_5_a_task_settings_change_of_an_embedding_endpoint_stays_in_place() -> None:
    news = declared(chunking_settings={"strategy": "none"})
    change_plan = plan(
        recorded(chunking_settings={"strategy": "none"}), news, schema("text_embedding"), V9_5
    )
    assert change_plan.changes == []


def test_the_update_body_sends_chunking_with_its_defaults_filled_in() -> None:
    news = declared(chunking_settings={"strategy": "sentence", "max_chunk_size": 100.0})
    change_plan = plan(recorded(), news, schema("text_embedding"), V9_5)
    assert update_body(change_plan, news, schema("text_embedding")) == {
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 100, "sentence_overlap": 1}
    }


def test_an_in_place_rotation_sends_only_the_new_secret() -> None:
    news = declared(secret_rotation="update", service_settings={"api_key": "hf_key_2"})
    change_plan = plan(recorded(), news, schema("text_embedding"), V9_4)
    assert update_body(change_plan, news, schema("text_embedding")) == {
        "service_settings": {"api_key": "hf_key_2"}
    }


def test_the_update_body_ignores_replacements_and_state_changes() -> None:
    news = declared(
        force=True, service_settings={"url": "http://other/embed", "api_key": "hf_key_2"}
    )
    change_plan = plan(recorded(), news, schema("text_embedding"), V9_4)
    assert [c.action for c in change_plan.changes] == ["replace", "replace", "state"]
    assert update_body(change_plan, news, schema("text_embedding")) == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT_CHUNKING),
        (
            {"strategy": "sentence", "max_chunk_size": 300},
            {"strategy": "sentence", "max_chunk_size": 300, "sentence_overlap": 1},
        ),
        (
            {"strategy": "recursive", "max_chunk_size": 10},
            {"strategy": "recursive", "max_chunk_size": 10, "separators": PLAINTEXT_SEPARATORS},
        ),
        (
            {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "Markdown"},
            {"strategy": "recursive", "max_chunk_size": 10, "separators": MARKDOWN_SEPARATORS},
        ),
        (
            {"strategy": "recursive", "max_chunk_size": 10, "separators": ["\n"]},
            {"strategy": "recursive", "max_chunk_size": 10, "separators": ["\n"]},
        ),
        (
            {"strategy": "word", "max_chunk_size": 20.0, "overlap": 5.0},
            {"strategy": "word", "max_chunk_size": 20, "overlap": 5},
        ),
        ({"strategy": "none"}, {"strategy": "none"}),
    ],
    ids=[
        "no chunking is the schema default",
        "sentence_overlap defaults to 1",
        "recursive without separators gets the plaintext group",
        "a separator group is expanded whatever its case",
        "explicit separators are kept",
        "numbers are normalised",
        "none stays none",
    ],
)
def test_effective_chunking_is_what_elasticsearch_stores(
    raw: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    before = copy.deepcopy(raw)
    schema = load_schemas().endpoint("hugging_face", "text_embedding")
    assert schema is not None
    chunking_schema = schema.chunking
    assert effective_chunking(raw, chunking_schema) == expected
    assert raw == before


def test_effective_chunking_without_a_default_is_none() -> None:
    assert effective_chunking(None, None) is None
