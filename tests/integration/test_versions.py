"""The main changes on every supported Elasticsearch version, through Pulumi's provider host.

Each scenario creates an endpoint, declares one change, and applies what the plan says (an
``_update``, or delete-then-create as the engine replaces). Whatever the version does with it
(behaviour/elasticsearch.yaml), the run ends with the state equal to what the cluster holds and a
diff of the declaration against the state empty: the next ``preview --expect-no-changes`` passes.
The expected plans are written out per version here, not read from the matrix, so the two are
independent checks of each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulators.lab import HF_KEY, HF_KEY_ROTATED
from tests.integration.helpers import (
    Hosts,
    RecordingLab,
    embedding,
    public,
    recording_lab,
    rerank,
)
from tests.integration.test_lifecycle import (
    DIFF_SOME,
    RAISED,
    assert_no_diff,
    calls_during,
    diff_of,
    raised,
    replace,
    sha256,
)

SENTENCE_200 = {"strategy": "sentence", "max_chunk_size": 200, "sentence_overlap": 1}
WORD_100 = {"strategy": "word", "max_chunk_size": 100, "overlap": 20}
# 9.2.5 / 9.2.6: the patch pair around the chunking-reset fix (#141687, unconfirmed in 9.2.6).
VERSIONS = ["8.17.0", "8.19.0", "9.1.0", "9.2.5", "9.2.6", "9.3.0", "9.4.0", "9.5.0"]
RESET_ASSUMED = {"8.17.0", "8.19.0", "9.1.0", "9.2.5", "9.2.6", "9.3.0"}
UPDATE_API_COMPLETE = {"9.5.0"}

Declare = Callable[[RecordingLab], tuple[dict[str, Any], dict[str, Any]]]


def _task_settings(lab: RecordingLab) -> tuple[dict[str, Any], dict[str, Any]]:
    before = rerank(lab, task_settings={"top_n": 3, "return_documents": True})
    return before, rerank(lab, task_settings={"top_n": 5, "return_documents": True})


def _rate_limit(lab: RecordingLab) -> tuple[dict[str, Any], dict[str, Any]]:
    before = embedding(lab, chunking_settings=SENTENCE_200)
    limit = {"rate_limit": {"requests_per_minute": 600}}
    return before, embedding(lab, chunking_settings=SENTENCE_200, settings=limit)


def _chunking(lab: RecordingLab) -> tuple[dict[str, Any], dict[str, Any]]:
    return embedding(lab, chunking_settings=SENTENCE_200), embedding(
        lab, chunking_settings=WORD_100
    )


def _rotation(mode: str) -> Declare:
    def declare(lab: RecordingLab) -> tuple[dict[str, Any], dict[str, Any]]:
        before = embedding(lab, chunking_settings=SENTENCE_200, secret_rotation=mode)
        after = embedding(
            lab, api_key=HF_KEY_ROTATED, chunking_settings=SENTENCE_200, secret_rotation=mode
        )
        return before, after

    return declare


def _url(lab: RecordingLab) -> tuple[dict[str, Any], dict[str, Any]]:
    before = embedding(lab, chunking_settings=SENTENCE_200)
    moved = {"url": f"{lab.hf_url}/embed?v=2"}
    return before, embedding(lab, chunking_settings=SENTENCE_200, settings=moved)


def _expected(scenario: str, version: str) -> tuple[str, list[str]]:
    """(how the change is applied, the fields the diff lists as replacing) on this version."""
    if scenario == "task_settings":
        return "update", []
    if scenario in ("rate_limit", "chunking"):
        field = "service_settings.rate_limit" if scenario == "rate_limit" else "chunking_settings"
        return ("update", []) if version in UPDATE_API_COMPLETE else ("replace", [field])
    if scenario == "rotation (secret_rotation: update)":
        # Where _update may drop the custom chunking (#139574), the rotation re-creates instead.
        return ("replace", ["chunking_settings"]) if version in RESET_ASSUMED else ("update", [])
    if scenario == "rotation (secret_rotation: replace)":
        return "replace", ["service_settings.api_key"]
    return "replace", ["service_settings.url"]


SCENARIOS: dict[str, Declare] = {
    "task_settings": _task_settings,
    "rate_limit": _rate_limit,
    "chunking": _chunking,
    "rotation (secret_rotation: update)": _rotation("update"),
    "rotation (secret_rotation: replace)": _rotation("replace"),
    "url": _url,
}
CASES = [
    (version, scenario)
    for version in VERSIONS
    for scenario in SCENARIOS
    # hugging_face rerank exists from 8.19 / 9.1.
    if not (scenario == "task_settings" and version == "8.17.0")
]


def assert_state_is_the_cluster(lab: RecordingLab, outs: dict[str, Any], api_key: str) -> None:
    live = lab.endpoint(str(outs["inference_id"]))
    assert live is not None
    recorded = public(outs)
    assert {k: v for k, v in recorded["service_settings"].items() if k != "api_key"} == live[
        "service_settings"
    ]
    assert recorded.get("chunking_settings") == live.get("chunking_settings")
    assert recorded.get("task_settings") == (live.get("task_settings") or None)
    assert recorded["service_settings"]["api_key"] == api_key
    assert lab.key_hash(str(outs["inference_id"])) == sha256(api_key)


@pytest.mark.parametrize(("version", "scenario"), CASES, ids=[f"{s} on {v}" for v, s in CASES])
def test_a_change_ends_with_state_equal_to_the_cluster_and_no_diff(
    hosts: Hosts, version: str, scenario: str
) -> None:
    with recording_lab(version) as lab:
        host = hosts.start()
        before, after = SCENARIOS[scenario](lab)
        inference_id = str(after["inference_id"])
        _, outs = host.create(before)
        assert_state_is_the_cluster(lab, outs, HF_KEY)

        how, replaces = _expected(scenario, version)
        assert diff_of(host, outs, after) == (DIFF_SOME, replaces, True)
        if how == "update":
            outs, calls = calls_during(lab, lambda: host.update(inference_id, outs, after))
            assert calls == [f"PUT /_inference/{after['task_type']}/{inference_id}/_update"]
        else:
            outs, _ = replace(lab, host, outs, after)

        assert_state_is_the_cluster(lab, outs, str(after["service_settings"]["api_key"]))
        assert_no_diff(host, outs, after)


def test_an_update_the_cluster_did_not_apply_is_never_recorded(hosts: Hosts) -> None:
    # The state says 9.4 (no chunking reset), the cluster is 9.3.0: the plan is in place, the
    # cluster drops the chunking, and the read-back refuses to record that as success.
    with recording_lab("9.3.0") as lab:
        host = hosts.start()
        _, outs = host.create(
            embedding(lab, chunking_settings=SENTENCE_200, secret_rotation="update")
        )
        stale = {**outs, "elasticsearch_version": "9.4.0"}
        rotated = embedding(
            lab, api_key=HF_KEY_ROTATED, chunking_settings=SENTENCE_200, secret_rotation="update"
        )
        assert diff_of(host, stale, rotated) == (DIFF_SOME, [], True)
        message = raised(lambda: host.update("emb", stale, rotated))
        assert message == (
            f"{RAISED}PUT /_inference/text_embedding/emb/_update: Elasticsearch 9.3.0 accepted "
            "the update but did not apply chunking_settings"
        )
