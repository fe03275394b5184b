"""Connection settings: precedence config > stack file > environment, references, and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import pytest

from providers.connection import (
    ConnectionSettings,
    RememberedConnection,
    RetryPolicy,
    resolve_connection,
)
from providers.errors import ConnectionSettingsError

STACK = "stacks/dev.yaml"
FP_A = "aa" * 32
FP_B = "bb" * 32
FP_C = "cc" * 32


def resolve(
    declared: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> ConnectionSettings:
    return resolve_connection(
        declared or {}, config=config or {}, env=env or {}, project="proj", stack_file=STACK
    )


def refused(
    declared: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    with pytest.raises(ConnectionSettingsError) as caught:
        resolve(declared, config, env)
    return str(caught.value)


@dataclass
class Source:
    """One setting as each source spells it, plus what each source resolves to."""

    attribute: str
    config: dict[str, Any]
    stack: dict[str, Any]
    env: dict[str, str]
    expected: tuple[Any, Any, Any]  # from config, from the stack file, from the environment
    support_config: dict[str, Any] = field(default_factory=dict)
    support_env: dict[str, str] = field(default_factory=dict)


SOURCES = [
    Source(
        "endpoints",
        {"es-inference:endpoints": "https://config:9200"},
        {"endpoints": ["https://stack:9200/"]},
        {"ELASTICSEARCH_ENDPOINTS": "https://env:9200"},
        (("https://config:9200",), ("https://stack:9200",), ("https://env:9200",)),
    ),
    Source(
        "api_key",
        {"es-inference:apiKey": "key-config"},
        {"api_key": {"secret": "stackApiKey"}},
        {"ELASTICSEARCH_API_KEY": "key-env"},
        ("key-config", "key-stack", "key-env"),
        support_config={"proj:stackApiKey": "key-stack"},
    ),
    Source(
        "bearer_token",
        {"es-inference:bearerToken": "bearer-config"},
        {"bearer_token": {"env": "STACK_BEARER"}},
        {"ELASTICSEARCH_BEARER_TOKEN": "bearer-env"},
        ("bearer-config", "bearer-stack", "bearer-env"),
        support_env={"STACK_BEARER": "bearer-stack"},
    ),
    Source(
        "username",
        {"es-inference:username": "user-config"},
        {"username": "user-stack"},
        {"ELASTICSEARCH_USERNAME": "user-env"},
        ("user-config", "user-stack", "user-env"),
        support_env={"ELASTICSEARCH_PASSWORD": "pw"},
    ),
    Source(
        "password",
        {"es-inference:password": "pw-config"},
        {"password": {"env": "STACK_PW"}},
        {"ELASTICSEARCH_PASSWORD": "pw-env"},
        ("pw-config", "pw-stack", "pw-env"),
        support_env={"STACK_PW": "pw-stack"},
    ),
    Source(
        "ca_file",
        {"es-inference:caFile": "/config/ca.pem"},
        {"ca_file": "/stack/ca.pem"},
        {"ELASTICSEARCH_CA_FILE": "/env/ca.pem"},
        ("/config/ca.pem", "/stack/ca.pem", "/env/ca.pem"),
    ),
    Source(
        "ca_fingerprint",
        {"es-inference:caFingerprint": ":".join(["AA"] * 32)},
        {"ca_fingerprint": FP_B},
        {"ELASTICSEARCH_CA_FINGERPRINT": FP_C.upper()},
        (FP_A, FP_B, FP_C),
    ),
    Source(
        "insecure",
        {"es-inference:insecure": "true"},
        {"insecure": False},
        {"ELASTICSEARCH_INSECURE": "yes"},
        (True, False, True),
    ),
    Source(
        "timeout",
        {"es-inference:timeout": "5"},
        {"timeout": 7},
        {"ES_INFERENCE_TIMEOUT": "9.5"},
        (5.0, 7.0, 9.5),
    ),
    Source(
        "retry.deadline",
        {"es-inference:retryDeadline": "1"},
        {"retry": {"deadline": 2}},
        {"ES_INFERENCE_RETRY_DEADLINE": "3"},
        (1.0, 2.0, 3.0),
    ),
    Source(
        "retry.initial_backoff",
        {"es-inference:retryInitialBackoff": "0.1"},
        {"retry": {"initial_backoff": 0.2}},
        {"ES_INFERENCE_RETRY_INITIAL_BACKOFF": "0.3"},
        (0.1, 0.2, 0.3),
    ),
    Source(
        "retry.max_backoff",
        {"es-inference:retryMaxBackoff": "4"},
        {"retry": {"max_backoff": 5}},
        {"ES_INFERENCE_RETRY_MAX_BACKOFF": "6"},
        (4.0, 5.0, 6.0),
    ),
    Source(
        "retry.max_retry_after",
        {"es-inference:retryMaxRetryAfter": "7"},
        {"retry": {"max_retry_after": 8}},
        {"ES_INFERENCE_RETRY_MAX_RETRY_AFTER": "9"},
        (7.0, 8.0, 9.0),
    ),
]


def _base(source: Source) -> dict[str, Any]:
    return {} if source.attribute == "endpoints" else {"endpoints": ["https://base:9200"]}


@pytest.mark.parametrize(
    "source", SOURCES, ids=[f"Pulumi config wins for {s.attribute}" for s in SOURCES]
)
def test_pulumi_config_wins_over_the_stack_file_and_the_environment(source: Source) -> None:
    settings = resolve(
        {**_base(source), **source.stack},
        {**source.support_config, **source.config},
        {**source.support_env, **source.env},
    )
    assert attrgetter(source.attribute)(settings) == source.expected[0]


@pytest.mark.parametrize(
    "source",
    SOURCES,
    ids=[f"the stack file wins over the environment for {s.attribute}" for s in SOURCES],
)
def test_the_stack_file_wins_over_the_environment(source: Source) -> None:
    settings = resolve(
        {**_base(source), **source.stack},
        source.support_config,
        {**source.support_env, **source.env},
    )
    assert attrgetter(source.attribute)(settings) == source.expected[1]


@pytest.mark.parametrize(
    "source", SOURCES, ids=[f"the environment alone sets {s.attribute}" for s in SOURCES]
)
def test_the_environment_is_the_fallback(source: Source) -> None:
    settings = resolve(_base(source), {}, {**source.support_env, **source.env})
    assert attrgetter(source.attribute)(settings) == source.expected[2]


def test_an_empty_value_counts_as_not_set_and_falls_through() -> None:
    settings = resolve(
        {"endpoints": ["https://stack:9200"]},
        {"es-inference:endpoints": "", "es-inference:timeout": ""},
        {"ES_INFERENCE_TIMEOUT": "3", "ELASTICSEARCH_API_KEY": ""},
    )
    assert (settings.endpoints, settings.timeout, settings.api_key) == (
        ("https://stack:9200",),
        3.0,
        None,
    )


def test_the_defaults_apply_when_no_source_sets_a_value() -> None:
    settings = resolve({"endpoints": ["http://127.0.0.1:9200"]})
    assert settings == ConnectionSettings(
        endpoints=("http://127.0.0.1:9200",),
        timeout=60.0,
        retry=RetryPolicy(
            deadline=120.0, initial_backoff=0.5, max_backoff=10.0, max_retry_after=30.0
        ),
        origin="stacks/dev.yaml: elasticsearch.endpoints",
    )


@pytest.mark.parametrize(
    ("declared", "config", "env", "origin"),
    [
        ({}, {"es-inference:endpoints": "http://c"}, {}, "Pulumi config es-inference:endpoints"),
        ({"endpoints": ["http://s"]}, {}, {}, "stacks/dev.yaml: elasticsearch.endpoints"),
        ({}, {}, {"ELASTICSEARCH_ENDPOINTS": "http://e"}, "ELASTICSEARCH_ENDPOINTS"),
    ],
    ids=[
        "the origin names the Pulumi config key",
        "the origin names the stack file",
        "the origin names the variable",
    ],
)
def test_the_settings_say_where_the_endpoints_came_from(
    declared: dict[str, Any], config: dict[str, Any], env: dict[str, str], origin: str
) -> None:
    assert resolve(declared, config, env).origin == origin


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://a:9200, https://b:9200/", ("http://a:9200", "https://b:9200")),
        ("http://a:9200,,https://b:9200", ("http://a:9200", "https://b:9200")),
        ('["http://a:9200", "https://b:9200/"]', ("http://a:9200", "https://b:9200")),
        (' ["http://a:9200"] ', ("http://a:9200",)),
    ],
    ids=[
        "a comma list with spaces and a trailing slash",
        "a comma list with an empty item",
        "a JSON list",
        "a JSON list with surrounding blanks",
    ],
)
def test_elasticsearch_endpoints_is_a_comma_list_or_a_json_list(
    value: str, expected: tuple[str, ...]
) -> None:
    assert resolve(env={"ELASTICSEARCH_ENDPOINTS": value}).endpoints == expected


def test_the_endpoints_config_may_be_a_json_list_too() -> None:
    config = {"es-inference:endpoints": '["https://a:9200", "https://b:9200"]'}
    assert resolve(config=config).endpoints == ("https://a:9200", "https://b:9200")


@pytest.mark.parametrize(
    ("reference", "config", "expected"),
    [
        ({"secret": "esApiKey"}, {"proj:esApiKey": "k1"}, "k1"),
        ({"secret": "other:esApiKey"}, {"other:esApiKey": "k2"}, "k2"),
    ],
    ids=[
        "a bare key is read from the project's namespace",
        "a namespaced key is read as written",
    ],
)
def test_a_secret_reference_is_resolved_from_pulumi_config(
    reference: dict[str, str], config: dict[str, Any], expected: str
) -> None:
    settings = resolve({"endpoints": ["http://s"], "api_key": reference}, config)
    assert settings.api_key == expected


def test_an_env_reference_is_resolved_from_the_environment() -> None:
    settings = resolve(
        {"endpoints": ["http://s"], "password": {"env": "ES_PW"}, "username": "u"},
        env={"ES_PW": "pw1"},
    )
    assert (settings.username, settings.password) == ("u", "pw1")


@pytest.mark.parametrize(
    ("declared", "config", "env", "message"),
    [
        (
            {"api_key": {"secret": "esApiKey"}},
            {},
            {},
            "stacks/dev.yaml: elasticsearch.api_key refers to the Pulumi config secret "
            "'proj:esApiKey', which is not set; run: pulumi config set --secret proj:esApiKey <value>",
        ),
        (
            {"api_key": {"secret": "esApiKey"}},
            {"esApiKey": "k1", "other:esApiKey": "k2"},
            {},
            "stacks/dev.yaml: elasticsearch.api_key refers to the Pulumi config secret "
            "'proj:esApiKey', which is not set; run: pulumi config set --secret proj:esApiKey <value>",
        ),
        (
            {"bearer_token": {"secret": "ops:token"}},
            {"ops:token": ""},
            {},
            "stacks/dev.yaml: elasticsearch.bearer_token refers to the Pulumi config secret "
            "'ops:token', which is not set; run: pulumi config set --secret ops:token <value>",
        ),
        (
            {"password": {"env": "ES_PW"}, "username": "elastic"},
            {},
            {},
            "stacks/dev.yaml: elasticsearch.password refers to the environment variable 'ES_PW', "
            "which is not set",
        ),
        (
            {"password": {"env": "ES_PW"}, "username": "elastic"},
            {},
            {"ES_PW": ""},
            "stacks/dev.yaml: elasticsearch.password refers to the environment variable 'ES_PW', "
            "which is not set",
        ),
    ],
    ids=[
        "a missing config secret says how to set it",
        "a key outside the project's namespace does not count",
        "an empty config secret counts as not set",
        "a missing variable is named",
        "an empty variable counts as not set",
    ],
)
def test_a_reference_to_nothing_is_an_exact_error(
    declared: dict[str, Any], config: dict[str, Any], env: dict[str, str], message: str
) -> None:
    assert refused({"endpoints": ["http://s"], **declared}, config, env) == message


@pytest.mark.parametrize(
    ("declared", "config", "env", "origin"),
    [
        ({"username": "elastic"}, {}, {}, "stacks/dev.yaml: elasticsearch.username"),
        ({}, {"es-inference:username": "elastic"}, {}, "Pulumi config es-inference:username"),
        ({}, {}, {"ELASTICSEARCH_USERNAME": "elastic"}, "ELASTICSEARCH_USERNAME"),
    ],
    ids=[
        "a username from the stack file needs a password",
        "a username from Pulumi config needs a password",
        "a username from the environment needs a password",
    ],
)
def test_a_username_without_a_password_is_refused(
    declared: dict[str, Any], config: dict[str, Any], env: dict[str, str], origin: str
) -> None:
    message = refused({"endpoints": ["http://s"], **declared}, config, env)
    assert message == f"a username comes from {origin} but no password is configured"


ES = {"endpoints": ["http://s"]}
ERRORS = [
    (
        "no endpoint anywhere",
        {},
        {},
        {},
        "no Elasticsearch endpoint is configured: set elasticsearch.endpoints in stacks/dev.yaml, "
        "run `pulumi config set es-inference:endpoints https://host:9200`, or export "
        "ELASTICSEARCH_ENDPOINTS",
    ),
    (
        "an ftp endpoint",
        {},
        {},
        {"ELASTICSEARCH_ENDPOINTS": "http://ok:9200,ftp://es:21"},
        "ELASTICSEARCH_ENDPOINTS: 'ftp://es:21' is not an http:// or https:// URL",
    ),
    (
        "an endpoint without a scheme",
        {},
        {"es-inference:endpoints": "es.internal:9200"},
        {},
        "Pulumi config es-inference:endpoints: 'es.internal:9200' is not an http:// or https:// URL",
    ),
    (
        "a broken JSON list",
        {},
        {},
        {"ELASTICSEARCH_ENDPOINTS": '["http://a:9200"'},
        "ELASTICSEARCH_ENDPOINTS: not a JSON list of URLs",
    ),
    (
        "an empty JSON list",
        {},
        {},
        {"ELASTICSEARCH_ENDPOINTS": "[]"},
        "ELASTICSEARCH_ENDPOINTS: must list at least one http(s) URL",
    ),
    (
        "a list of commas",
        {},
        {},
        {"ELASTICSEARCH_ENDPOINTS": " , "},
        "ELASTICSEARCH_ENDPOINTS: must list at least one http(s) URL",
    ),
    (
        "an insecure flag that is no boolean",
        ES,
        {},
        {"ELASTICSEARCH_INSECURE": "maybe"},
        "ELASTICSEARCH_INSECURE: must be true or false",
    ),
    (
        "an insecure flag in the stack file that is no boolean",
        {**ES, "insecure": "sometimes"},
        {},
        {},
        "stacks/dev.yaml: elasticsearch.insecure: must be true or false",
    ),
    (
        "a short fingerprint",
        ES,
        {},
        {"ELASTICSEARCH_CA_FINGERPRINT": "ab:cd"},
        "ELASTICSEARCH_CA_FINGERPRINT: must be a SHA-256 fingerprint (64 hex digits)",
    ),
    (
        "a fingerprint that is not hex",
        ES,
        {"es-inference:caFingerprint": "zz" * 32},
        {},
        "Pulumi config es-inference:caFingerprint: must be a SHA-256 fingerprint (64 hex digits)",
    ),
    (
        "a SHA-1 fingerprint",
        {**ES, "ca_fingerprint": "ab" * 20},
        {},
        {},
        "stacks/dev.yaml: elasticsearch.ca_fingerprint: must be a SHA-256 fingerprint (64 hex digits)",
    ),
    (
        "a timeout that is not a number",
        ES,
        {},
        {"ES_INFERENCE_TIMEOUT": "30s"},
        "ES_INFERENCE_TIMEOUT: must be a number of seconds",
    ),
    (
        "a zero timeout",
        {**ES, "timeout": 0},
        {},
        {},
        "stacks/dev.yaml: elasticsearch.timeout: must be > 0",
    ),
    (
        "a negative timeout",
        ES,
        {"es-inference:timeout": "-1"},
        {},
        "Pulumi config es-inference:timeout: must be > 0",
    ),
    (
        "a negative retry deadline",
        ES,
        {},
        {"ES_INFERENCE_RETRY_DEADLINE": "-1"},
        "ES_INFERENCE_RETRY_DEADLINE: must be >= 0",
    ),
    (
        "a zero initial backoff",
        {**ES, "retry": {"initial_backoff": 0}},
        {},
        {},
        "stacks/dev.yaml: elasticsearch.retry.initial_backoff: must be > 0",
    ),
    (
        "a max_retry_after that is not a number",
        ES,
        {"es-inference:retryMaxRetryAfter": "soon"},
        {},
        "Pulumi config es-inference:retryMaxRetryAfter: must be a number of seconds",
    ),
]


@pytest.mark.parametrize(
    ("declared", "config", "env", "message"),
    [e[1:] for e in ERRORS],
    ids=[f"{e[0]} is a ConnectionSettingsError" for e in ERRORS],
)
def test_bad_settings_are_refused_with_the_full_message(
    declared: dict[str, Any], config: dict[str, Any], env: dict[str, str], message: str
) -> None:
    assert refused(declared, config, env) == message


BOOLEANS = [
    ("1", True),
    ("true", True),
    ("TRUE", True),
    ("yes", True),
    ("on", True),
    ("0", False),
    ("false", False),
    ("no", False),
    ("Off", False),
]


@pytest.mark.parametrize(
    ("value", "expected"), BOOLEANS, ids=[f"insecure={v!r} reads as {e}" for v, e in BOOLEANS]
)
def test_insecure_accepts_the_usual_spellings_of_a_boolean(value: str, expected: bool) -> None:
    settings = resolve({"endpoints": ["https://s"]}, env={"ELASTICSEARCH_INSECURE": value})
    assert settings.insecure is expected


def test_a_zero_retry_deadline_is_allowed_and_means_one_attempt() -> None:
    settings = resolve({"endpoints": ["http://s"], "retry": {"deadline": 0}})
    assert settings.retry.deadline == 0.0


def test_the_repr_of_settings_never_shows_a_secret() -> None:
    settings = resolve(
        {
            "endpoints": ["https://s"],
            "api_key": {"secret": "esApiKey"},
            "username": "elastic",
            "password": {"env": "ES_PW"},
        },
        {"proj:esApiKey": "API-KEY-SECRET-1", "es-inference:bearerToken": "BEARER-SECRET-2"},
        {"ES_PW": "PASSWORD-SECRET-3"},
    )
    shown = repr(settings) + str(settings)
    for secret in ("API-KEY-SECRET-1", "BEARER-SECRET-2", "PASSWORD-SECRET-3"):
        assert secret not in shown
    assert "elastic" in shown


def test_secrets_lists_every_credential_value() -> None:
    settings = ConnectionSettings(
        endpoints=("https://s",), api_key="a", bearer_token="b", username="u", password="p"
    )
    assert settings.secrets() == ["a", "b", "p"]
    assert ConnectionSettings(endpoints=("https://s",), username="u").secrets() == []


def _remembered(
    memo: RememberedConnection,
    declared: dict[str, Any],
    config: dict[str, Any],
    env: dict[str, str],
) -> ConnectionSettings:
    return memo.resolve(declared, config=config, env=env, project="proj", stack_file=STACK)


def test_a_remembered_connection_is_resolved_again_when_a_variable_it_read_changes() -> None:
    memo = RememberedConnection()
    declared: dict[str, Any] = {"api_key": {"env": "TEAM_KEY"}}
    config: dict[str, Any] = {}
    env = {"ELASTICSEARCH_ENDPOINTS": "https://env:9200", "TEAM_KEY": "k1", "UNRELATED": "a"}
    first = _remembered(memo, declared, config, env)
    assert first.api_key == "k1"
    env["UNRELATED"] = "b"  # never read: the same settings
    assert _remembered(memo, declared, config, env) is first
    env["TEAM_KEY"] = "k2"  # a reference's variable, rotated
    assert _remembered(memo, declared, config, env).api_key == "k2"
    env["ELASTICSEARCH_ENDPOINTS"] = "https://moved:9200"
    assert _remembered(memo, declared, config, env).endpoints == ("https://moved:9200",)
    env["ELASTICSEARCH_BEARER_TOKEN"] = "t"  # read (and absent) before: now it is set
    assert _remembered(memo, declared, config, env).bearer_token == "t"
    env["ES_INFERENCE_TIMEOUT"] = "5"
    assert _remembered(memo, declared, config, env).timeout == 5.0
    assert _remembered(memo, declared, config, env) == resolve(declared, config, env)


def test_a_remembered_connection_follows_new_config_and_keeps_no_failure() -> None:
    memo = RememberedConnection()
    declared: dict[str, Any] = {"endpoints": ["https://stack:9200"]}
    env: dict[str, str] = {}
    first = _remembered(memo, declared, {}, env)
    rotated = {"es-inference:apiKey": "from-config"}
    assert _remembered(memo, declared, rotated, env).api_key == "from-config"
    assert first.api_key is None

    nowhere: dict[str, Any] = {}
    with pytest.raises(ConnectionSettingsError, match="no Elasticsearch endpoint"):
        _remembered(memo, nowhere, {}, env)
    env["ELASTICSEARCH_ENDPOINTS"] = "https://env:9200"
    assert _remembered(memo, nowhere, {}, env).endpoints == ("https://env:9200",)
