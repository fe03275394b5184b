"""The lifecycle ladder for the elasticsearch, openai, cohere, azureopenai, amazonbedrock and
googlevertexai services.

The same provider code as for hugging_face, driven through Pulumi's dynamic-provider host; only
the schemas differ. Each ladder: check -> create -> no diff -> refresh is no diff (server-filled
values stay quiet) -> an in-place update -> a replacing change -> destroy. The third-party
services' validation calls go to the loopback vendor stand-in (`emulators.vendors.inference_apis`; Bedrock's
SigV4-signed calls and Google's token exchange to their own stand-ins). The cluster
is 9.4, where an `_update` keeps an endpoint's chunking; on 9.1 (the behaviour matrix's chunking
reset) the provider replaces an embedding endpoint instead, shown for openai and cohere, while a
rerank endpoint is still updated in place. OAuth2 endpoints (openai from 9.5, azureopenai from
9.4) get their token from the stand-in's token endpoint and rotate the client secret in place.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulumi.runtime.proto import provider_pb2

from emulators import ElasticsearchEmulator, HuggingFaceServer, serve
from emulators.elasticsearch.services.elasticsearch import ElasticsearchService
from emulators.lab import (
    AWS_ACCESS_KEY,
    AWS_ACCESS_KEY_ROTATED,
    AWS_SECRET_KEY,
    AWS_SECRET_KEY_ROTATED,
    HF_KEY,
    VENDOR_CLIENT_ID,
    VENDOR_CLIENT_SECRET,
    VENDOR_CLIENT_SECRET_ROTATED,
    VENDOR_CLIENTS,
    VENDOR_HOSTS,
    VENDOR_KEY,
    VENDOR_KEY_ROTATED,
    cloud_stand_ins,
    google_service_account,
)
from emulators.vendors.eis import EisServer
from emulators.vendors.inference_apis import VendorServer
from harness.provider_host import serialized
from providers.inference_endpoint import InferenceEndpointProvider
from tests.integration.helpers import STACK_FILE, Hosts, RecordingLab, _BodyRecorder, public

DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME


@contextmanager
def vendor_lab(es_version: str = "9.4.0") -> Iterator[RecordingLab]:
    """An emulator whose third-party services reach the vendor stand-in; bodies recorded."""
    vendor = VendorServer(api_keys=[VENDOR_KEY, VENDOR_KEY_ROTATED], oauth_clients=VENDOR_CLIENTS)
    with (
        serve(vendor) as vendor_server,
        serve(HuggingFaceServer(api_keys=[HF_KEY])) as hf,
        ExitStack() as clouds,
    ):
        cloud_routes, _, _ = cloud_stand_ins(clouds)
        emulator = ElasticsearchEmulator(
            version=es_version,
            retry_backoff=0.01,
            service_routes={**dict.fromkeys(VENDOR_HOSTS, vendor_server.url), **cloud_routes},
        )
        recorder = _BodyRecorder(emulator)
        with serve(recorder) as es_server:
            lab = RecordingLab(es_server.url, hf.url, recorder)
            lab.vendor_url = vendor_server.url
            try:
                yield lab
            finally:
                lab.close()


@dataclass(frozen=True)
class Ladder:
    """One service's rungs: the declaration and the two changes, with what each must send."""

    task_type: str
    service: str
    settings: dict[str, Any]
    task_settings: dict[str, Any] | None
    in_place: Callable[[dict[str, Any]], dict[str, Any]]
    in_place_body: dict[str, Any]
    replacing: Callable[[dict[str, Any]], dict[str, Any]]
    replaced_field: str


def _task(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda inputs: {
        **inputs,
        "task_settings": {**inputs.get("task_settings", {}), **changes},
    }


def _setting(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda inputs: {**inputs, "service_settings": {**inputs["service_settings"], **changes}}


LADDERS = {
    "elasticsearch": Ladder(
        "sparse_embedding",
        "elasticsearch",
        {"model_id": ".elser_model_2", "num_threads": 1, "num_allocations": 1},
        None,
        _setting(num_allocations=2),
        {"service_settings": {"num_allocations": 2}},
        _setting(num_threads=2),
        "service_settings.num_threads",
    ),
    "openai": Ladder(
        "text_embedding",
        "openai",
        {"api_key": VENDOR_KEY, "model_id": "text-embedding-3-small"},
        {"user": "ingest"},
        _task(user="search"),
        {"task_settings": {"user": "search"}},
        _setting(api_key=VENDOR_KEY_ROTATED),
        "service_settings.api_key",
    ),
    "cohere": Ladder(
        "rerank",
        "cohere",
        {"api_key": VENDOR_KEY, "model_id": "rerank-v3.5"},
        {"top_n": 3},
        _task(top_n=5),
        {"task_settings": {"top_n": 5}},
        _setting(model_id="rerank-v3.0"),
        "service_settings.model_id",
    ),
    "azureopenai": Ladder(
        "text_embedding",
        "azureopenai",
        {
            "entra_id": VENDOR_KEY,
            "resource_name": "res",
            "deployment_id": "emb",
            "api_version": "v1",
        },
        None,
        _task(user="ops"),
        {"task_settings": {"user": "ops"}},
        _setting(entra_id=VENDOR_KEY_ROTATED),
        "service_settings.entra_id",
    ),
    "amazonbedrock": Ladder(
        "completion",
        "amazonbedrock",
        {
            "access_key": AWS_ACCESS_KEY,
            "secret_key": AWS_SECRET_KEY,
            "region": "us-east-1",
            "model": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "provider": "anthropic",
        },
        {"max_new_tokens": 32},
        _task(max_new_tokens=64, temperature=0.25),
        {"task_settings": {"max_new_tokens": 64, "temperature": 0.25}},
        _setting(region="eu-west-1"),
        "service_settings.region",
    ),
    "googlevertexai": Ladder(
        "rerank",
        "googlevertexai",
        {"service_account_json": google_service_account().key_json, "project_id": "lab-project"},
        {"top_n": 3},
        _task(top_n=5),
        {"task_settings": {"top_n": 5}},
        _setting(model_id="semantic-ranker-512@latest"),
        "service_settings.model_id",
    ),
}
SECRET_NAMES = ("api_key", "entra_id", "access_key", "secret_key", "service_account_json")


def declared(lab: RecordingLab, ladder: Ladder) -> dict[str, Any]:
    provider = InferenceEndpointProvider({"endpoints": [lab.es_url]}, stack_file=STACK_FILE)
    inputs: dict[str, Any] = {
        "__provider": serialized(provider),
        "inference_id": "ep",
        "task_type": ladder.task_type,
        "service": ladder.service,
        "service_settings": dict(ladder.settings),
    }
    if ladder.task_settings is not None:
        inputs["task_settings"] = dict(ladder.task_settings)
    return inputs


def diff_of(host: Any, outs: dict[str, Any], news: dict[str, Any]) -> tuple[Any, list[str], bool]:
    response = host.diff("ep", outs, news)
    return response.changes, list(response.replaces), response.deleteBeforeReplace


@pytest.mark.parametrize("name", list(LADDERS), ids=[f"{n} climbs the ladder" for n in LADDERS])
def test_each_service_climbs_the_ladder(tmp_path: Path, name: str) -> None:
    ladder = LADDERS[name]
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    try:
        with vendor_lab("9.4.0") as lab:
            host = hosts.start()
            path = f"/_inference/{ladder.task_type}/ep"
            inputs = declared(lab, ladder)
            assert host.check({}, inputs) == (inputs, [])

            lab.clear_log()
            new_id, outs = host.create(inputs)
            assert new_id == "ep"
            assert lab.calls() == ["GET /", f"PUT {path}"]
            live = lab.endpoint("ep")
            assert live is not None
            secrets = {k: v for k, v in ladder.settings.items() if k in SECRET_NAMES}
            assert public(outs)["service_settings"] == {**live["service_settings"], **secrets}
            assert diff_of(host, outs, inputs)[0] == DIFF_NONE

            # A refresh reads what Elasticsearch filled in; it is still no change.
            read_id, refreshed = hosts.start().read("ep", outs)
            assert read_id == "ep"
            assert diff_of(host, refreshed, inputs)[0] == DIFF_NONE

            changed = ladder.in_place(inputs)
            assert diff_of(host, refreshed, changed) == (DIFF_SOME, [], True)
            lab.clear_log()
            outs = host.update("ep", refreshed, changed)
            assert lab.calls() == [f"PUT {path}/_update"]
            assert lab.bodies("PUT", f"{path}/_update") == [ladder.in_place_body]
            assert diff_of(host, outs, changed)[0] == DIFF_NONE

            replaced = ladder.replacing(changed)
            assert diff_of(host, outs, replaced) == (DIFF_SOME, [ladder.replaced_field], True)
            lab.clear_log()
            host.delete("ep", outs)
            _, outs = host.create(replaced)
            assert lab.calls() == [f"DELETE {path}?dry_run=true", f"DELETE {path}", f"PUT {path}"]
            assert diff_of(host, outs, replaced)[0] == DIFF_NONE

            hosts.start().delete("ep", outs)
            assert lab.endpoint("ep") is None
    finally:
        stderr = hosts.close_all()
    assert VENDOR_KEY not in stderr and VENDOR_KEY_ROTATED not in stderr
    assert AWS_SECRET_KEY not in stderr and "PRIVATE KEY" not in stderr


def test_the_aws_key_pair_rotates_in_place_together_with_secret_rotation_update(
    tmp_path: Path,
) -> None:
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    ladder = Ladder(
        "text_embedding",
        "amazonbedrock",
        {
            "access_key": AWS_ACCESS_KEY,
            "secret_key": AWS_SECRET_KEY,
            "region": "us-east-1",
            "model": "amazon.titan-embed-text-v2:0",
            "provider": "amazontitan",
        },
        None,
        _setting(),
        {},
        _setting(),
        "",
    )
    rotated = {"access_key": AWS_ACCESS_KEY_ROTATED, "secret_key": AWS_SECRET_KEY_ROTATED}
    path = "/_inference/text_embedding/ep"
    try:
        with vendor_lab("9.4.0") as lab:
            host = hosts.start()
            inputs = {**declared(lab, ladder), "secret_rotation": "update"}
            _, outs = host.create(inputs)
            _, refreshed = hosts.start().read("ep", outs)
            assert diff_of(host, refreshed, inputs)[0] == DIFF_NONE

            changed = _setting(**rotated)(inputs)
            assert diff_of(host, refreshed, changed) == (DIFF_SOME, [], True)
            lab.clear_log()
            outs = host.update("ep", refreshed, changed)
            assert lab.calls() == [f"PUT {path}/_update"]
            assert lab.bodies("PUT", f"{path}/_update") == [{"service_settings": rotated}]
            stored = lab.stored("ep")
            assert stored is not None
            assert stored["service_settings"]["access_key_sha256"] == (
                hashlib.sha256(AWS_ACCESS_KEY_ROTATED.encode()).hexdigest()
            )
            assert diff_of(host, outs, changed)[0] == DIFF_NONE
            hosts.start().delete("ep", outs)
    finally:
        stderr = hosts.close_all()
    assert AWS_SECRET_KEY not in stderr and AWS_SECRET_KEY_ROTATED not in stderr


RESET = {
    "openai embeddings": (LADDERS["openai"], True),
    "cohere embeddings": (
        Ladder(
            "text_embedding",
            "cohere",
            {"api_key": VENDOR_KEY, "model_id": "embed-v3"},
            {"input_type": "ingest"},
            _task(input_type="search"),
            {"task_settings": {"input_type": "search"}},
            _setting(),
            "",
        ),
        True,
    ),
    "cohere rerank": (LADDERS["cohere"], False),
}


@pytest.mark.parametrize("name", list(RESET), ids=[f"{n} on 9.1" for n in RESET])
def test_where_update_drops_chunking_an_embedding_change_is_planned_as_a_replace(
    tmp_path: Path, name: str
) -> None:
    """9.1 has the chunking reset (behaviour rule update.chunking_reset, embeddings only).

    An in-place task change of an embedding endpoint would leave it with word/250/100 chunking,
    so the plan replaces it (9.1's _update takes no chunking to re-send); a rerank endpoint has
    no chunking and is updated in place.
    """
    ladder, replaced = RESET[name]
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    try:
        with vendor_lab("9.1.0") as lab:
            host = hosts.start()
            path = f"/_inference/{ladder.task_type}/ep"
            inputs = declared(lab, ladder)
            _, outs = host.create(inputs)
            _, refreshed = hosts.start().read("ep", outs)
            assert diff_of(host, refreshed, inputs)[0] == DIFF_NONE
            chunking = (lab.endpoint("ep") or {}).get("chunking_settings")

            changed = ladder.in_place(inputs)
            lab.clear_log()
            if replaced:
                assert diff_of(host, refreshed, changed) == (
                    DIFF_SOME,
                    ["chunking_settings"],
                    True,
                )
                host.delete("ep", refreshed)
                _, outs = host.create(changed)
                assert lab.calls() == [
                    f"DELETE {path}?dry_run=true",
                    f"DELETE {path}",
                    f"PUT {path}",
                ]
            else:
                assert diff_of(host, refreshed, changed) == (DIFF_SOME, [], True)
                outs = host.update("ep", refreshed, changed)
                assert lab.calls() == [f"PUT {path}/_update"]
                assert lab.bodies("PUT", f"{path}/_update") == [ladder.in_place_body]
            live = lab.endpoint("ep")
            assert live is not None
            # Either way the endpoint keeps the chunking it had: never the reset's word/250/100.
            assert live.get("chunking_settings") == chunking
            assert live["task_settings"] == {
                **inputs.get("task_settings", {}),
                **changed["task_settings"],
            }
            _, refreshed = hosts.start().read("ep", outs)
            assert diff_of(host, refreshed, changed)[0] == DIFF_NONE
            hosts.start().delete("ep", outs)
    finally:
        hosts.close_all()


OAUTH2 = {
    "openai": ("9.5.0", {"model_id": "text-embedding-3-small"}, "token_url"),
    "azureopenai": (
        "9.4.0",
        {"resource_name": "res", "deployment_id": "emb", "api_version": "v1"},
        "tenant_id",
    ),
}


@pytest.mark.parametrize(
    "name", list(OAUTH2), ids=[f"{n} OAuth2 endpoint climbs the ladder" for n in OAUTH2]
)
def test_an_oauth2_endpoint_is_created_refreshed_rotated_and_destroyed(
    tmp_path: Path, name: str
) -> None:
    version, settings, extra = OAUTH2[name]
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    try:
        with vendor_lab(version) as lab:
            host = hosts.start()
            path = "/_inference/text_embedding/ep"
            oauth = {
                "client_id": VENDOR_CLIENT_ID,
                "client_secret": VENDOR_CLIENT_SECRET,
                "scopes": ["inference"],
                extra: f"{lab.vendor_url}/oauth2/token" if extra == "token_url" else "lab-tenant",
            }
            ladder = Ladder(
                "text_embedding", name, {**settings, **oauth}, None, _setting(), {}, _setting(), ""
            )
            inputs = {**declared(lab, ladder), "secret_rotation": "update"}
            assert host.check({}, inputs) == (inputs, [])

            lab.clear_log()
            _, outs = host.create(inputs)
            assert lab.calls() == ["GET /", f"PUT {path}"]
            live = lab.endpoint("ep")
            assert live is not None
            assert "client_secret" not in live["service_settings"]
            assert live["service_settings"]["client_id"] == VENDOR_CLIENT_ID
            secret = {"client_secret": VENDOR_CLIENT_SECRET}
            assert public(outs)["service_settings"] == {**live["service_settings"], **secret}

            # A refresh reads the OAuth2 fields back; the secret it cannot read stays quiet.
            _, refreshed = hosts.start().read("ep", outs)
            assert diff_of(host, refreshed, inputs)[0] == DIFF_NONE

            rotated = _setting(client_secret=VENDOR_CLIENT_SECRET_ROTATED)(inputs)
            assert diff_of(host, refreshed, rotated) == (DIFF_SOME, [], True)
            lab.clear_log()
            outs = host.update("ep", refreshed, rotated)
            assert lab.calls() == [f"PUT {path}/_update"]
            assert lab.bodies("PUT", f"{path}/_update") == [
                {"service_settings": {"client_secret": VENDOR_CLIENT_SECRET_ROTATED}}
            ]
            stored = lab.stored("ep")
            assert stored is not None
            assert stored["service_settings"]["client_secret_sha256"] == (
                hashlib.sha256(VENDOR_CLIENT_SECRET_ROTATED.encode()).hexdigest()
            )
            assert diff_of(host, outs, rotated)[0] == DIFF_NONE
            # Both the PUT and the validated _update traded the client secret for a token.
            log = httpx.get(f"{lab.vendor_url}/_emulator/requests").json()["requests"]
            tokens = [(r["client_auth"], r["status"]) for r in log if "token" in r["path"]]
            auth = "basic" if extra == "token_url" else "form"
            assert tokens == [(auth, 200), (auth, 200)]

            hosts.start().delete("ep", outs)
            assert lab.endpoint("ep") is None
    finally:
        stderr = hosts.close_all()
    assert VENDOR_CLIENT_SECRET not in stderr and VENDOR_CLIENT_SECRET_ROTATED not in stderr


def test_num_allocations_moved_by_adaptive_allocations_is_never_a_change(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    adaptive = {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 3}
    ladder = Ladder(
        "text_embedding",
        "elasticsearch",
        {"model_id": ".multilingual-e5-small", "num_threads": 1, "adaptive_allocations": adaptive},
        None,
        _setting(),
        {},
        _setting(),
        "",
    )
    try:
        with vendor_lab() as lab:
            host = hosts.start()
            inputs = declared(lab, ladder)
            _, outs = host.create(inputs)
            seen: set[Any] = set()
            deadline = time.monotonic() + 20
            step = 0
            while len(seen) < 2 and time.monotonic() < deadline:
                # A fresh host per refresh, as each `pulumi refresh` reads the cluster anew.
                _, refreshed = hosts.start().read("ep", outs)
                seen.add(refreshed["service_settings"]["num_allocations"])
                assert diff_of(host, refreshed, inputs)[0] == DIFF_NONE
                # Uneven pauses, so a slow machine cannot sample the same phase every time.
                step += 1
                time.sleep(ElasticsearchService.ADAPTIVE_PERIOD * (0.3 + 0.45 * (step % 4)))
            assert len(seen) > 1, "the emulator moved num_allocations"
    finally:
        hosts.close_all()


SHORT = {
    "mistral": ("text_embedding", {"api_key": VENDOR_KEY, "model": "mistral-embed"}, None),
    "anthropic": (
        "completion",
        {"api_key": VENDOR_KEY, "model_id": "claude-3-5-haiku"},
        {"max_tokens": 64},
    ),
    "jinaai": ("text_embedding", {"api_key": VENDOR_KEY, "model_id": "jina-embeddings-v3"}, None),
    "voyageai": ("rerank", {"api_key": VENDOR_KEY, "model_id": "rerank-2"}, {"top_k": 2}),
}


def test_the_other_emulated_services_create_refresh_quietly_and_destroy(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    try:
        with vendor_lab() as lab:
            host, refresher = hosts.start(), hosts.start()
            for name, (task_type, settings, task_settings) in SHORT.items():
                ladder = Ladder(
                    task_type, name, settings, task_settings, _setting(), {}, _setting(), ""
                )
                inputs = {**declared(lab, ladder), "inference_id": name}
                assert host.check({}, inputs) == (inputs, []), name
                _, outs = host.create(inputs)
                assert host.diff(name, outs, inputs).changes == DIFF_NONE, name
                _, refreshed = refresher.read(name, outs)
                assert host.diff(name, refreshed, inputs).changes == DIFF_NONE, name
                refresher.delete(name, refreshed)
                assert lab.endpoint(name) is None
    finally:
        stderr = hosts.close_all()
    assert VENDOR_KEY not in stderr


# --- elastic: the Elastic Inference Service, reached through xpack.inference.elastic.url ----------


@contextmanager
def eis_lab(es_version: str) -> Iterator[RecordingLab]:
    """An emulator whose EIS stand-in authorizes the default models; bodies recorded."""
    with serve(EisServer()) as eis, serve(HuggingFaceServer(api_keys=[HF_KEY])) as hf:
        emulator = ElasticsearchEmulator(
            version=es_version,
            retry_backoff=0.01,
            node_settings={"xpack.inference.elastic.url": eis.url},
        )
        recorder = _BodyRecorder(emulator)
        with serve(recorder) as es_server:
            lab = RecordingLab(es_server.url, hf.url, recorder)
            try:
                yield lab
            finally:
                lab.close()


EIS_WORD = {"strategy": "word", "max_chunk_size": 120, "overlap": 20}
EIS_LADDERS = {
    # 9.5 takes chunking in an _update: the one in-place change an elastic endpoint has.
    "sparse_embedding on 9.5": ("9.5.0", "sparse_embedding", "elser_model_2", "elser-v2"),
    "text_embedding on 9.1": ("9.1.0", "text_embedding", "multilingual-embed-v1", None),
    "chat_completion on 9.4": ("9.4.0", "chat_completion", "rainbow-sprinkles", None),
    "rerank on 9.1": ("9.1.0", "rerank", "rerank-v1", None),
}


@pytest.mark.parametrize("case", list(EIS_LADDERS), ids=[f"elastic {c}" for c in EIS_LADDERS])
def test_elastic_climbs_the_ladder(tmp_path: Path, case: str) -> None:
    es_version, task_type, model, other_model = EIS_LADDERS[case]
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    ladder = Ladder(task_type, "elastic", {"model_id": model}, None, _setting(), {}, _setting(), "")
    try:
        with eis_lab(es_version) as lab:
            host = hosts.start()
            path = f"/_inference/{task_type}/ep"
            inputs = declared(lab, ladder)
            assert host.check({}, inputs) == (inputs, [])

            lab.clear_log()
            new_id, outs = host.create(inputs)
            assert new_id == "ep"
            assert lab.calls() == ["GET /", f"PUT {path}"]
            assert lab.bodies("PUT", path) == [
                {"service": "elastic", "service_settings": {"model_id": model}}
            ]
            live = lab.endpoint("ep")
            assert live is not None
            assert public(outs)["service_settings"] == live["service_settings"]
            assert diff_of(host, outs, inputs)[0] == DIFF_NONE
            read_id, refreshed = hosts.start().read("ep", outs)
            assert read_id == "ep"
            assert diff_of(host, refreshed, inputs)[0] == DIFF_NONE

            if task_type == "sparse_embedding":
                changed = {**inputs, "chunking_settings": dict(EIS_WORD)}
                assert diff_of(host, refreshed, changed) == (DIFF_SOME, [], True)
                lab.clear_log()
                refreshed = host.update("ep", refreshed, changed)
                assert lab.calls() == [f"PUT {path}/_update"]
                assert lab.bodies("PUT", f"{path}/_update") == [{"chunking_settings": EIS_WORD}]
                assert diff_of(host, refreshed, changed)[0] == DIFF_NONE
                inputs = changed

            # Nothing else of an elastic endpoint changes in place: a new model replaces it.
            replaced = _setting(model_id=other_model or f"{model}-next")(inputs)
            assert diff_of(host, refreshed, replaced) == (
                DIFF_SOME,
                ["service_settings.model_id"],
                True,
            )
            if other_model is not None:
                lab.clear_log()
                host.delete("ep", refreshed)
                _, outs = host.create(replaced)
                assert lab.calls() == [
                    f"DELETE {path}?dry_run=true",
                    f"DELETE {path}",
                    f"PUT {path}",
                ]
                assert diff_of(host, outs, replaced)[0] == DIFF_NONE
                refreshed = outs
            hosts.start().delete("ep", refreshed)
            assert lab.endpoint("ep") is None
    finally:
        hosts.close_all()


def test_elastic_refuses_a_model_eis_does_not_authorize(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    hosts = Hosts(tmp_path)
    ladder = Ladder(
        "sparse_embedding", "elastic", {"model_id": "nope"}, None, _setting(), {}, _setting(), ""
    )
    try:
        with eis_lab("9.1.0") as lab:
            with pytest.raises(Exception, match=r"not authorized for task \[embed/text/sparse\]"):
                hosts.start().create(declared(lab, ladder))
            assert lab.endpoint("ep") is None
    finally:
        hosts.close_all()
