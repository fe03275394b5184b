"""The `googlevertexai` inference service (text_embedding, rerank, completion, chat_completion).

Follows `GoogleVertexAiService` (8.15 onwards: `getMinimalSupportedVersion` V_8_15_0), its
settings classes and `GoogleVertexAiSecretSettings`:

- text_embedding (`GoogleVertexAiEmbeddingsServiceSettings.fromMap`): `location`, `project_id`,
  `model_id` (required), `max_input_tokens`, `similarity` (dot_product when left out: the
  constructor's default, so GET always shows one), `dimensions` (a PUT may set it;
  `dimensions_set_by_user` it may not: "[service_settings] does not allow the setting
  [dimensions_set_by_user]"), `max_batch_size` (9.3: a positive Integer up to
  `EMBEDDING_MAX_BATCH_SIZE`, 250), `rate_limit` (default 30000); task setting `auto_truncate`;
- rerank (`GoogleVertexAiRerankServiceSettings`): `project_id` (required), `model_id`
  (optional), `rate_limit` (default 300); task setting `top_n`;
- completion and chat_completion (`GoogleVertexAiChatCompletionServiceSettings`, transport
  versions ML_INFERENCE_VERTEXAI_CHATCOMPLETION_ADDED and its 8.19 patch: 8.19 and 9.1):
  `project_id`, `location`, `model_id` (required), `rate_limit` (default 1000); task setting
  `thinking_config`;
- the secret: `service_account_json` (required, `extractRequiredSecureString`).

The validation call at PUT (`ModelValidatorBuilder`) carries `Authorization: Bearer <token>`,
the token got by Google's service-account flow from the key JSON (`google_auth`, the twin of
`GoogleVertexAiRequest.decorateWithBearerToken`; a key that cannot be read or is refused is a
403 `status_exception`, wrapped in ES's 400 "Could not complete inference endpoint creation…").
The calls (`GoogleVertexAiUtils`, the request entities):

- text_embedding: `POST https://<location>-aiplatform.googleapis.com/v1/projects/<project>/
  locations/<location>/publishers/google/models/<model>:predict` with `{"instances":
  [{"content", "task_type": "RETRIEVAL_DOCUMENT"}]}` (+ `parameters.autoTruncate`); the size
  of `predictions[0].embeddings.values` becomes `dimensions`;
- rerank: `POST https://discoveryengine.googleapis.com/v1/projects/<project>/locations/global/
  rankingConfigs/default_ranking_config:rank` with `model`, `query`, `records` and `topN`;
- completion and chat_completion: `...:streamGenerateContent?alt=sse` with `contents` (and
  `generationConfig.thinkingConfig`).

The hosts are routed to a loopback stand-in (`service_routes`, e.g. `*.googleapis.com`;
`emulators.vendors.google`). A non-2xx answer is `BaseResponseHandler`'s message with Google's
`error.message` (`GoogleVertexAiErrorResponseEntity`). `_update` follows ExternalService's
per-version rules; until 9.5 non-empty `service_settings` must carry `service_account_json`
again (`newSecretSettings` is `fromMap`, elastic/elasticsearch#139651).

Choices where the sources could not settle it:
- `location` is required on every version covered: the global endpoint without it is
  elastic/elasticsearch#151054 (June 2026), taken to be later than 9.5;
- Google Model Garden (`provider`, `url`, `streaming_url` for completion/chat_completion,
  #134080 and #135701, autumn 2025) is not emulated: those fields are unknown settings here and
  GET shows no `provider`;
- `max_batch_size` from 9.3 (the specification gained it on 2026-01-07), and not updatable;
- completion calls `streamGenerateContent` like chat_completion (the only Gemini method
  `GoogleVertexAiUtils` names) and only its status is checked;
- `thinking_config` is read whenever completion is (its specification change is of
  September 2025, no version was found).
- a declared `dimensions` is not sent (`outputDimensionality`): no stored version of
  `GoogleVertexAiEmbeddingsRequestEntity` sends it; the measured size is stored.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import httpx

from ..errors import EsError
from ..settings import (
    Problems,
    extract_optional_boolean,
    extract_optional_enum,
    extract_optional_positive_integer,
    extract_optional_string,
    extract_required_string,
    present,
    remove_as_type,
)
from ..validation import (
    TEST_INPUT,
    TEST_QUERY,
    parsing_error,
    response_json,
    run_validation,
    send,
    unsuccessful_response,
)
from ..versions import SECRET_REQUIRED_ON_UPDATE, EsVersion, Gate
from .base import (
    EndpointConfig,
    EndpointUpdate,
    ServiceCall,
    Setting,
    rate_limit_setting,
    secret_setting,
)
from .external import SIMILARITIES, ExternalService, Field, embedding_details
from .google_auth import access_token

__all__ = ["GoogleVertexAiService"]

SCOPE = "service_settings"
MAX_BATCH_SIZE = Gate(None, (9, 3))
EMBEDDING_MAX_BATCH_SIZE = 250
_CHAT = Gate((8, 19), (9, 1))
_OUTPUT_ORDER = {
    "text_embedding": (
        "location",
        "project_id",
        "model_id",
        "max_input_tokens",
        "dimensions",
        "max_batch_size",
        "similarity",
    ),
    "rerank": ("project_id", "model_id"),
    "completion": ("project_id", "location", "model_id"),
    "chat_completion": ("project_id", "location", "model_id"),
}
_REQUIRED = {
    "text_embedding": ("location", "project_id", "model_id"),
    "rerank": ("project_id",),
    "completion": ("project_id", "location", "model_id"),
    "chat_completion": ("project_id", "location", "model_id"),
}


def _model_url(config: EndpointConfig, method: str) -> str:
    s = config.service_settings
    location = s["location"]
    return (
        f"https://{location}-aiplatform.googleapis.com/v1/projects/{s['project_id']}/locations/"
        f"{location}/publishers/google/models/{s['model_id']}:{method}"
    )


def _rank_url(config: EndpointConfig) -> str:
    return (
        "https://discoveryengine.googleapis.com/v1/projects/"
        f"{config.service_settings['project_id']}/locations/global/rankingConfigs/"
        "default_ranking_config:rank"
    )


def _embed_body(config: EndpointConfig) -> dict[str, Any]:
    body: dict[str, Any] = {
        "instances": [{"content": TEST_INPUT, "task_type": "RETRIEVAL_DOCUMENT"}]
    }
    if config.task_settings.get("auto_truncate") is not None:
        body["parameters"] = {"autoTruncate": config.task_settings["auto_truncate"]}
    return body


def _rank_body(config: EndpointConfig) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if config.service_settings.get("model_id"):
        body["model"] = config.service_settings["model_id"]
    body.update(query=TEST_QUERY, records=[{"id": "0", "content": TEST_INPUT}])
    if config.task_settings.get("top_n") is not None:
        body["topN"] = config.task_settings["top_n"]
    return body


def _generate_body(config: EndpointConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": TEST_INPUT}]}]}
    thinking = config.task_settings.get("thinking_config")
    if isinstance(thinking, dict) and thinking.get("thinking_budget") is not None:
        body["generationConfig"] = {
            "thinkingConfig": {"thinkingBudget": thinking["thinking_budget"]}
        }
    return body


def _embedding_size(payload: Any) -> int:
    try:
        values = payload["predictions"][0]["embeddings"]["values"]
    except (KeyError, IndexError, TypeError):
        values = None
    if not isinstance(values, list):
        raise parsing_error("START_OBJECT", payload)
    return len(values)


def _google_failure(inference_id: str, response: httpx.Response) -> EsError:
    """`BaseResponseHandler`'s error with Google's `error.message` (the error entity)."""
    failure = unsuccessful_response(inference_id, response)
    try:
        detail = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        detail = None
    if isinstance(detail, str):
        failure.reason += f". Error message: [{detail}]"
        failure.args = (failure.reason,)
    return failure


class GoogleVertexAiService(ExternalService):
    """Vertex AI and Discovery Engine behind Google's token exchange, as ES's `googlevertexai`."""

    name = "googlevertexai"
    display_name = "Google Vertex AI"
    secret_keys = ("service_account_json",)
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": Gate((8, 15)),
        "rerank": Gate((8, 15)),
        "completion": _CHAT,
        "chat_completion": _CHAT,
    }
    task_fields = (
        Field("auto_truncate", "bool", ("text_embedding",)),
        Field("top_n", "int", ("rerank",)),
    )
    rate_limits: ClassVar[dict[str, int]] = {
        "text_embedding": 30000,
        "rerank": 300,
        "completion": 1000,
        "chat_completion": 1000,
    }

    def parse_secrets(self, settings: dict[str, Any], problems: Problems) -> dict[str, Any]:
        key = "service_account_json"
        return {key: extract_required_string(settings, key, "secret_settings", problems)}

    def _service_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion, problems: Problems
    ) -> dict[str, Any]:
        out = present(
            {
                key: extract_required_string(settings, key, SCOPE, problems)
                for key in _REQUIRED[task_type]
            }
        )
        if task_type == "rerank":
            model = extract_optional_string(settings, "model_id", SCOPE, problems)
            if model is not None:
                out["model_id"] = model
        if task_type == "text_embedding":
            tokens = extract_optional_positive_integer(
                settings, "max_input_tokens", SCOPE, problems
            )
            similarity = extract_optional_enum(
                settings, "similarity", SCOPE, SIMILARITIES, problems
            )
            dimensions = extract_optional_positive_integer(settings, "dimensions", SCOPE, problems)
            batch = None
            if MAX_BATCH_SIZE(version):
                batch = extract_optional_positive_integer(
                    settings, "max_batch_size", SCOPE, problems
                )
                if batch is not None and batch > EMBEDDING_MAX_BATCH_SIZE:
                    problems.add(
                        f"[{SCOPE}] Invalid value [{batch}]. [max_batch_size] must be a less than"
                        f" or equal to [{EMBEDDING_MAX_BATCH_SIZE}]"
                    )
                    batch = None
            found = {
                "max_input_tokens": tokens,
                "dimensions": dimensions,
                "max_batch_size": batch,
                "similarity": similarity or "dot_product",
            }
            out.update(present(found))
        out.update(super()._service_settings(task_type, settings, version, problems))
        if task_type == "text_embedding":
            by_user = extract_optional_boolean(settings, "dimensions_set_by_user", problems)
            if by_user is not None:
                problems.add(f"[{SCOPE}] does not allow the setting [dimensions_set_by_user]")
        return out

    def _task_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion
    ) -> dict[str, Any]:
        out = super()._task_settings(task_type, settings, version)
        if task_type in ("completion", "chat_completion"):
            problems = Problems()
            thinking = remove_as_type(settings, "thinking_config", ["Map"], problems)
            if thinking is not None:
                inner = dict(thinking)
                budget = remove_as_type(inner, "thinking_budget", ["Integer"], problems)
                out["thinking_config"] = {} if budget is None else {"thinking_budget": budget}
            problems.raise_if_any()
        return out

    def output_order_for(self, task_type: str) -> tuple[str, ...]:
        return _OUTPUT_ORDER[task_type]

    def update_config(
        self, current: EndpointConfig, update: EndpointUpdate, version: EsVersion
    ) -> EndpointConfig:
        if update.service_settings and SECRET_REQUIRED_ON_UPDATE(version):
            self._secrets(copy.deepcopy(update.service_settings), version)
        return super().update_config(current, update, version)

    def validate(self, call: ServiceCall) -> EndpointConfig:
        config = call.config
        task_type = config.task_type
        if task_type == "text_embedding":
            url, body = _model_url(config, "predict"), _embed_body(config)
        elif task_type == "rerank":
            url, body = _rank_url(config), _rank_body(config)
        else:
            url = _model_url(config, "streamGenerateContent") + "?alt=sse"
            body = _generate_body(config)

        def attempt(seconds: float) -> int | None:
            key = str(config.secret_settings["service_account_json"])
            headers = {"Authorization": f"Bearer {access_token(key, call.settings, seconds)}"}
            response = send(call.inference_id, url, body, headers, call.settings, seconds)
            if not 200 <= response.status_code < 300:
                raise _google_failure(call.inference_id, response)
            if task_type != "text_embedding":
                return None
            return _embedding_size(response_json(response))

        size = run_validation(attempt, call.seconds)
        return embedding_details(config, size, None)

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        every = self.task_types(version)
        located = tuple(t for t in every if t != "rerank")
        return {
            "model_id": Setting(
                label="Model ID", description="ID of the LLM you're using.", required=True
            ),
            "location": Setting(
                label="GCP Region",
                description=(
                    "Please provide the GCP region where the Vertex AI API(s) is enabled. For more"
                    " information, refer to the {geminiVertexAIDocs}."
                ),
                required=True,
                task_types=located,
            ),
            "project_id": Setting(
                label="GCP Project",
                description=(
                    "The GCP Project ID which has Vertex AI API(s) enabled. For more information"
                    " on the URL, refer to the {geminiVertexAIDocs}."
                ),
                required=True,
            ),
            "service_account_json": secret_setting("Credentials JSON"),
            "rate_limit.requests_per_minute": rate_limit_setting(),
        }
