"""No credential ever leaves the provider except where the engine encrypts it (convention 6).

The Hugging Face keys and an Elasticsearch API key go through every lifecycle call of Pulumi's real
dynamic-provider host against an emulator that requires the API key; every error, check failure,
diff, line of stderr, serialized provider and Elasticsearch response body is searched for them.
Outputs keep the Hugging Face key under ``service_settings.api_key`` (Elasticsearch never returns
it), which is the one place the engine stores as a secret.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.runtime.proto import provider_pb2

from emulators.lab import HF_KEY, HF_KEY_ROTATED, Lab, lab_servers
from harness.provider_host import HostError, ProviderHost, serialized
from providers.connection import resolve_connection
from providers.inference_endpoint import InferenceEndpointProvider

PROJECT = Path(__file__).resolve().parents[2]
ES_KEY = "es_lab_APIKEY_5e6f7a8b9c"
ES_KEY_WRONG = "es_lab_WRONGKEY_0d1e2f"
HF_KEY_WRONG = "hf_lab_WRONG_1q2w3e4r"
PASSWORD = "pw_lab_PASSWORD_7h8i9j"
BEARER = "bt_lab_BEARER_3k4l5m"
KEYS = (HF_KEY, HF_KEY_ROTATED, HF_KEY_WRONG, ES_KEY, ES_KEY_WRONG, PASSWORD, BEARER)
FAST = {
    "ES_INFERENCE_RETRY_DEADLINE": "1.5",
    "ES_INFERENCE_RETRY_INITIAL_BACKOFF": "0.05",
    "ES_INFERENCE_RETRY_MAX_BACKOFF": "0.2",
    "ES_INFERENCE_RETRY_MAX_RETRY_AFTER": "0.2",
    "ES_INFERENCE_TIMEOUT": "2",
}
DIFF_NONE, DIFF_SOME = provider_pb2.DiffResponse.DIFF_NONE, provider_pb2.DiffResponse.DIFF_SOME


def _leaks(text: str) -> list[str]:
    return [key for key in KEYS if key in text]


def _paths_holding(value: Any, key: str, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths_holding(v, key, (*path, str(k)))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths_holding(v, key, (*path, str(i)))]
    return [path] if isinstance(value, str) and key in value else []


def _assert_key_only_under_api_key(outs: dict[str, Any], key: str) -> None:
    """The outputs hold ``key`` exactly at service_settings.api_key and hold no other key."""
    assert outs["service_settings"]["api_key"] == key
    assert _paths_holding(outs, key) == [("service_settings", "api_key")]
    others = [k for k in KEYS if k != key]
    assert [k for k in others if _paths_holding(outs, k)] == []
    assert _leaks(base64.b64decode(outs["__provider"]).decode("latin-1")) == []


class Watch:
    """Everything a user could see from one host: error details, failures, diffs and stderr."""

    def __init__(self, host: ProviderHost) -> None:
        self.host = host
        self.seen: list[str] = []
        self.stderr = ""

    def fails(self, call: str, *args: Any) -> str:
        """Call a host method that must raise; keep and return what the engine would show."""
        with pytest.raises(HostError) as raised:
            getattr(self.host, call)(*args)
        self.seen.append(raised.value.details)
        return raised.value.details


@contextmanager
def watching(env: dict[str, str], config: dict[str, str]) -> Iterator[Watch]:
    """A provider host; on exit nothing it showed, and nothing on its stderr, holds a key."""
    host = ProviderHost(str(PROJECT), env={**FAST, **env})
    watch = Watch(host)
    try:
        host.configure(config)
        yield watch
    finally:
        watch.stderr = host.close()
    assert [(_leaks(text), text) for text in watch.seen if _leaks(text)] == []
    assert _leaks(watch.stderr) == [], watch.stderr


@pytest.fixture
def secured_lab() -> Iterator[Lab]:
    """A lab whose emulator refuses requests without the Elasticsearch API key."""
    with lab_servers(api_key=ES_KEY) as running:
        running.es.headers["Authorization"] = f"ApiKey {ES_KEY}"
        yield running


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    path = tmp_path / "stacks" / "dev.yaml"
    path.parent.mkdir()
    path.write_text("endpoints: []\n", encoding="utf-8")
    return path


def _rerank(lab: Lab, provider: str, inference_id: str, key: str) -> dict[str, Any]:
    return {
        "__provider": provider,
        "inference_id": inference_id,
        "task_type": "rerank",
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": key},
        "task_settings": {"top_n": 3},
    }


def test_a_full_lifecycle_with_the_api_key_in_pulumi_config_shows_no_key_anywhere(
    secured_lab: Lab, stack_file: Path
) -> None:
    lab = secured_lab
    provider = serialized(
        InferenceEndpointProvider({"endpoints": [lab.es_url]}, stack_file=str(stack_file))
    )
    news = _rerank(lab, provider, "leak-rerank", HF_KEY)

    with watching({}, {"es-inference:apiKey": ES_KEY}) as watch:
        host = watch.host
        assert host.check({}, news)[1] == []
        broken = {
            **news,
            "service_settings": {
                "url": f"ftp://hf.test/rerank?api_key={HF_KEY}",
                "api_key": [HF_KEY],
                "x_extra": HF_KEY,
            },
            "task_settings": {"top_n": 0, "x_other": HF_KEY},
        }
        failures = host.check({}, broken)[1]
        assert len(failures) >= 3
        watch.seen += [f"{prop}: {reason}" for prop, reason in failures]

        id_, outs = host.create(news)
        _assert_key_only_under_api_key(outs, HF_KEY)
        assert host.diff(id_, outs, news).changes == DIFF_NONE

        in_place = {**news, "task_settings": {"top_n": 5, "return_documents": True}}
        diff = host.diff(id_, outs, in_place)
        assert (diff.changes, list(diff.replaces)) == (DIFF_SOME, [])
        outs = host.update(id_, outs, in_place)
        _assert_key_only_under_api_key(outs, HF_KEY)

        rotated = {
            **in_place,
            "service_settings": {**news["service_settings"], "api_key": HF_KEY_ROTATED},
        }
        diff = host.diff(id_, outs, rotated)
        assert diff.changes == DIFF_SOME and diff.deleteBeforeReplace
        assert [p.split(".")[0] for p in diff.replaces] == ["service_settings"]
        watch.seen.append(str(diff))
        host.delete(id_, outs)
        id_, outs = host.create(rotated)
        _assert_key_only_under_api_key(outs, HF_KEY_ROTATED)

        read_id, read_outs = host.read(id_, outs)
        assert read_id == id_
        _assert_key_only_under_api_key(read_outs, HF_KEY_ROTATED)

        # Hugging Face refuses a wrong key; Elasticsearch relays the 401.
        wrong = _rerank(lab, provider, "leak-wrong-key", HF_KEY_WRONG)
        assert "status [401]" in watch.fails("create", wrong)

        # An Elasticsearch error (or a proxy's) that quotes the Authorization header.
        lab.fault(
            method="PUT",
            path="/_inference/*/leak-rerank/_update",
            action="status",
            status=400,
            body={
                "error": {
                    "type": "illegal_argument_exception",
                    "reason": f"rejected header [Authorization: ApiKey {ES_KEY}]",
                },
                "status": 400,
            },
        )
        again = {**rotated, "task_settings": {"top_n": 7, "return_documents": True}}
        assert "[redacted]" in watch.fails("update", id_, outs, again)

        # The id exists with other settings: a conflict, named by field, never by value.
        other = {**_rerank(lab, provider, "leak-rerank", HF_KEY), "task_settings": {"top_n": 9}}
        assert "leak-rerank" in watch.fails("create", other)

        # Retried 503s succeed; a lost response is adopted (and gets this stack's key).
        lab.fault(
            method="PUT",
            path="/_inference/rerank/leak-retry",
            action="status",
            status=503,
            retry_after="0",
            times=2,
        )
        retry_id, retry_outs = host.create(_rerank(lab, provider, "leak-retry", HF_KEY))
        _assert_key_only_under_api_key(retry_outs, HF_KEY)
        lab.fault(method="PUT", path="/_inference/rerank/leak-adopted", action="commit_then_drop")
        adopted_id, adopted_outs = host.create(_rerank(lab, provider, "leak-adopted", HF_KEY))
        _assert_key_only_under_api_key(adopted_outs, HF_KEY)

        # 503 until the deadline: the error says it gave up, and nothing else.
        lab.fault(
            method="DELETE",
            path="/_inference/rerank/leak-retry",
            action="status",
            status=503,
            times=1000,
        )
        assert "gave up after" in watch.fails("delete", retry_id, retry_outs)
        lab.clear_faults()
        host.delete(retry_id, retry_outs)
        host.delete(adopted_id, adopted_outs)

        # A pipeline uses the endpoint: deleting it is refused.
        lab.put_pipeline("leak-pipeline", id_)
        assert "refused" in watch.fails("delete", id_, outs)
        lab.delete_pipeline("leak-pipeline")
        host.delete(id_, outs)
        gone_id, gone_outs = host.read(id_, outs)
        assert (gone_id, set(gone_outs) - {"__provider"}) == ("", set())
        assert lab.user_endpoint_ids() == []

    assert "retrying" in watch.stderr and "already existed" in watch.stderr


def test_the_api_key_from_the_environment_is_used_and_never_shown(
    secured_lab: Lab, stack_file: Path
) -> None:
    lab = secured_lab
    provider = serialized(
        InferenceEndpointProvider({"endpoints": [lab.es_url]}, stack_file=str(stack_file))
    )
    news = _rerank(lab, provider, "leak-env", HF_KEY)

    with watching({"ELASTICSEARCH_API_KEY": ES_KEY}, {}) as watch:
        id_, outs = watch.host.create(news)
        _assert_key_only_under_api_key(outs, HF_KEY)
        lab.fault(
            method="GET",
            path="/_inference/*",
            action="status",
            status=500,
            body={"error": {"type": "exception", "reason": f"echo ApiKey {ES_KEY}"}, "status": 500},
            times=10,
        )
        assert "[redacted]" in watch.fails("read", id_, outs)
        lab.clear_faults()
        watch.host.delete(id_, outs)
    assert lab.user_endpoint_ids() == []


def test_a_rejected_elasticsearch_api_key_is_not_echoed(secured_lab: Lab, stack_file: Path) -> None:
    lab = secured_lab
    provider = serialized(
        InferenceEndpointProvider({"endpoints": [lab.es_url]}, stack_file=str(stack_file))
    )

    with watching({"ELASTICSEARCH_API_KEY": ES_KEY_WRONG}, {}) as watch:
        details = watch.fails("create", _rerank(lab, provider, "leak-denied", HF_KEY))

    assert "401 security_exception" in details
    assert lab.user_endpoint_ids() == []


def test_a_model_service_quoting_the_api_key_in_its_error_does_not_leak_it_through_elasticsearch(
    secured_lab: Lab, stack_file: Path
) -> None:
    lab = secured_lab
    provider = serialized(
        InferenceEndpointProvider({"endpoints": [lab.es_url]}, stack_file=str(stack_file))
    )
    # Elasticsearch relays the service's error text ("Error message: [...]") verbatim.
    lab.hf_fault(
        method="POST",
        path="/rerank",
        action="status",
        status=401,
        body={"error": f"Authorization failed for token {HF_KEY}"},
    )

    with watching({}, {"es-inference:apiKey": ES_KEY}) as watch:
        details = watch.fails("create", _rerank(lab, provider, "leak-echoed", HF_KEY))

    assert "status [401]" in details


@pytest.mark.parametrize(
    ("config", "env", "declared"),
    [
        ({"es-inference:apiKey": ES_KEY}, {}, {}),
        ({}, {"ELASTICSEARCH_API_KEY": ES_KEY}, {}),
        ({}, {"MY_ES_KEY": ES_KEY}, {"api_key": {"env": "MY_ES_KEY"}}),
        ({"es-inference:esKey": ES_KEY}, {}, {"api_key": {"secret": "esKey"}}),
        ({"es-inference:bearerToken": BEARER}, {}, {}),
        ({"es-inference:username": "elastic", "es-inference:password": PASSWORD}, {}, {}),
        ({}, {"ELASTICSEARCH_USERNAME": "elastic", "ELASTICSEARCH_PASSWORD": PASSWORD}, {}),
    ],
    ids=[
        "an API key from Pulumi config",
        "an API key from ELASTICSEARCH_API_KEY",
        "an API key from a stack file env reference",
        "an API key from a stack file secret reference",
        "a bearer token from Pulumi config",
        "a password from Pulumi config",
        "a password from the environment",
    ],
)
def test_connection_settings_show_no_credential_in_repr_or_str(
    config: dict[str, str], env: dict[str, str], declared: dict[str, Any]
) -> None:
    settings = resolve_connection(
        {"endpoints": ["http://127.0.0.1:9200"], **declared},
        config=config,
        env=env,
        project="es-inference",
        stack_file="stacks/dev.yaml",
    )

    assert len(settings.secrets()) == 1
    assert _leaks(repr(settings)) == []
    assert _leaks(str(settings)) == []
    assert _leaks(repr(settings.retry)) == []


def test_the_serialized_provider_holds_no_credential_even_after_configure(
    stack_file: Path,
) -> None:
    provider = InferenceEndpointProvider(
        {"endpoints": ["http://127.0.0.1:9200"], "api_key": {"secret": "esKey"}},
        stack_file=str(stack_file),
    )
    config = {"es-inference:esKey": ES_KEY, "es-inference:password": PASSWORD, "hf": HF_KEY}
    provider.configure(ConfigureRequest(Config(config, "es-inference")))

    blob = base64.b64decode(serialized(provider)).decode("latin-1")

    assert "esKey" in blob and str(stack_file) in blob
    assert _leaks(blob) == []


def test_elasticsearch_responses_never_carry_the_api_key(secured_lab: Lab) -> None:
    lab = secured_lab
    body: dict[str, Any] = {
        "service": "hugging_face",
        "service_settings": {"url": f"{lab.hf_url}/rerank", "api_key": HF_KEY},
        "task_settings": {"top_n": 3},
    }
    responses: list[httpx.Response] = [
        lab.es.put("/_inference/rerank/leak-direct", json=body),
        lab.es.get("/_inference/rerank/leak-direct"),
        lab.es.get("/_inference/leak-direct"),
        lab.es.put(
            "/_inference/rerank/leak-direct/_update",
            json={"service_settings": {"api_key": HF_KEY_ROTATED}},
        ),
        lab.es.get("/_inference/_all"),
        lab.es.get("/_inference"),
        lab.es.put(
            "/_inference/rerank/leak-refused",
            json={
                **body,
                "service_settings": {**body["service_settings"], "api_key": HF_KEY_WRONG},
            },
        ),
        lab.es.put("/_inference/rerank/leak-direct", json=body),
        lab.es.get("/_emulator/endpoints/leak-direct"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 200, 400, 400, 200]
    assert [(r.request.url.path, _leaks(r.text)) for r in responses if _leaks(r.text)] == []
    assert "leak-direct" in responses[4].text
