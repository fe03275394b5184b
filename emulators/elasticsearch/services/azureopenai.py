"""The `azureopenai` inference service (text_embedding, completion, chat_completion).

Follows `AzureOpenAiService`, `AzureOpenAiEmbeddingsServiceSettings.fromMap` (resource_name,
deployment_id, api_version required; dimensions, max_input_tokens, similarity; rate limit
default 1440, completion 120) and `AzureOpenAiSecretSettings.fromMap`: exactly one of
`api_key` and `entra_id` ("[secret_settings] must have exactly one of …"). Azure has no URL
override: ES calls `https://<resource_name>.openai.azure.com/openai/deployments/<deployment_id>/
embeddings?api-version=<api_version>` with `api-key: <api_key>` or `Authorization: Bearer
<entra_id>` (then the task setting `headers`), the body OpenAI's without `model` (`dimensions`
when the user set it, `user`; `openai.py` builds both); the emulator routes that host to a
loopback stand-in (`service_routes`), and a host nobody routed fails as unresolvable. The
response is OpenAI's shape.

From 9.4 (elastic/elasticsearch#143896, 9.4.0 changelog bundle) OAuth2 client credentials are
a third credential: `client_id`, `scopes` and `tenant_id` in the service settings
(`AzureOpenAiOAuth2Settings`), `client_secret` as the secret, and the exactly-one message names
all three (`AzureOpenAiSecretSettings.EXACTLY_ONE_SECRETS_FIELD_ERROR`). ES's `ClientSecretCredential` (Azure Identity) asks
`https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token` for a token and sends it as
`Authorization: Bearer` (`AzureOpenAiOAuth2Applier`); `_update` re-parses the secrets like a PUT
(`newSecretSettings` → `fromMap`), so `client_secret` alone rotates the OAuth2 credential.
`oauth2.py` has the rules and the choices they left open.

Choices where the sources could not settle it:
- before 9.4 the exactly-one message names only api_key and entra_id, in the newer message's
  form (the older wording is UNCONFIRMED).
- chat_completion from 9.2.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..settings import Problems, extract_optional_string, present
from ..validation import TEST_INPUT
from ..versions import Gate
from .base import EndpointConfig
from .external import SIMILARITIES, Field, Validation, chat_body, embedding_size
from .oauth2 import OAuth2, OAuth2Service
from .openai import with_embedding_options, with_task_headers

__all__ = ["AzureOpenAiService"]

_ALWAYS = Gate((8, 14))
_CHAT = Gate(None, (9, 2))
_EMBED = ("text_embedding",)
EXACTLY_ONE = "[secret_settings] must have exactly one of [api_key] or [entra_id] field set"


def _url(config: EndpointConfig, what: str) -> str:
    s = config.service_settings
    return (
        f"https://{s['resource_name']}.openai.azure.com/openai/deployments/"
        f"{s['deployment_id']}/{what}?api-version={s['api_version']}"
    )


def _headers(config: EndpointConfig) -> dict[str, str]:
    secrets = config.secret_settings
    headers = (
        {"api-key": str(secrets["api_key"])}
        if "api_key" in secrets
        else {"Authorization": f"Bearer {secrets.get('entra_id') or secrets['access_token']}"}
    )
    return with_task_headers(config, headers)


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    return with_embedding_options(config, {"input": [TEST_INPUT]})


class AzureOpenAiService(OAuth2Service):
    """Azure OpenAI deployments, as ES's `azureopenai`."""

    name = "azureopenai"
    display_name = "Azure OpenAI"
    secret_keys = ("api_key", "entra_id", "client_secret")
    oauth2 = OAuth2(
        service="Azure OpenAI",
        extra="tenant_id",
        since=Gate(None, (9, 4)),
        basic_auth=False,
        credentials=("api_key", "entra_id", "client_secret"),
        exactly_one=(
            "[secret_settings] must have exactly one of [api_key], [entra_id], or"
            " [client_secret] field set"
        ),
        rotates_only_client_secret=False,
    )
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": _ALWAYS,
        "completion": _ALWAYS,
        "chat_completion": _CHAT,
    }
    output_order = (
        "resource_name",
        "deployment_id",
        "api_version",
        "dimensions",
        "max_input_tokens",
        "similarity",
    )
    service_fields = (
        Field("resource_name", "required", label="Resource Name"),
        Field("deployment_id", "required", label="Deployment ID"),
        Field("api_version", "required", label="API Version"),
        Field("dimensions", "int", _EMBED),
        Field("max_input_tokens", "int", _EMBED),
        Field("similarity", "enum", _EMBED, SIMILARITIES),
    )
    task_fields = (Field("user"), Field("headers", "map", since=Gate((8, 19), (9, 1))))
    rate_limits: ClassVar[dict[str, int]] = {
        "text_embedding": 1440,
        "completion": 120,
        "chat_completion": 120,
    }
    default_similarity = "dot_product"
    validations: ClassVar[dict[str, Validation]] = {
        "text_embedding": Validation(
            lambda c: _url(c, "embeddings"), _embed_body, _headers, embedding_size
        ),
        **{
            task: Validation(
                lambda c: _url(c, "chat/completions"), chat_body, _headers, lambda _: None
            )
            for task in ("completion", "chat_completion")
        },
    }

    def parse_secrets(self, settings: dict[str, Any], problems: Problems) -> dict[str, Any]:
        found = {
            key: extract_optional_string(settings, key, "secret_settings", problems)
            for key in ("api_key", "entra_id")
        }
        provided = present(found)
        if not provided:
            problems.add(EXACTLY_ONE)
        elif len(provided) > 1:
            problems.add(f"{EXACTLY_ONE}, received: [{', '.join(sorted(provided))}]")
        return provided
