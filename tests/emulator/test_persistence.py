"""`ElasticsearchEmulator(data_dir=...)` and `es-inference emulator --data-dir`: the cluster
state survives restarts in `<data_dir>/state.json`, saved after every change and only then."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators import ElasticsearchEmulator, serve

from ._helpers import HF_KEY, error_of, hf_body

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "http://127.0.0.1:9/embed"
ROTATED_KEY = "hf_rotated_key_456"
SKIP_VALIDATION = {"persistent": {"xpack.inference.skip_validate_and_start": True}}


@contextlib.contextmanager
def running(data_dir: Path, **options: Any) -> Iterator[httpx.Client]:
    """An emulator keeping its state in `data_dir`, served on loopback until the block ends."""
    options.setdefault("default_endpoints", False)
    options.setdefault("retry_backoff", 0.01)
    with (
        serve(ElasticsearchEmulator(data_dir=data_dir, **options)) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        yield client


def observed(es: httpx.Client) -> dict[str, Any]:
    """Everything a client can see of the cluster's state."""
    return {
        "cluster_uuid": es.get("/").json()["cluster_uuid"],
        "endpoints": es.get("/_inference/_all").json(),
        "stored": es.get("/_emulator/endpoints").json(),
        "pipelines": es.get("/_ingest/pipeline").json(),
        "indexes": {name: es.get(f"/{name}").json() for name in ("docs", "docs2")},
        "settings": es.get("/_cluster/settings", params={"flat_settings": "true"}).json(),
    }


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def state_file(data_dir: Path) -> Path:
    return data_dir / "state.json"


def fingerprint(data_dir: Path) -> tuple[int, int, bytes]:
    """Inode, mtime and bytes: `os.replace` gives every save a new inode."""
    info = state_file(data_dir).stat()
    return info.st_ino, info.st_mtime_ns, state_file(data_dir).read_bytes()


def populate(es: httpx.Client) -> None:
    """Endpoints, an ingest pipeline and a semantic_text index that use them, with no HF calls."""
    es.put("/_cluster/settings", json=SKIP_VALIDATION).raise_for_status()
    es.put("/_inference/text_embedding/e", json=hf_body(NOWHERE)).raise_for_status()
    es.put(
        "/_ingest/pipeline/p",
        json={"processors": [{"inference": {"model_id": "e"}}]},
    ).raise_for_status()
    es.put(
        "/docs",
        json={"mappings": {"properties": {"body": {"type": "semantic_text", "inference_id": "e"}}}},
    ).raise_for_status()


# What survives a restart.


@pytest.mark.parametrize(
    "restart_version",
    ["9.1.0", "9.4.0", "8.19.0"],
    ids=[
        "when restarted as the same version",
        "when restarted as a newer version",
        "when restarted as an older version",
    ],
)
def test_the_cluster_state_survives_a_restart(
    tmp_path: Path, hf: httpx.Client, restart_version: str
) -> None:
    hf_url = str(hf.base_url).rstrip("/")
    with running(tmp_path, version="9.1.0") as es:
        es.put("/_inference/text_embedding/e5", json=hf_body(f"{hf_url}/embed")).raise_for_status()
        ranker = {**hf_body(f"{hf_url}/rerank"), "task_settings": {"top_n": 3}}
        es.put("/_inference/rerank/ranker", json=ranker).raise_for_status()
        es.put(
            "/_inference/e5/_update", json={"service_settings": {"api_key": ROTATED_KEY}}
        ).raise_for_status()
        es.patch(
            "/_emulator/endpoints/ranker", json={"service_settings": {"url": f"{hf_url}/moved"}}
        ).raise_for_status()
        es.put(
            "/_ingest/pipeline/p",
            json={"processors": [{"inference": {"model_id": "e5", "input_output": []}}]},
        ).raise_for_status()
        es.put(
            "/docs",
            json={
                "mappings": {
                    "properties": {"body": {"type": "semantic_text", "inference_id": "e5"}}
                },
                "settings": {"number_of_shards": 1},
            },
        ).raise_for_status()
        es.put("/_cluster/settings", json=SKIP_VALIDATION).raise_for_status()
        before = observed(es)
    with running(tmp_path, version=restart_version) as es:
        after = observed(es)
        stored = {e["inference_id"]: e for e in after["stored"]["endpoints"]}
        refused = es.delete("/_inference/e5")
    assert after == before
    assert [e["inference_id"] for e in after["endpoints"]["endpoints"]] == ["e5", "ranker"]
    assert stored["e5"]["service_settings"]["api_key_sha256"] == sha256(ROTATED_KEY)
    assert stored["e5"]["service_settings"]["dimensions"] == 384
    assert stored["ranker"]["service_settings"]["api_key_sha256"] == sha256(HF_KEY)
    assert stored["ranker"]["service_settings"]["url"] == f"{hf_url}/moved"
    assert stored["ranker"]["task_settings"] == {"top_n": 3}
    assert after["settings"]["persistent"] == {"xpack.inference.skip_validate_and_start": "true"}
    assert after["indexes"]["docs"]["docs"]["mappings"]["properties"]["body"]["inference_id"] == (
        "e5"
    )
    assert refused.status_code == 409


def test_transient_settings_do_not_survive_a_restart_as_on_a_full_cluster_restart(
    tmp_path: Path,
) -> None:
    body = {
        "persistent": {"xpack.inference.skip_validate_and_start": True},
        "transient": {"xpack.inference.skip_validate_and_start": False},
    }
    with running(tmp_path) as es:
        es.put("/_cluster/settings", json=body).raise_for_status()
    with running(tmp_path) as es:
        settings = es.get("/_cluster/settings", params={"flat_settings": "true"}).json()
    assert settings == {
        "persistent": {"xpack.inference.skip_validate_and_start": "true"},
        "transient": {},
    }


def test_the_cluster_uuid_is_fixed_at_the_first_start_even_if_nothing_changes(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as es:
        first = es.get("/").json()["cluster_uuid"]
    with running(tmp_path) as es:
        second = es.get("/").json()["cluster_uuid"]
    with running(tmp_path / "elsewhere") as es:
        other = es.get("/").json()["cluster_uuid"]
    assert first == second
    assert other != first


def test_the_request_log_faults_and_rate_limit_are_not_kept(tmp_path: Path) -> None:
    with running(tmp_path) as es:
        populate(es)
        es.post(
            "/_emulator/faults", json={"method": "GET", "path": "/", "action": "status"}
        ).raise_for_status()
        es.put("/_emulator/rate_limit", json={"requests_per_second": 100}).raise_for_status()
    with running(tmp_path) as es:
        assert es.get("/_emulator/requests").json() == {"requests": []}
        assert es.get("/_emulator/faults").json() == {"faults": []}
        assert es.get("/_emulator/rate_limit").json() == {"rate_limit": None}
        assert [e["inference_id"] for e in es.get("/_inference").json()["endpoints"]] == ["e"]


def test_without_a_data_dir_nothing_is_kept() -> None:
    for _ in range(2):
        with (
            serve(ElasticsearchEmulator(default_endpoints=False)) as server,
            httpx.Client(base_url=server.url) as es,
        ):
            assert es.get("/_inference").json() == {"endpoints": []}
            populate(es)


# The file itself.


def test_the_state_file_is_readable_by_its_owner_only_in_a_directory_created_0700(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "new" / "data"
    with running(data_dir) as es:
        created = stat.S_IMODE(state_file(data_dir).stat().st_mode)
        populate(es)
    assert created == 0o600
    assert stat.S_IMODE(state_file(data_dir).stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert os.listdir(data_dir) == ["state.json"]


def test_an_existing_data_directory_keeps_its_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    with running(data_dir):
        pass
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o755
    assert stat.S_IMODE(state_file(data_dir).stat().st_mode) == 0o600


def test_a_temp_file_left_by_a_killed_save_is_removed_at_start(tmp_path: Path) -> None:
    (tmp_path / ".state-abc123.tmp").write_text('{"format": 1')
    (tmp_path / "notes.txt").write_text("mine")
    with running(tmp_path):
        pass
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "state.json"]


def test_the_state_file_keeps_the_secret_and_names_its_format_and_writer(tmp_path: Path) -> None:
    with running(tmp_path, version="9.4.0") as es:
        populate(es)
        uuid = es.get("/").json()["cluster_uuid"]
    document = json.loads(state_file(tmp_path).read_text())
    assert document == {
        "format": 1,
        "es_version": "9.4.0",
        "cluster_uuid": uuid,
        "settings": {"persistent": {"xpack.inference.skip_validate_and_start": "true"}},
        "pipelines": {"p": {"processors": [{"inference": {"model_id": "e"}}]}},
        "indexes": {
            "docs": {
                "uuid": document["indexes"]["docs"]["uuid"],
                "mappings": {
                    "properties": {"body": {"type": "semantic_text", "inference_id": "e"}}
                },
                "settings": {},
                "aliases": {},
            }
        },
        "endpoints": [
            {
                "inference_id": "e",
                "service": "hugging_face",
                "task_type": "text_embedding",
                "service_settings": {
                    "url": NOWHERE,
                    "rate_limit": {"requests_per_minute": 3000},
                },
                "api_key": HF_KEY,
                "task_settings": {},
                "chunking_settings": {
                    "strategy": "sentence",
                    "max_chunk_size": 250,
                    "sentence_overlap": 1,
                },
            }
        ],
    }


# When the file is written.


@pytest.mark.parametrize(
    "steps",
    [
        [("GET", "/", None, 200)],
        [("GET", "/_inference/_all", None, 200)],
        [("GET", "/_inference/text_embedding/e", None, 200)],
        [("PUT", "/_inference/text_embedding/e", hf_body(NOWHERE), 400)],
        [("PUT", "/_inference/text_embedding/f", {"service": "hugging_face"}, 400)],
        [("PUT", "/_inference/e/_update", {"service_settings": {"api_key": HF_KEY}}, 200)],
        [("DELETE", "/_inference/e?dry_run=true", None, 200)],
        [("DELETE", "/_inference/e", None, 409)],
        [("DELETE", "/_inference/missing", None, 404)],
        [("GET", "/_cluster/settings", None, 200)],
        [("PUT", "/_cluster/settings", {"persistent": {"foo.bar": 1}}, 400)],
        [("GET", "/_ingest/pipeline/p", None, 200)],
        [("DELETE", "/_ingest/pipeline/missing", None, 404)],
        [("PUT", "/docs", None, 400)],
        [("GET", "/docs/_mapping", None, 200)],
        [("GET", "/_emulator/endpoints", None, 200)],
        [("PATCH", "/_emulator/endpoints/missing", {"task_settings": None}, 404)],
        [
            (
                "POST",
                "/_emulator/faults",
                {"method": "PUT", "path": "/_inference/*", "action": "status", "status": 503},
                200,
            ),
            ("PUT", "/_inference/text_embedding/f", hf_body(NOWHERE), 503),
        ],
        [("PUT", "/_emulator/rate_limit", {"requests_per_second": 100, "burst": 5}, 200)],
        [("DELETE", "/_emulator/requests", None, 200)],
    ],
    ids=[
        "cluster info",
        "listing endpoints",
        "getting an endpoint",
        "creating an endpoint that exists",
        "creating an endpoint with a bad body",
        "an update that changes nothing",
        "a dry-run delete",
        "a delete refused because the endpoint is referenced",
        "deleting a missing endpoint",
        "reading cluster settings",
        "setting an unknown cluster setting",
        "getting a pipeline",
        "deleting a missing pipeline",
        "creating an index that exists",
        "getting a mapping",
        "listing stored endpoints through the admin API",
        "patching a missing endpoint through the admin API",
        "a create answered by an injected fault",
        "setting a rate limit",
        "clearing the request log",
    ],
)
def test_a_request_that_changes_nothing_does_not_rewrite_the_file(
    tmp_path: Path, steps: list[tuple[str, str, Any, int]]
) -> None:
    with running(tmp_path) as es:
        populate(es)
        es.delete("/_emulator/requests").raise_for_status()
        before = fingerprint(tmp_path)
        for method, path, body, status in steps:
            assert es.request(method, path, json=body).status_code == status
        logged = es.get("/_emulator/requests").json()["requests"]
        assert fingerprint(tmp_path) == before
    assert [r for r in logged if r["mutated"]] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/_inference/sparse_embedding/f", hf_body(NOWHERE)),
        ("PUT", "/_inference/e/_update", {"service_settings": {"api_key": ROTATED_KEY}}),
        ("DELETE", "/_inference/e?force=true", None),
        ("PUT", "/_ingest/pipeline/p2", {"processors": []}),
        ("DELETE", "/_ingest/pipeline/p", None),
        ("PUT", "/docs2", {"aliases": {"d": {}}}),
        ("DELETE", "/docs", None),
        (
            "PUT",
            "/_cluster/settings",
            {"persistent": {"xpack.inference.skip_validate_and_start": None}},
        ),
        ("PATCH", "/_emulator/endpoints/e", {"service_settings": {"url": "http://x:1/"}}),
        ("POST", "/_emulator/reset", None),
    ],
    ids=[
        "creating an endpoint",
        "updating an endpoint's secret",
        "force-deleting an endpoint",
        "creating a pipeline",
        "deleting a pipeline",
        "creating an index",
        "deleting an index",
        "clearing a cluster setting",
        "an out-of-band edit through the admin API",
        "a reset",
    ],
)
def test_every_change_is_saved_before_the_answer(
    tmp_path: Path, method: str, path: str, body: Any
) -> None:
    with running(tmp_path) as es:
        populate(es)
        before = fingerprint(tmp_path)
        es.request(method, path, json=body).raise_for_status()
        after = fingerprint(tmp_path)
        live = observed(es)
    with running(tmp_path) as es:
        restarted = observed(es)
    assert after[0] != before[0]
    assert after[2] != before[2]
    assert restarted == live


def test_a_reset_clears_the_persisted_state_but_keeps_the_cluster_uuid(tmp_path: Path) -> None:
    with running(tmp_path) as es:
        populate(es)
        uuid = es.get("/").json()["cluster_uuid"]
        es.post("/_emulator/reset").raise_for_status()
    with running(tmp_path) as es:
        assert observed(es) == {
            "cluster_uuid": uuid,
            "endpoints": {"endpoints": []},
            "stored": {"endpoints": []},
            "pipelines": {},
            "indexes": {
                name: {
                    "error": {
                        "root_cause": [
                            {
                                "type": "index_not_found_exception",
                                "reason": f"no such index [{name}]",
                                "resource.type": "index_or_alias",
                                "resource.id": name,
                                "index_uuid": "_na_",
                                "index": name,
                            }
                        ],
                        "type": "index_not_found_exception",
                        "reason": f"no such index [{name}]",
                        "resource.type": "index_or_alias",
                        "resource.id": name,
                        "index_uuid": "_na_",
                        "index": name,
                    },
                    "status": 404,
                }
                for name in ("docs", "docs2")
            },
            "settings": {"persistent": {}, "transient": {}},
        }


def test_a_change_committed_before_a_dropped_connection_is_saved(tmp_path: Path) -> None:
    with running(tmp_path) as es:
        populate(es)
        es.post(
            "/_emulator/faults",
            json={"method": "PUT", "path": "/_inference/*", "action": "commit_then_drop"},
        ).raise_for_status()
        with pytest.raises(httpx.RemoteProtocolError):
            es.put("/_inference/text_embedding/f", json=hf_body(NOWHERE))
    with running(tmp_path) as es:
        ids = [e["inference_id"] for e in es.get("/_inference").json()["endpoints"]]
    assert ids == ["e", "f"]


def test_concurrent_changes_are_all_saved(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with running(tmp_path) as es:
        es.put("/_cluster/settings", json=SKIP_VALIDATION).raise_for_status()

        def create(worker: int) -> None:
            try:
                with httpx.Client(base_url=es.base_url, timeout=10) as client:
                    for n in range(15):
                        client.put(
                            f"/_inference/text_embedding/w{worker}-{n}", json=hf_body(NOWHERE)
                        ).raise_for_status()
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=create, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        live = observed(es)
    with running(tmp_path) as es:
        restarted = observed(es)
    assert errors == []
    assert len(restarted["endpoints"]["endpoints"]) == 90
    assert restarted == live


def test_a_change_that_cannot_be_saved_answers_500(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running(data_dir) as es:
        shutil.rmtree(data_dir)
        response = es.put("/_cluster/settings", json=SKIP_VALIDATION)
    assert (response.status_code, response.json()) == (500, {"error": "internal server error"})


# Files it refuses.


def valid_document(**changes: Any) -> bytes:
    endpoint = {
        "inference_id": "e",
        "service": "hugging_face",
        "task_type": "text_embedding",
        "service_settings": {"url": NOWHERE},
        "api_key": HF_KEY,
        "task_settings": {},
        "chunking_settings": None,
    }
    document: dict[str, Any] = {
        "format": 1,
        "es_version": "9.1.0",
        "cluster_uuid": "abc",
        "settings": {"persistent": {}},
        "pipelines": {},
        "indexes": {},
        "endpoints": [endpoint],
    }
    # `key=...` removes the key; `endpoint_<key>=` changes the endpoint's.
    for key, value in changes.items():
        target = endpoint if key.startswith("endpoint_") else document
        name = key.removeprefix("endpoint_")
        if value is ...:
            del target[name]
        else:
            target[name] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "it is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        (
            valid_document()[:40],
            "it is not valid JSON (Unterminated string starting at: line 1 column 38 (char 37))",
        ),
        (b"\xff\xfe{}", "it is not UTF-8 text (invalid start byte)"),
        (b"[]", "the document must be a JSON object"),
        (valid_document(format=...), "[format] is missing"),
        (valid_document(format=2), "unsupported format [2] (this emulator reads format 1)"),
        (valid_document(format="1"), 'unsupported format ["1"] (this emulator reads format 1)'),
        (valid_document(format=True), "unsupported format [true] (this emulator reads format 1)"),
        (valid_document(cluster_uuid=...), "[cluster_uuid] is missing"),
        (valid_document(endpoints={}), "[endpoints] must be a list"),
        (valid_document(endpoints=["e"]), "[endpoints][0] must be an object"),
        (valid_document(endpoint_api_key=...), "[endpoints][0][api_key] is missing"),
        (valid_document(endpoint_api_key=42), "[endpoints][0][api_key] must be a string"),
        (
            valid_document(endpoint_chunking_settings=[]),
            "[endpoints][0][chunking_settings] must be an object or null",
        ),
        (
            valid_document(endpoints=[json.loads(valid_document())["endpoints"][0]] * 2),
            "[endpoints][1] repeats [e]",
        ),
        (valid_document(pipelines={"p": []}), "[pipelines][p] must be an object"),
        (valid_document(indexes={"docs": {"uuid": "u"}}), "[indexes][docs][mappings] is missing"),
        (
            valid_document(settings={"persistent": {"x": True}}),
            "[settings][persistent][x] must be a string",
        ),
    ],
    ids=[
        "an empty file",
        "a truncated file",
        "a file that is not UTF-8",
        "a JSON array",
        "no format number",
        "a newer format",
        "a format that is a string",
        "a format that is a boolean",
        "no cluster uuid",
        "endpoints that are not a list",
        "an endpoint that is not an object",
        "an endpoint without its secret",
        "an endpoint whose secret is not a string",
        "chunking settings that are a list",
        "the same endpoint twice",
        "a pipeline that is not an object",
        "an index without mappings",
        "a setting that is not a string",
    ],
)
def test_a_bad_state_file_fails_construction_and_is_left_untouched(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = state_file(tmp_path)
    path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        ElasticsearchEmulator(data_dir=tmp_path)
    assert str(caught.value) == f"cannot load the emulator's state from {path}: {reason}"
    assert path.read_bytes() == content


def test_a_valid_hand_written_state_file_loads(tmp_path: Path) -> None:
    state_file(tmp_path).write_bytes(valid_document())
    with running(tmp_path) as es:
        assert es.get("/").json()["cluster_uuid"] == "abc"
        assert es.get("/_inference/e").json() == {
            "endpoints": [
                {
                    "inference_id": "e",
                    "task_type": "text_embedding",
                    "service": "hugging_face",
                    "service_settings": {"url": NOWHERE},
                }
            ]
        }


def test_a_state_path_that_is_a_directory_fails_construction(tmp_path: Path) -> None:
    state_file(tmp_path).mkdir()
    with pytest.raises(ValueError) as caught:
        ElasticsearchEmulator(data_dir=tmp_path)
    assert str(caught.value) == (
        f"cannot load the emulator's state from {state_file(tmp_path)}: Is a directory"
    )


def test_a_data_dir_that_cannot_be_created_fails_construction(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError) as caught:
        ElasticsearchEmulator(data_dir=tmp_path / "file" / "data")
    assert str(caught.value) == (
        f"cannot create the emulator's data directory {tmp_path / 'file' / 'data'}: Not a directory"
    )


# The command line.


def launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "emulators.commands", "emulator", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    return process.returncode, stderr


def test_the_emulator_command_keeps_its_state_across_two_runs_with_data_dir(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "emulator-data"
    with launch("--data-dir", str(data_dir)) as first:
        assert first.stdout is not None
        url = first.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=10) as es:
            es.put("/_cluster/settings", json=SKIP_VALIDATION).raise_for_status()
            created = es.put("/_inference/text_embedding/e", json=hf_body(NOWHERE)).json()
            uuid = es.get("/").json()["cluster_uuid"]
        assert stop(first) == (0, "")
    with launch("--data-dir", str(data_dir)) as second:
        assert second.stdout is not None
        url = second.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=10) as es:
            assert es.get("/").json()["cluster_uuid"] == uuid
            assert es.get("/_inference/e").json() == {"endpoints": [created]}
            assert es.get("/_cluster/settings", params={"flat_settings": "true"}).json() == {
                "persistent": {"xpack.inference.skip_validate_and_start": "true"},
                "transient": {},
            }
        assert stop(second) == (0, "")


def test_the_emulator_command_refuses_a_corrupt_state_file(tmp_path: Path) -> None:
    state_file(tmp_path).write_text("{")
    with launch("--data-dir", str(tmp_path)) as process:
        stdout, stderr = process.communicate(timeout=10)
    assert (process.returncode, stdout) == (2, "")
    assert stderr == (
        f"es-inference emulator: error: cannot load the emulator's state from"
        f" {state_file(tmp_path)}: it is not valid JSON (Expecting property name enclosed in"
        " double quotes: line 1 column 2 (char 1))\n"
    )


def test_the_emulator_help_documents_data_dir() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulators.commands", "emulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--data-dir DIR" in result.stdout
    assert "keep the cluster's state in DIR across restarts" in " ".join(result.stdout.split())


def test_errors_of_the_restored_cluster_use_elasticsearch_bodies(tmp_path: Path) -> None:
    with running(tmp_path) as es:
        populate(es)
    with running(tmp_path) as es:
        response = es.put("/_inference/text_embedding/e", json=hf_body(NOWHERE))
    assert error_of(response) == (
        400,
        "resource_already_exists_exception",
        "Inference endpoint [e] already exists",
    )
