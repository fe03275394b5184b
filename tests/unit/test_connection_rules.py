"""Connection settings a hostile or careless environment gives: contradictory TLS, absurd numbers.

Issue 14 rows 5, 6 and 12: an explicit certificate pin is never weakened by a stray variable,
contradictory TLS settings are an error naming both sources, a pin on plain HTTP is an error, and a
non-finite or absurd number of seconds is refused naming the setting, from every source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers.connection import SECONDS_BOUNDS, resolve_connection
from providers.errors import ConnectionSettingsError

STACK = "stacks/dev.yaml"
FP = "ab" * 32
HTTPS = {"endpoints": ["https://es.example.test:9200"]}
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "stack.schema.json"


def refused(
    declared: dict[str, Any],
    config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    with pytest.raises(ConnectionSettingsError) as caught:
        resolve_connection(
            declared, config=config or {}, env=env or {}, project="proj", stack_file=STACK
        )
    return str(caught.value)


def test_insecure_left_in_the_shell_does_not_switch_off_the_stack_files_pin() -> None:
    message = refused({**HTTPS, "ca_fingerprint": FP}, env={"ELASTICSEARCH_INSECURE": "true"})

    assert message == (
        "ELASTICSEARCH_INSECURE turns TLS verification off, but stacks/dev.yaml: "
        "elasticsearch.ca_fingerprint pins the cluster's certificate; a pin is never switched off "
        "silently: unset ELASTICSEARCH_INSECURE or remove ca_fingerprint"
    )


def test_insecure_and_a_ca_file_in_the_same_stack_file_contradict_each_other() -> None:
    message = refused({**HTTPS, "ca_file": "ca.pem", "insecure": True})

    assert message == (
        "stacks/dev.yaml: elasticsearch.insecure turns TLS verification off, but stacks/dev.yaml: "
        "elasticsearch.ca_file pins the cluster's certificate; a pin is never switched off "
        "silently: unset stacks/dev.yaml: elasticsearch.insecure or remove ca_file"
    )


def test_insecure_false_beside_a_pin_is_fine() -> None:
    settings = resolve_connection(
        {**HTTPS, "ca_fingerprint": FP},
        config={},
        env={"ELASTICSEARCH_INSECURE": "false"},
        project="proj",
    )
    assert settings.ca_fingerprint == FP and not settings.insecure


def test_a_ca_file_and_a_fingerprint_together_are_refused_instead_of_one_being_ignored() -> None:
    message = refused(
        {**HTTPS, "ca_fingerprint": FP}, config={"es-inference:caFile": "/etc/es/ca.pem"}
    )

    assert message == (
        "stacks/dev.yaml: elasticsearch.ca_fingerprint and Pulumi config es-inference:caFile both "
        "say which certificate to trust; give ca_fingerprint or ca_file, not both"
    )


@pytest.mark.parametrize(
    ("pin", "origin"),
    [
        ({"ca_fingerprint": FP}, "stacks/dev.yaml: elasticsearch.ca_fingerprint"),
        ({"ca_file": "ca.pem"}, "stacks/dev.yaml: elasticsearch.ca_file"),
    ],
    ids=["a fingerprint", "a CA file"],
)
def test_a_pin_on_a_plain_http_endpoint_is_an_error(pin: dict[str, str], origin: str) -> None:
    message = refused({"endpoints": ["https://a:9200", "http://b:9200"], **pin})

    assert message == (
        f"{origin} pins a TLS certificate, but http://b:9200 (from stacks/dev.yaml: "
        "elasticsearch.endpoints) is plain HTTP, where no certificate is presented and the "
        "traffic is not encrypted: use https://, or remove the pin"
    )


# (setting, Pulumi config key, environment variable, stack-file block)
SECONDS = [
    ("timeout", "es-inference:timeout", "ES_INFERENCE_TIMEOUT", lambda v: {"timeout": v}),
    (
        "deadline",
        "es-inference:retryDeadline",
        "ES_INFERENCE_RETRY_DEADLINE",
        lambda v: {"retry": {"deadline": v}},
    ),
    (
        "initial_backoff",
        "es-inference:retryInitialBackoff",
        "ES_INFERENCE_RETRY_INITIAL_BACKOFF",
        lambda v: {"retry": {"initial_backoff": v}},
    ),
    (
        "max_backoff",
        "es-inference:retryMaxBackoff",
        "ES_INFERENCE_RETRY_MAX_BACKOFF",
        lambda v: {"retry": {"max_backoff": v}},
    ),
    (
        "max_retry_after",
        "es-inference:retryMaxRetryAfter",
        "ES_INFERENCE_RETRY_MAX_RETRY_AFTER",
        lambda v: {"retry": {"max_retry_after": v}},
    ),
]


@pytest.mark.parametrize(
    ("setting", "config_key", "env_var", "block"), SECONDS, ids=[s[0] for s in SECONDS]
)
@pytest.mark.parametrize("text", ["nan", "inf", "1e309", "-inf", "Infinity"])
def test_a_non_finite_number_of_seconds_is_refused_naming_the_setting_in_env_and_config(
    setting: str, config_key: str, env_var: str, block: Any, text: str
) -> None:
    most = SECONDS_BOUNDS[setting][1]
    shown = str(float(text))
    cases: tuple[tuple[dict[str, Any], dict[str, Any], dict[str, str], str], ...] = (
        ({}, {}, {env_var: text}, env_var),
        ({}, {config_key: text}, {}, f"Pulumi config {config_key}"),
    )
    for declared, config, env, where in cases:
        message = refused({**HTTPS, **declared}, config, env)
        assert message == (
            f"{where}: must be a finite number of seconds, not {shown} (at most {most:g})"
        )


@pytest.mark.parametrize(
    ("setting", "config_key", "env_var", "block"), SECONDS, ids=[s[0] for s in SECONDS]
)
def test_a_non_finite_or_absurd_number_in_the_stack_file_block_is_refused(
    setting: str, config_key: str, env_var: str, block: Any
) -> None:
    most = SECONDS_BOUNDS[setting][1]
    path = "retry." + setting if setting != "timeout" else "timeout"
    where = f"stacks/dev.yaml: elasticsearch.{path}"
    assert refused({**HTTPS, **block(float("nan"))}) == (
        f"{where}: must be a finite number of seconds, not nan (at most {most:g})"
    )
    assert refused({**HTTPS, **block(10**400)}) == f"{where}: must be at most {most:g} seconds"
    assert refused({**HTTPS, **block(most * 10)}) == (
        f"{where}: must be at most {most:g} seconds (got {most * 10:g})"
    )
    assert refused({**HTTPS, **block(True)}) == f"{where}: must be a number of seconds, not True"


def test_the_stack_schema_states_the_same_bounds_as_the_resolver() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    block = schema["properties"]["elasticsearch"]["properties"]
    declared = {"timeout": block["timeout"], **block["retry"]["properties"]}
    for setting, (allow_zero, most) in SECONDS_BOUNDS.items():
        rule = declared[setting]
        assert rule["maximum"] == most, setting
        assert ("minimum" in rule) is allow_zero, setting


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            {"endpoints": ["http://127.0.0.1:9200"], "ca_fingerprint": FP},
            [
                "$.elasticsearch.endpoints[0]: is plain http://, where ca_fingerprint cannot "
                "apply (no certificate is presented and the traffic is not encrypted): use "
                "https://, or remove the pin"
            ],
        ),
        (
            {**HTTPS, "ca_file": "ca.pem", "insecure": True},
            ["$.elasticsearch.insecure: true would switch off the ca_file pin; remove one of them"],
        ),
        (
            {**HTTPS, "ca_file": "ca.pem", "ca_fingerprint": FP},
            ["$.elasticsearch.ca_file: give ca_fingerprint or ca_file, not both"],
        ),
        ({**HTTPS, "ca_file": "ca.pem", "insecure": False}, []),
    ],
    ids=["a pin on http", "insecure beside a pin", "two pins", "insecure false beside a pin"],
)
def test_validate_finds_contradictory_tls_in_the_stack_file_offline(
    tmp_path: Path, block: dict[str, Any], expected: list[str]
) -> None:
    from providers.stack import stack_problems

    path = tmp_path / "dev.yaml"
    path.write_text(json.dumps({"elasticsearch": block, "endpoints": []}))
    assert [str(p) for p in stack_problems(path)] == expected
