"""Secret references are parsed, resolved and refused in one module, with one wording."""

from __future__ import annotations

import pytest

from providers.errors import ConnectionSettingsError, SecretNotSet
from providers.secret_references import SecretReference, parse_reference

WHERE = "stacks/dev.yaml: $.endpoints[0].service_settings.api_key"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"secret": "hfApiKey"}, SecretReference("secret", "hfApiKey")),
        ({"env": "HF_API_KEY"}, SecretReference("env", "HF_API_KEY")),
        ({"secret": "a", "env": "B"}, None),
        ({"vault": "x"}, None),
        ({"secret": 3}, None),
        ("hf_literal", None),
    ],
    ids=[
        "a config secret reference parses",
        "an environment reference parses",
        "two sources at once are no reference",
        "an unknown source is no reference",
        "a name must be a string",
        "a plain string is no reference",
    ],
)
def test_parse_reads_only_a_single_secret_or_env_key(
    raw: object, expected: SecretReference | None
) -> None:
    assert parse_reference(raw) == expected


def test_a_config_secret_resolves_by_its_full_key() -> None:
    config = {"proj:hfApiKey": "k1", "other:hfApiKey": "k2"}
    resolve = SecretReference("secret", "hfApiKey").resolve
    assert resolve(WHERE, config=config, env={}, project="proj") == "k1"
    other = SecretReference("secret", "other:hfApiKey")
    assert other.resolve(WHERE, config=config, env={}, project="proj") == "k2"


@pytest.mark.parametrize(
    ("reference", "config", "env", "message"),
    [
        (
            SecretReference("secret", "hfApiKey"),
            {"proj:hfApiKey": ""},
            {},
            f"{WHERE} refers to the Pulumi config secret 'proj:hfApiKey', which is not set; "
            "run: pulumi config set --secret proj:hfApiKey <value>",
        ),
        (
            SecretReference("env", "HF_API_KEY"),
            {},
            {"HF_API_KEY": ""},
            f"{WHERE} refers to the environment variable 'HF_API_KEY', which is not set",
        ),
    ],
    ids=["an empty config secret is not set", "an empty variable is not set"],
)
def test_a_reference_to_nothing_raises_one_error_with_one_wording(
    reference: SecretReference, config: dict[str, str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(SecretNotSet) as raised:
        reference.resolve(WHERE, config=config, env=env, project="proj")
    assert str(raised.value) == message
    assert isinstance(raised.value, ConnectionSettingsError)
