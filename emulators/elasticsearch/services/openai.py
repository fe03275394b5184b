"""The `openai` inference service (text_embedding, completion, chat_completion).

Follows `OpenAiService`, `OpenAiEmbeddingsServiceSettings.fromMap` (url, organization_id,
similarity, max_input_tokens, dimensions, model_id, rate_limit; default 3000 per minute) and
`OpenAiChatCompletionServiceSettings` (model_id, url, organization_id, rate_limit; default 500),
with `OpenAiEmbeddingsTaskSettings`/`OpenAiChatCompletionTaskSettings` (`user`; `headers`).
The validation call is OpenAI's own request (`OpenAiEmbeddingsRequestEntity`: `input`, `model`,
`dimensions` when the user set it, `user`) to `url`, default `https://api.openai.com/v1/...`,
with `Authorization: Bearer <api_key>` and `OpenAI-Organization`; the size of the first vector
of `data[].embedding` (`OpenAiEmbeddingsResponseEntity`) becomes `dimensions`, the similarity
defaults to dot_product.

From 9.5 (elastic/elasticsearch#150132, 9.5.0 changelog bundle) OAuth2 client credentials
replace the key: `client_id`, `scopes` and `token_url` in the service settings, `client_secret`
as the secret, exactly one of `api_key` and `client_secret` (`OpenAiSecretSettings`); ES asks
`token_url` for a token with HTTP Basic client authentication and sends it as the Bearer
(`OpenAiOAuth2Applier`, `OAuth2TokenFetcher`); an OAuth2 endpoint's `_update` rotates
`client_secret` alone (`OpenAiOAuth2SecretsSettings.updated`). `oauth2.py` has the rules and
the choices they left open; before 9.5 these fields are unknown settings.

Choices where the sources could not settle it:
- chat_completion from 8.18/9.0; `headers` from 8.19/9.1.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..validation import TEST_INPUT
from ..versions import EsVersion, Gate
from .base import EndpointConfig
from .external import SIMILARITIES, Field, Validation, chat_body, embedding_size, object_with
from .oauth2 import OAuth2, OAuth2Service

__all__ = ["OpenAiService", "with_embedding_options", "with_task_headers"]

EMBEDDINGS_URL = "https://api.openai.com/v1/embeddings"
CHAT_URL = "https://api.openai.com/v1/chat/completions"
_ALWAYS = Gate((8, 11))
_CHAT = Gate((8, 18), (9, 0))
_HEADERS = Gate((8, 19), (9, 1))
_EMBED = ("text_embedding",)


def with_task_headers(config: EndpointConfig, headers: dict[str, str]) -> dict[str, str]:
    """`headers` and then the endpoint's task setting `headers` (OpenAI and Azure OpenAI)."""
    extra = config.task_settings.get("headers")
    if isinstance(extra, dict):
        headers.update({str(k): str(v) for k, v in extra.items()})
    return headers


def with_embedding_options(config: EndpointConfig, body: dict[str, Any]) -> dict[str, Any]:
    """An embeddings `body` with `dimensions` when the user set it, and `user` when given."""
    if config.service_settings.get("dimensions") is not None:
        body["dimensions"] = config.service_settings["dimensions"]
    if config.task_settings.get("user"):
        body["user"] = config.task_settings["user"]
    return body


def _headers(config: EndpointConfig) -> dict[str, str]:
    secrets = config.secret_settings
    headers = {"Authorization": f"Bearer {secrets.get('api_key') or secrets['access_token']}"}
    organization = config.service_settings.get("organization_id")
    if organization:
        headers["OpenAI-Organization"] = str(organization)
    return with_task_headers(config, headers)


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    body = {"input": [TEST_INPUT], "model": config.service_settings["model_id"]}
    return with_embedding_options(config, body)


def _chat_body(config: EndpointConfig) -> dict[str, Any]:
    body = chat_body(config, config.service_settings["model_id"])
    if config.task_settings.get("user"):
        body["user"] = config.task_settings["user"]
    return body


class OpenAiService(OAuth2Service):
    """OpenAI (or any server that speaks its API, through `url`), as ES's `openai`."""

    name = "openai"
    display_name = "OpenAI"
    secret_keys = ("api_key", "client_secret")
    oauth2 = OAuth2(
        service="OpenAI",
        extra="token_url",
        since=Gate(None, (9, 5)),
        basic_auth=True,
        credentials=("api_key", "client_secret"),
        exactly_one=(
            "[service_settings] must have exactly one of [api_key] or [client_secret] field set"
        ),
        rotates_only_client_secret=True,
    )
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": _ALWAYS,
        "completion": _ALWAYS,
        "chat_completion": _CHAT,
    }
    output_order = (
        "model_id",
        "url",
        "organization_id",
        "similarity",
        "dimensions",
        "max_input_tokens",
    )
    service_fields = (
        Field("url", "optional_uri", label="URL"),
        Field("organization_id", label="Organization ID"),
        Field("similarity", "enum", _EMBED, SIMILARITIES),
        Field("max_input_tokens", "int", _EMBED),
        Field("dimensions", "int", _EMBED),
        Field("model_id", "required", label="Model ID"),
    )
    task_fields = (Field("user"), Field("headers", "map", since=_HEADERS))
    rate_limits: ClassVar[dict[str, int]] = {
        "text_embedding": 3000,
        "completion": 500,
        "chat_completion": 500,
    }
    default_similarity = "dot_product"
    validations: ClassVar[dict[str, Validation]] = {
        "text_embedding": Validation(
            lambda c: str(c.service_settings.get("url") or EMBEDDINGS_URL),
            _embed_body,
            _headers,
            embedding_size,
        ),
        **{
            task: Validation(
                lambda c: str(c.service_settings.get("url") or CHAT_URL),
                _chat_body,
                _headers,
                object_with("choices"),
            )
            for task in ("completion", "chat_completion")
        },
    }

    def task_types(self, version: EsVersion) -> tuple[str, ...]:
        return super().task_types(version)
