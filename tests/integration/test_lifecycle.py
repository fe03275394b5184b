"""The lifecycle ladder, driven through Pulumi's dynamic-provider host against the emulator.

Each ladder is one ordered scenario, as the engine would run it across successive ``pulumi``
commands: check -> create -> diff (no change) -> update in place -> replace on an api_key change ->
delete refused while referenced -> forced delete -> refresh after an out-of-band delete -> refresh
after an out-of-band edit -> destroy. Every step asserts the outputs and the requests Elasticsearch
received. Refreshes and destroys use a fresh host, as each Pulumi command starts its own provider
process. Rules L1-L14 are those of ``providers.model``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from emulators.lab import HF_KEY, HF_KEY_ROTATED
from harness.provider_host import HostError, ProviderHost
from tests.integration.helpers import (
    Hosts,
    RecordingLab,
    embedding,
    embedding_outputs,
    public,
    recording_lab,
    rerank,
    rerank_outputs,
    write_stack,
)

DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME
# How the engine shows an exception raised by a dynamic provider (pulumi 3.259).
RAISED = "Exception calling application: "
SENTENCE_200 = {"strategy": "sentence", "max_chunk_size": 200}
WORD_100 = {"strategy": "word", "max_chunk_size": 100, "overlap": 20}


def raised(call: Callable[[], object]) -> str:
    """What the engine shows when the provider raises during ``call``."""
    with pytest.raises(HostError) as caught:
        call()
    return caught.value.details


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key_hash(lab: RecordingLab, inference_id: str) -> str:
    """The SHA-256 of the api_key Elasticsearch holds for the endpoint."""
    stored = lab.stored(inference_id)
    assert stored is not None
    return str(stored["service_settings"]["api_key_sha256"])


def diff_of(host: ProviderHost, outs: dict[str, Any], news: dict[str, Any]) -> tuple[Any, ...]:
    """(changes, replaces, deleteBeforeReplace) of a diff of recorded outputs vs a declaration."""
    response = host.diff(str(news["inference_id"]), outs, news)
    return response.changes, list(response.replaces), response.deleteBeforeReplace


def assert_no_diff(host: ProviderHost, outs: dict[str, Any], news: dict[str, Any]) -> None:
    changes, replaces, _ = diff_of(host, outs, news)
    assert (changes, replaces) == (DIFF_NONE, [])


def calls_during(lab: RecordingLab, step: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run one step; return its result and the requests Elasticsearch received meanwhile."""
    lab.clear_log()
    result = step()
    return result, lab.calls()


def replace(
    lab: RecordingLab, host: ProviderHost, outs: dict[str, Any], news: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A delete-before-replace, as the engine runs it: check, delete the old, create the new."""
    _, failures = host.check({}, news)
    assert failures == []
    inference_id = str(news["inference_id"])

    def run() -> tuple[str, dict[str, Any]]:
        host.delete(inference_id, outs)
        return host.create(news)

    (new_id, new_outs), calls = calls_during(lab, run)
    assert new_id == inference_id
    return new_outs, calls


def test_a_text_embedding_endpoint_with_chunking_climbs_the_whole_ladder(hosts: Hosts) -> None:
    with recording_lab("9.5.0") as lab:
        host = hosts.start()
        path = "/_inference/text_embedding/emb"
        declared = embedding(lab, chunking_settings=SENTENCE_200)

        # check: a valid declaration passes unchanged; an invalid one reports every problem,
        # keyed by its top-level input (the engine looks the value up there), without I/O.
        checked, failures = host.check({}, declared)
        assert (checked, failures) == (declared, [])
        broken = embedding(
            lab, "Emb!", settings={"url": "ftp://x"}, chunking_settings={"strategy": "sentence"}
        )
        _, failures = host.check({}, broken)
        where = "stacks/dev.yaml: endpoint 'Emb!'"
        assert failures == [
            (
                "chunking_settings",
                f"{where}: $.chunking_settings: missing required field 'max_chunk_size'",
            ),
            (
                "inference_id",
                f"{where}: $.inference_id: must be lowercase letters, digits, '_', '-' and '.', "
                "starting and ending with a letter or digit (got 'Emb!')",
            ),
            (
                "service_settings",
                f"{where}: $.service_settings.url: must be an absolute http:// or https:// URL",
            ),
        ]
        assert lab.calls() == []

        # create: one PUT; the outputs are what Elasticsearch stored (discovered dimensions,
        # server defaults, filled-in chunking defaults), plus the api_key it never returns.
        (new_id, outs), calls = calls_during(lab, lambda: host.create(declared))
        assert new_id == "emb"
        assert public(outs) == embedding_outputs(
            lab, es_version="9.5.0", chunking_settings=SENTENCE_200
        )
        assert calls == ["GET /", f"PUT {path}"]
        assert lab.bodies("PUT", path) == [
            {
                "service": "hugging_face",
                "service_settings": {"url": f"{lab.hf_url}/embed", "api_key": HF_KEY},
                "chunking_settings": SENTENCE_200,
            }
        ]
        assert key_hash(lab, "emb") == sha256(HF_KEY)

        # L6: the same declaration again is no change, server-filled values included.
        assert_no_diff(host, outs, declared)

        # L5 on 9.5: a chunking change is applied in place by one _update without `service`.
        rechunked = embedding(lab, chunking_settings=WORD_100)
        assert diff_of(host, outs, rechunked) == (DIFF_SOME, [], True)
        outs, calls = calls_during(lab, lambda: host.update("emb", outs, rechunked))
        assert calls == [f"PUT {path}/_update"]
        assert lab.bodies("PUT", f"{path}/_update") == [{"chunking_settings": WORD_100}]
        assert public(outs)["chunking_settings"] == WORD_100
        assert lab.endpoint("emb")["chunking_settings"] == WORD_100  # type: ignore[index]
        assert_no_diff(host, outs, rechunked)

        # L3 + L8: a new api_key replaces the endpoint, deleting first (the id cannot exist twice).
        rotated = embedding(lab, api_key=HF_KEY_ROTATED, chunking_settings=WORD_100)
        assert diff_of(host, outs, rotated) == (DIFF_SOME, ["service_settings.api_key"], True)
        outs, calls = replace(lab, host, outs, rotated)
        assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}", f"PUT {path}"]
        assert public(outs)["service_settings"]["api_key"] == HF_KEY_ROTATED
        assert key_hash(lab, "emb") == sha256(HF_KEY_ROTATED)
        assert_no_diff(host, outs, rotated)

        # A pipeline and an index use the endpoint: delete refuses and deletes nothing.
        lab.put_pipeline("embed-docs", "emb")
        lab.put_index("docs", "emb")
        lab.clear_log()
        assert raised(lambda: host.delete("emb", outs)) == (
            f"{RAISED}DELETE {path} refused: ingest pipelines ['embed-docs'] and the "
            "semantic_text mappings of indexes ['docs'] use the endpoint, so nothing was deleted. "
            "Remove those references, or set `force: true` on emb in stacks/dev.yaml to delete "
            "it anyway (they fail until it exists again)"
        )
        assert lab.calls() == [f"DELETE {path}?dry_run=true"]
        assert lab.endpoint("emb") is not None

        # L7: `force: true` in the inputs is recorded without touching Elasticsearch, then lets
        # the delete through.
        forced = {**rotated, "force": True}
        assert diff_of(host, outs, forced) == (DIFF_SOME, [], True)
        outs, calls = calls_during(lab, lambda: host.update("emb", outs, forced))
        assert calls == []
        assert public(outs)["force"] is True
        _, calls = calls_during(lab, lambda: hosts.start().delete("emb", outs))
        assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}?force=true"]
        assert lab.endpoint("emb") is None

        # The pipeline and the index still name it, so the declaration keeps `force: true`.
        # Refresh after an out-of-band delete: the id comes back empty, so Pulumi drops it.
        _, outs = host.create(forced)
        lab.delete_out_of_band("emb")
        gone_id, gone = hosts.start().read("emb", outs)
        assert (gone_id, public(gone)) == ("", {})

        # Refresh after an out-of-band edit shows the drift; on 9.5 it is repaired in place.
        _, outs = host.create(forced)
        lab.patch("emb", {"chunking_settings": {"max_chunk_size": 150}})
        refresher = hosts.start()
        read_id, drifted = refresher.read("emb", outs)
        assert read_id == "emb"
        assert public(drifted)["chunking_settings"] == {**WORD_100, "max_chunk_size": 150}
        assert public(drifted)["service_settings"]["api_key"] == HF_KEY_ROTATED
        assert diff_of(refresher, drifted, forced) == (DIFF_SOME, [], True)
        outs, calls = calls_during(lab, lambda: refresher.update("emb", drifted, forced))
        assert calls == [f"PUT {path}/_update"]
        assert lab.bodies("PUT", f"{path}/_update") == [{"chunking_settings": WORD_100}]
        assert_no_diff(refresher, outs, forced)

        # Destroy, then it is gone, and deleting what is already gone is a success that sends
        # nothing but the dry run.
        destroyer = hosts.start()
        _, calls = calls_during(lab, lambda: destroyer.delete("emb", outs))
        assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}?force=true"]
        assert lab.es.get(path).status_code == 404
        _, calls = calls_during(lab, lambda: destroyer.delete("emb", outs))
        assert calls == [f"DELETE {path}?dry_run=true"]


def test_a_rerank_endpoint_with_task_settings_climbs_the_whole_ladder(
    lab: RecordingLab, hosts: Hosts, project: Path
) -> None:
    host = hosts.start()
    path = "/_inference/rerank/rr"
    top_3 = {"top_n": 3, "return_documents": True}
    declared = rerank(lab, task_settings=top_3)

    # check
    checked, failures = host.check({}, declared)
    assert (checked, failures) == (declared, [])
    broken = rerank(
        lab, settings={"url": "not a url"}, task_settings={"top_k": 3, "return_documents": "yes"}
    )
    _, failures = host.check({}, broken)
    where = "stacks/dev.yaml: endpoint 'rr'"
    assert failures == [
        (
            "service_settings",
            f"{where}: $.service_settings.url: must be an absolute http:// or https:// URL",
        ),
        (
            "task_settings",
            f"{where}: $.task_settings: unknown field 'top_k' (allowed: return_documents, top_n)",
        ),
        (
            "task_settings",
            f"{where}: $.task_settings.return_documents: must be of type boolean, not string",
        ),
    ]
    assert lab.calls() == []

    # create
    (new_id, outs), calls = calls_during(lab, lambda: host.create(declared))
    assert new_id == "rr"
    assert public(outs) == rerank_outputs(lab)
    assert calls == ["GET /", f"PUT {path}"]
    assert lab.bodies("PUT", path) == [
        {
            "service": "hugging_face",
            "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": HF_KEY},
            "task_settings": top_3,
        }
    ]
    assert key_hash(lab, "rr") == sha256(HF_KEY)
    assert_no_diff(host, outs, declared)

    # L4: task_settings change in place, with one _update that carries no `service`.
    top_5 = rerank(lab, task_settings={"top_n": 5, "return_documents": True})
    assert diff_of(host, outs, top_5) == (DIFF_SOME, [], True)
    outs, calls = calls_during(lab, lambda: host.update("rr", outs, top_5))
    assert calls == [f"PUT {path}/_update"]
    assert lab.bodies("PUT", f"{path}/_update") == [
        {"task_settings": {"top_n": 5, "return_documents": True}}
    ]
    assert public(outs)["task_settings"] == {"top_n": 5, "return_documents": True}
    assert lab.endpoint("rr")["task_settings"]["top_n"] == 5  # type: ignore[index]
    assert_no_diff(host, outs, top_5)

    # L3 + L8: a new api_key replaces it, deleting first, under the same id.
    rotated = rerank(
        lab, api_key=HF_KEY_ROTATED, task_settings={"top_n": 5, "return_documents": True}
    )
    assert diff_of(host, outs, rotated) == (DIFF_SOME, ["service_settings.api_key"], True)
    outs, calls = replace(lab, host, outs, rotated)
    assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}", f"PUT {path}"]
    assert key_hash(lab, "rr") == sha256(HF_KEY_ROTATED)
    assert_no_diff(host, outs, rotated)

    # A pipeline uses it: delete refuses, and Elasticsearch saw only the dry run.
    lab.put_pipeline("rerank-docs", "rr")
    lab.clear_log()
    assert raised(lambda: host.delete("rr", outs)) == (
        f"{RAISED}DELETE {path} refused: ingest pipelines ['rerank-docs'] use the endpoint, so "
        "nothing was deleted. Remove those references, or set `force: true` on rr in "
        "stacks/dev.yaml to delete it anyway (they fail until it exists again)"
    )
    assert lab.calls() == [f"DELETE {path}?dry_run=true"]
    assert lab.endpoint("rr") is not None

    # `force: true` only in the stack file as it is now (the state says false): destroy reads it.
    write_stack(project, lab, {**rotated, "force": True})
    assert public(outs)["force"] is False
    _, calls = calls_during(lab, lambda: hosts.start().delete("rr", outs))
    assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}?force=true"]
    assert lab.endpoint("rr") is None
    lab.delete_pipeline("rerank-docs")
    write_stack(project, lab, rotated)

    # Refresh after an out-of-band delete.
    _, outs = host.create(rotated)
    lab.delete_out_of_band("rr")
    gone_id, gone = hosts.start().read("rr", outs)
    assert (gone_id, public(gone)) == ("", {})

    # Refresh after out-of-band edits: a task_settings change is drift that _update repairs.
    _, outs = host.create(rotated)
    lab.patch("rr", {"task_settings": {"top_n": 7}})
    refresher = hosts.start()
    read_id, drifted = refresher.read("rr", outs)
    assert read_id == "rr"
    assert public(drifted)["task_settings"] == {"top_n": 7, "return_documents": True}
    assert diff_of(refresher, drifted, rotated) == (DIFF_SOME, [], True)
    outs, calls = calls_during(lab, lambda: refresher.update("rr", drifted, rotated))
    assert calls == [f"PUT {path}/_update"]
    assert_no_diff(refresher, outs, rotated)

    # A rate_limit changed behind our back shows too, but 9.1's _update ignores rate_limit
    # (it takes only api_key and task_settings; 9.5 added rate_limit, elastic/elasticsearch#147143), so restoring the declared
    # value means re-creating the endpoint: the diff asks for a replacement.
    lab.patch("rr", {"service_settings": {"rate_limit": {"requests_per_minute": 1200}}})
    refresher = hosts.start()
    _, drifted = refresher.read("rr", outs)
    assert public(drifted)["service_settings"]["rate_limit"] == {"requests_per_minute": 1200}
    assert public(drifted)["service_settings"]["api_key"] == HF_KEY_ROTATED
    assert diff_of(refresher, drifted, rotated) == (
        DIFF_SOME,
        ["service_settings.rate_limit"],
        True,
    )
    outs, calls = replace(lab, refresher, drifted, rotated)
    assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}", f"PUT {path}"]
    assert lab.endpoint("rr")["service_settings"]["rate_limit"] == {"requests_per_minute": 3000}  # type: ignore[index]
    assert_no_diff(refresher, outs, rotated)

    # Destroy: gone for good, and a second delete is a no-op success.
    destroyer = hosts.start()
    _, calls = calls_during(lab, lambda: destroyer.delete("rr", outs))
    assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}"]
    assert lab.es.get(path).status_code == 404
    _, calls = calls_during(lab, lambda: destroyer.delete("rr", outs))
    assert calls == [f"DELETE {path}?dry_run=true"]


@pytest.mark.parametrize(
    ("es_version", "field", "changed", "how"),
    [
        (
            "9.5.0",
            "service_settings.rate_limit",
            {"settings": {"rate_limit": {"requests_per_minute": 1000}}},
            "update",
        ),
        (
            "9.4.0",
            "service_settings.rate_limit",
            {"settings": {"rate_limit": {"requests_per_minute": 1000}}},
            "replace",
        ),
        (
            "9.1.0",
            "service_settings.rate_limit",
            {"settings": {"rate_limit": {"requests_per_minute": 1000}}},
            "replace",
        ),
        ("9.5.0", "chunking_settings", {"chunking_settings": WORD_100}, "update"),
        ("9.4.0", "chunking_settings", {"chunking_settings": WORD_100}, "replace"),
        ("9.1.0", "chunking_settings", {"chunking_settings": WORD_100}, "replace"),
    ],
    ids=[
        "a rate_limit change is an in-place update on 9.5",
        "a rate_limit change replaces the endpoint on 9.4 (no backport of #147143 found)",
        "a rate_limit change replaces the endpoint on 9.1",
        "a chunking change is an in-place update on 9.5",
        "a chunking change replaces the endpoint on 9.4 (#149723 is 9.5)",
        "a chunking change replaces the endpoint on 9.1",
    ],
)
def test_whether_a_change_updates_in_place_depends_on_the_cluster_version(
    hosts: Hosts, es_version: str, field: str, changed: dict[str, Any], how: str
) -> None:
    with recording_lab(es_version) as lab:
        host = hosts.start()
        path = "/_inference/text_embedding/emb"
        _, outs = host.create(embedding(lab, chunking_settings=SENTENCE_200))
        news = embedding(lab, **{"chunking_settings": SENTENCE_200, **changed})
        if how == "update":
            assert diff_of(host, outs, news) == (DIFF_SOME, [], True)
            outs, calls = calls_during(lab, lambda: host.update("emb", outs, news))
            assert calls == [f"PUT {path}/_update"]
            group, _, name = field.partition(".")
            sent = {group: {name: news[group][name]}} if name else {group: news[group]}
            if group == "service_settings":
                # L10: the key goes with service_settings (#149628's release is unconfirmed).
                sent[group]["api_key"] = HF_KEY
            assert lab.bodies("PUT", f"{path}/_update") == [sent]
        else:
            assert diff_of(host, outs, news) == (DIFF_SOME, [field], True)
            outs, calls = replace(lab, host, outs, news)
            assert calls == [f"DELETE {path}?dry_run=true", f"DELETE {path}", f"PUT {path}"]
        live = lab.endpoint("emb")
        assert live is not None
        group, _, name = field.partition(".")
        wanted = news[group][name] if name else news[group]
        assert (live[group][name] if name else live[group]) == wanted
        assert (public(outs)[group][name] if name else public(outs)[group]) == wanted
        assert_no_diff(host, outs, news)


# On 8.17-9.3 an _update resets an embedding endpoint's chunking: tests/integration/test_versions.py.
@pytest.mark.parametrize("es_version", ["9.4.0", "9.5.0"])
def test_secret_rotation_update_rotates_the_api_key_in_place_without_deleting(
    hosts: Hosts, es_version: str
) -> None:
    with recording_lab(es_version) as lab:
        host = hosts.start()
        path = "/_inference/text_embedding/emb"
        _, outs = host.create(embedding(lab, secret_rotation="update"))
        rotated = embedding(lab, api_key=HF_KEY_ROTATED, secret_rotation="update")

        assert diff_of(host, outs, rotated) == (DIFF_SOME, [], True)
        outs, calls = calls_during(lab, lambda: host.update("emb", outs, rotated))

        assert calls == [f"PUT {path}/_update"]
        assert lab.bodies("PUT", f"{path}/_update") == [
            {"service_settings": {"api_key": HF_KEY_ROTATED}}
        ]
        assert key_hash(lab, "emb") == sha256(HF_KEY_ROTATED)
        assert public(outs)["service_settings"]["api_key"] == HF_KEY_ROTATED
        assert public(outs)["secret_rotation"] == "update"
        assert_no_diff(host, outs, rotated)


def test_on_9_4_an_in_place_rotation_to_a_key_the_service_refuses_keeps_the_old_key(
    hosts: Hosts,
) -> None:
    with recording_lab("9.4.0") as lab:
        host = hosts.start()
        _, outs = host.create(embedding(lab, secret_rotation="update"))
        refused = embedding(lab, api_key="hf_not_accepted", secret_rotation="update")

        message = raised(lambda: host.update("emb", outs, refused))

        assert message == (
            f"{RAISED}PUT /_inference/text_embedding/emb/_update failed: 400 status_exception: "
            "Could not complete inference endpoint creation as validation call to service threw "
            "an exception.; caused by status_exception: Received an authentication error status "
            "code for request from inference entity id [emb] status [401]. Error message: "
            "[Invalid credentials in Authorization header]"
        )
        assert key_hash(lab, "emb") == sha256(HF_KEY)


def test_a_rerank_endpoint_is_refused_before_any_put_on_a_cluster_older_than_its_service(
    hosts: Hosts,
) -> None:
    with recording_lab("8.17.0") as lab:
        host = hosts.start()
        assert raised(lambda: host.create(rerank(lab))) == (
            f"{RAISED}stacks/dev.yaml: endpoint 'rr': hugging_face rerank endpoints need "
            "Elasticsearch 8.19.0 or 9.1.0 or later; the cluster runs 8.17.0"
        )
        assert lab.calls() == ["GET /"]
        assert lab.user_endpoint_ids() == []


def test_declared_dimensions_the_model_does_not_have_fail_create_and_leave_nothing(
    lab: RecordingLab, host: ProviderHost
) -> None:
    declared = embedding(lab, settings={"dimensions": 512})
    where = "stacks/dev.yaml: endpoint 'emb'"
    assert raised(lambda: host.create(declared)) == (
        f"{RAISED}{where} is invalid (1 error):\n"
        f"  {where}: service_settings.dimensions is 512 but the model at the url returns "
        "384-dimensional embeddings (Elasticsearch uses 384); set it to 384 or leave it out. "
        "Nothing was created."
    )
    assert lab.user_endpoint_ids() == []
    assert lab.stored("emb") is None


def test_check_reports_a_number_as_the_user_wrote_it(lab: RecordingLab, host: ProviderHost) -> None:
    # Pulumi carries every number as a double; 0 must not come back as 0.0 in a message.
    _, failures = host.check({}, rerank(lab, task_settings={"top_n": 0}))
    assert failures == [
        (
            "task_settings",
            "stacks/dev.yaml: endpoint 'rr': $.task_settings.top_n: must be >= 1 (got 0)",
        )
    ]


def test_drift_of_a_rate_limit_left_to_its_default_is_repaired_in_place_on_9_5(
    hosts: Hosts,
) -> None:
    with recording_lab("9.5.0") as lab:
        path = "/_inference/text_embedding/emb"
        declared = embedding(lab)
        _, outs = hosts.start().create(declared)
        lab.patch("emb", {"service_settings": {"rate_limit": {"requests_per_minute": 1200}}})
        refresher = hosts.start()
        _, drifted = refresher.read("emb", outs)
        assert public(drifted)["service_settings"]["rate_limit"] == {"requests_per_minute": 1200}
        assert diff_of(refresher, drifted, declared) == (DIFF_SOME, [], True)
        outs, calls = calls_during(lab, lambda: refresher.update("emb", drifted, declared))
        assert calls == [f"PUT {path}/_update"]
        assert lab.bodies("PUT", f"{path}/_update") == [
            {"service_settings": {"rate_limit": {"requests_per_minute": 3000}, "api_key": HF_KEY}}
        ]
        assert_no_diff(refresher, outs, declared)


@pytest.mark.parametrize("es_version", ["9.4.0", "9.5.0"])
def test_create_adopts_an_endpoint_made_out_of_band_with_the_declared_settings(
    hosts: Hosts, es_version: str
) -> None:
    with recording_lab(es_version) as lab:
        path = "/_inference/text_embedding/emb"
        body = {
            "service": "hugging_face",
            "service_settings": {"url": f"{lab.hf_url}/embed", "api_key": HF_KEY_ROTATED},
            "chunking_settings": SENTENCE_200,
        }
        lab.es.put(path, json=body).raise_for_status()
        host = hosts.start()
        declared = embedding(lab, chunking_settings=SENTENCE_200, adopt=True)
        (new_id, outs), calls = calls_during(lab, lambda: host.create(declared))
        assert new_id == "emb"
        assert public(outs) == embedding_outputs(
            lab, es_version=es_version, chunking_settings=SENTENCE_200
        )
        assert calls == ["GET /", f"PUT {path}", f"GET {path}", f"PUT {path}/_update"]
        # Elasticsearch cannot show which key it holds, so adoption writes the declared one.
        assert lab.bodies("PUT", f"{path}/_update") == [{"service_settings": {"api_key": HF_KEY}}]
        assert key_hash(lab, "emb") == sha256(HF_KEY)
        assert_no_diff(host, outs, declared)
        assert (
            "warning: es-inference: 'emb' already existed with the declared settings and says "
            "adopt: true; this stack now manages it"
        ) in host.close()


def test_where_update_resets_chunking_adoption_re_creates_the_endpoint_to_write_the_key(
    lab: RecordingLab, hosts: Hosts
) -> None:
    path = "/_inference/text_embedding/emb"
    body = {
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/embed", "api_key": HF_KEY_ROTATED},
        "chunking_settings": SENTENCE_200,
    }
    lab.es.put(path, json=body).raise_for_status()
    host = hosts.start()
    declared = embedding(lab, chunking_settings=SENTENCE_200, adopt=True)
    (_, outs), calls = calls_during(lab, lambda: host.create(declared))
    # On 9.1 an _update would turn the chunking into word/250/100 (elastic/elasticsearch#139574).
    assert calls == [
        "GET /",
        f"PUT {path}",
        f"GET {path}",
        f"DELETE {path}?dry_run=true",
        f"DELETE {path}",
        f"PUT {path}",
    ]
    assert public(outs) == embedding_outputs(lab, chunking_settings=SENTENCE_200)
    assert lab.endpoint("emb")["chunking_settings"] == public(outs)["chunking_settings"]  # type: ignore[index]
    assert key_hash(lab, "emb") == sha256(HF_KEY)
    assert_no_diff(host, outs, declared)
    assert (
        "warning: es-inference: 'emb' already existed with the declared settings and says adopt: "
        "true; Elasticsearch 9.1.0 resets chunking_settings to word/250/100 on every _update "
        "(elastic/elasticsearch#139574), so it was re-created with the stack's api_key; this "
        "stack now manages it"
    ) in host.close()


def test_create_refuses_an_endpoint_made_out_of_band_with_other_settings(
    lab: RecordingLab, host: ProviderHost
) -> None:
    path = "/_inference/text_embedding/emb"
    body = {
        "service": "hugging_face",
        "service_settings": {
            "url": f"{lab.hf_url}/embed",
            "api_key": HF_KEY_ROTATED,
            "similarity": "dot_product",
        },
        "chunking_settings": WORD_100,
    }
    lab.es.put(path, json=body).raise_for_status()
    lab.clear_log()
    declared = embedding(lab, chunking_settings=SENTENCE_200, adopt=True)
    assert raised(lambda: host.create(declared)) == (
        f"{RAISED}PUT {path} failed: 400 resource_already_exists_exception: Inference endpoint "
        "[emb] already exists. Elasticsearch already has an endpoint 'emb' that differs from the "
        "declaration in service_settings.similarity, chunking_settings; delete it in "
        "Elasticsearch or choose another inference_id"
    )
    assert lab.calls() == ["GET /", f"PUT {path}", f"GET {path}"]
    assert key_hash(lab, "emb") == sha256(HF_KEY_ROTATED)


def test_create_refuses_an_endpoint_it_did_not_create_unless_it_says_adopt(
    lab: RecordingLab, host: ProviderHost
) -> None:
    path = "/_inference/text_embedding/emb"
    body = {
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/embed", "api_key": HF_KEY_ROTATED},
        "chunking_settings": SENTENCE_200,
    }
    lab.es.put(path, json=body).raise_for_status()
    lab.clear_log()
    declared = embedding(lab, chunking_settings=SENTENCE_200)
    assert raised(lambda: host.create(declared)) == (
        f"{RAISED}PUT {path} failed: 400 resource_already_exists_exception: Inference endpoint "
        "[emb] already exists. This stack did not create 'emb' (another stack, a person or tool, "
        "or an interrupted run of this stack may have), and it never takes over, re-keys or "
        "deletes an endpoint it did not create; nothing was changed. To manage it from this "
        "stack, set `adopt: true` on emb in stacks/dev.yaml"
    )
    assert lab.calls() == ["GET /", f"PUT {path}"]
    assert key_hash(lab, "emb") == sha256(HF_KEY_ROTATED)


def test_a_refresh_of_twenty_endpoints_lists_them_once(lab: RecordingLab, hosts: Hosts) -> None:
    creator = hosts.start()
    created = {}
    for n in range(21):
        inference_id = f"emb-{n:02d}"
        _, outs = creator.create(embedding(lab, inference_id))
        created[inference_id] = outs
    lab.delete_out_of_band("emb-20")
    refresher = hosts.start()
    lab.clear_log()

    # The engine refreshes with four workers; all twenty reads share one list call.
    twenty = [i for i in created if i != "emb-20"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        reads = list(pool.map(lambda i: refresher.read(i, created[i]), twenty))
    assert [read_id for read_id, _ in reads] == twenty
    assert [public(outs) for _, outs in reads] == [public(created[i]) for i in twenty]
    assert sorted(lab.calls()) == ["GET /", "GET /_inference/_all"]

    # An endpoint missing from the list is asked for by id, once.
    lab.clear_log()
    assert refresher.read("emb-20", created["emb-20"])[0] == ""
    assert lab.calls() == ["GET /_inference/text_embedding/emb-20"]
