"""The `hugging_face` inference service: request parsing, update rules, output shape, the
validation call and its `GET _inference/_services` description.

Mirrors `HuggingFaceBaseService.parseRequestConfig`: `service_settings` must exist, then
chunking (text_embedding only), then the service settings (accumulated), then the secret
`api_key`, then rerank task settings, then leftovers are reported as unknown settings.
The validation call follows §2.4 of the reference; failures follow `HuggingFaceResponseHandler`.

`GET _inference/_services` (`HuggingFaceService.Configuration`): `url`, `api_key` and
`rate_limit.requests_per_minute` for every supported task type. On 8.18 and 9.0 (text_embedding
and sparse_embedding only) `url` shows the default value `https://api.openai.com/v1/embeddings`,
as that release's source has it; the later source (`HuggingFaceServiceTests.testGetConfiguration`,
with completion and chat_completion) has no default. That the default went with the chat task
types (8.19, 9.1) and that rerank is listed there too are unconfirmed.

Choices where the reference is unconfirmed:
- `task_settings` on a non-rerank endpoint: before 8.19/9.1 the whole `task_settings` key is
  an unknown setting; from then on only non-empty ones are (listing their keys).
  `chunking_settings` on a non-text_embedding endpoint is an unknown setting.
- Update (rows `update.*` of behaviour/elasticsearch.yaml): until 9.5 non-empty
  `service_settings` must carry `api_key` (#139651), and other service-settings keys and
  unknown task-settings keys are ignored. From 9.5 `rate_limit` and `max_input_tokens` are
  updatable (#147143); `url` and the other declared fields are accepted only with their current
  value, otherwise (like unknown keys) they fail as "Configuration contains settings [{url=…}]
  unknown to the [hugging_face] service" (#149430).
"""

from __future__ import annotations

from typing import Any

from ..chunking import parse_chunking_settings
from ..errors import status_exception
from ..settings import (
    Problems,
    extract_optional_positive_integer,
    extract_rate_limit,
    extract_required_string,
    remove_map_or_default_empty,
    remove_service_settings,
    unknown_settings_error,
    unsupported_task_type,
)
from ..validation import (
    EMBEDDING_SIZE_UNKNOWN,
    TEST_INPUT,
    TEST_QUERY,
    parsing_error,
    response_json,
    run_validation,
)
from ..versions import (
    CHUNKING,
    HF_CHAT_AND_RERANK,
    HF_TEXT_EMBEDDING,
    RATE_LIMIT,
    SECRET_REQUIRED_ON_UPDATE,
    TASK_SETTINGS_CONSUMED,
    UPDATE_HF_SERVICE_SETTINGS,
    UPDATE_REJECTS_UNKNOWN_KEYS,
    EsVersion,
)
from . import hugging_face_infer
from .base import (
    ABSENT,
    EndpointConfig,
    EndpointUpdate,
    InferenceService,
    ServiceCall,
    Setting,
    rate_limit_setting,
    secret_setting,
)
from .external import SIMILARITIES, Field, extract_fields, object_with

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "SERVICE",
    "HuggingFaceService",
    "order_service_settings",
    "parse_request_config",
    "supported_task_types",
    "update_config",
]

SERVICE = "hugging_face"
DEFAULT_RATE_LIMIT = 3000
ELSER_TOKEN_LIMIT = 512

_OUTPUT_ORDER = {
    "text_embedding": ("url", "similarity", "dimensions", "max_input_tokens", "rate_limit"),
    "sparse_embedding": ("url", "max_input_tokens", "rate_limit"),
    "completion": ("model_id", "url", "rate_limit"),
    "chat_completion": ("model_id", "url", "rate_limit"),
    "rerank": ("url", "rate_limit"),
}


_EMBED = ("text_embedding",)
_SERVICE_FIELDS = (
    Field("model_id", task_types=("completion", "chat_completion")),
    Field("url", "uri"),
    Field("similarity", "enum", _EMBED, SIMILARITIES),
    Field("dimensions", "int", _EMBED),
    Field("max_input_tokens", "int", _EMBED),
)
"""The service settings ES reads for each task type, in its order."""
_RERANK_FIELDS = (Field("return_documents", "bool"), Field("top_n", "int"))
"""The rerank task settings (`HuggingFaceRerankTaskSettings.fromMap`)."""


def supported_task_types(version: EsVersion) -> tuple[str, ...]:
    """The task types the service accepts on this version."""
    types = ["sparse_embedding"]
    if HF_TEXT_EMBEDDING(version):
        types.insert(0, "text_embedding")
    if HF_CHAT_AND_RERANK(version):
        types += ["completion", "chat_completion", "rerank"]
    return tuple(types)


def order_service_settings(task_type: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Exposed service settings in ES's output order, unset fields dropped."""
    order = _OUTPUT_ORDER[task_type]
    known = {k: settings[k] for k in order if settings.get(k) is not None}
    extra = {k: v for k, v in settings.items() if k not in order and v is not None}
    return {**known, **extra}


def _rate_limit(settings: dict[str, Any], problems: Problems, version: EsVersion) -> int | None:
    if not RATE_LIMIT(version):
        return None
    rpm = extract_rate_limit(settings, SERVICE, version, problems)
    return DEFAULT_RATE_LIMIT if rpm is None else rpm


def _service_settings(
    task_type: str, settings: dict[str, Any], version: EsVersion
) -> dict[str, Any]:
    problems = Problems()
    out = extract_fields(
        _SERVICE_FIELDS, task_type, version, settings, "service_settings", problems
    )
    if task_type == "sparse_embedding":
        out["max_input_tokens"] = ELSER_TOKEN_LIMIT
    rpm = _rate_limit(settings, problems, version)
    problems.raise_if_any()
    if rpm is not None:
        out["rate_limit"] = {"requests_per_minute": rpm}
    return order_service_settings(task_type, out)


def _api_key(settings: dict[str, Any]) -> str:
    problems = Problems()
    key = extract_required_string(settings, "api_key", "secret_settings", problems)
    problems.raise_if_any()
    assert key is not None
    return key


def _rerank_task_settings(settings: dict[str, Any], version: EsVersion) -> dict[str, Any]:
    problems = Problems()
    found = extract_fields(_RERANK_FIELDS, "rerank", version, settings, "task_settings", problems)
    problems.raise_if_any()
    return found


def parse_request_config(
    config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
) -> EndpointConfig:
    """Parse a PUT body (minus `service` and `task_type`); raise `EsError` on bad input.

    `inserted` is how many keys the body had, which fixes how ES prints leftover keys.
    """
    settings = remove_service_settings(config)
    settings_inserted = len(settings)
    if task_type not in supported_task_types(version):
        raise unsupported_task_type(SERVICE, task_type)
    task_map: dict[str, Any] | None = None
    if TASK_SETTINGS_CONSUMED(version):
        task_map = remove_map_or_default_empty(config, "task_settings")
    task_inserted = len(task_map or {})
    chunking = None
    if task_type == "text_embedding" and CHUNKING(version):
        chunking = parse_chunking_settings(config.pop("chunking_settings", None), version)
    service_settings = _service_settings(task_type, settings, version)
    api_key = _api_key(settings)
    task_settings: dict[str, Any] = {}
    if task_type == "rerank" and task_map is not None:
        task_settings = _rerank_task_settings(task_map, version)
    if config:
        raise unknown_settings_error(config, SERVICE, version, inserted=inserted)
    if settings:
        raise unknown_settings_error(settings, SERVICE, version, inserted=settings_inserted)
    if task_map:
        raise unknown_settings_error(task_map, SERVICE, version, inserted=task_inserted)
    return EndpointConfig(
        task_type, service_settings, {"api_key": api_key}, task_settings, chunking
    )


def _merged_task_settings(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = {**current, **new}
    return {k: merged[k] for k in ("return_documents", "top_n") if k in merged}


def update_config(
    current: EndpointConfig,
    *,
    service_settings: dict[str, Any] | None,
    task_settings: dict[str, Any] | None,
    chunking_settings: Any = ABSENT,
    version: EsVersion,
) -> EndpointConfig:
    """Apply an `_update` body to `current` and return the new config (never mutates `current`).

    Until 9.5 non-empty `service_settings` must carry the `api_key` again (#139651), only the
    secret and rerank task settings change, and every other key is ignored. From 9.5
    `rate_limit` and `max_input_tokens` change too (#147143), a non-updatable field is accepted
    only with its current value and unknown keys are rejected (#149430). `chunking_settings`
    (accepted from 9.5, #149723) replace the current ones.
    """
    new = current.copy()
    settings = dict(service_settings or {})
    inserted = len(settings)
    if settings and ("api_key" in settings or SECRET_REQUIRED_ON_UPDATE(version)):
        new.secret_settings = {"api_key": _api_key(settings)}
    if UPDATE_HF_SERVICE_SETTINGS(version):
        problems = Problems()
        if "rate_limit" in settings:
            rpm = _rate_limit(settings, problems, version)
            if rpm is not None:
                new.service_settings["rate_limit"] = {"requests_per_minute": rpm}
        if "max_input_tokens" in settings and current.task_type == "text_embedding":
            tokens = extract_optional_positive_integer(
                settings, "max_input_tokens", "service_settings", problems
            )
            new.service_settings["max_input_tokens"] = tokens
        problems.raise_if_any()
    if UPDATE_REJECTS_UNKNOWN_KEYS(version):
        for key in _OUTPUT_ORDER[current.task_type]:
            if key in settings and settings[key] == current.service_settings.get(key):
                del settings[key]
        if settings:
            raise unknown_settings_error(settings, SERVICE, version, inserted=inserted)
    if task_settings:
        task_map = dict(task_settings)
        if current.task_type == "rerank":
            parsed = _rerank_task_settings(task_map, version)
            new.task_settings = _merged_task_settings(current.task_settings, parsed)
        if UPDATE_REJECTS_UNKNOWN_KEYS(version) and task_map:
            raise unknown_settings_error(task_map, SERVICE, version, inserted=len(task_settings))
    if chunking_settings is not ABSENT:
        if current.task_type != "text_embedding":
            raise unknown_settings_error({"chunking_settings": chunking_settings}, SERVICE, version)
        new.chunking_settings = parse_chunking_settings(chunking_settings, version)
    new.service_settings = order_service_settings(new.task_type, new.service_settings)
    return new


def _validation_body(config: EndpointConfig) -> dict[str, Any]:
    if config.task_type in ("text_embedding", "sparse_embedding"):
        return {"inputs": [TEST_INPUT]}
    if config.task_type == "rerank":
        body: dict[str, Any] = {"texts": [TEST_INPUT], "query": TEST_QUERY}
        if "return_documents" in config.task_settings:
            body["return_text"] = config.task_settings["return_documents"]
        if "top_n" in config.task_settings:
            body["top_n"] = config.task_settings["top_n"]
        return body
    body = {"messages": [{"content": TEST_INPUT, "role": "user"}]}
    if config.service_settings.get("model_id"):
        body["model"] = config.service_settings["model_id"]
    body["n"] = 1
    if config.task_type == "chat_completion":
        body.update(stream=True, stream_options={"include_usage": True})
    else:
        body["stream"] = False
    return body


def _embedding_size(payload: Any) -> int:
    if isinstance(payload, dict):
        payload = payload.get("embeddings")
    if not isinstance(payload, list):
        raise parsing_error("START_ARRAY", payload)
    if not payload or not isinstance(payload[0], list) or not payload[0]:
        raise status_exception(EMBEDDING_SIZE_UNKNOWN)
    return len(payload[0])


def _check_payload(task_type: str, payload: Any) -> None:
    if task_type in ("sparse_embedding", "rerank"):
        if not isinstance(payload, list):
            raise parsing_error("START_ARRAY", payload)
        for item in payload:
            if not isinstance(item, dict):
                raise parsing_error("START_OBJECT", item)
    elif task_type == "completion":
        object_with("choices")(payload)


def _validation_call(call: ServiceCall, seconds: float) -> int | None:
    """The call's discovered embedding size (text_embedding only)."""
    config = call.config
    response = hugging_face_infer.post(call, _validation_body(config), seconds)
    if config.task_type == "chat_completion":
        return None
    payload = response_json(response)
    if config.task_type == "text_embedding":
        return _embedding_size(payload)
    _check_payload(config.task_type, payload)
    return None


def _with_embedding_details(config: EndpointConfig, size: int | None) -> EndpointConfig:
    """`updateModelWithEmbeddingDetails`: the discovered size, and cosine unless set."""
    if config.task_type != "text_embedding":
        return config
    updated = config.copy()
    settings = updated.service_settings
    settings["dimensions"] = size
    if settings.get("similarity") is None:
        settings["similarity"] = "cosine"
    updated.service_settings = order_service_settings(updated.task_type, settings)
    return updated


class HuggingFaceService(InferenceService):
    """Hugging Face Inference Endpoints (and compatible servers), as ES's `hugging_face`."""

    name = SERVICE
    display_name = "Hugging Face"
    secret_keys = ("api_key",)

    def task_types(self, version: EsVersion) -> tuple[str, ...]:
        return supported_task_types(version)

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        return parse_request_config(config, task_type, version, inserted=inserted)

    def update_config(
        self, current: EndpointConfig, update: EndpointUpdate, version: EsVersion
    ) -> EndpointConfig:
        return update_config(
            current,
            service_settings=update.service_settings,
            task_settings=update.task_settings,
            chunking_settings=update.chunking_settings,
            version=version,
        )

    def validate(self, call: ServiceCall) -> EndpointConfig:
        size = run_validation(lambda seconds: _validation_call(call, seconds), call.seconds)
        return _with_embedding_details(call.config, size)

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        url_default = (
            None if HF_CHAT_AND_RERANK(version) else "https://api.openai.com/v1/embeddings"
        )
        return {
            "url": Setting(
                label="URL",
                description="The URL endpoint to use for the requests.",
                required=True,
                default_value=url_default,
            ),
            "api_key": secret_setting("API Key"),
            "rate_limit.requests_per_minute": rate_limit_setting(),
        }

    def infer(self, call: ServiceCall, body: dict[str, Any]) -> dict[str, Any]:
        return hugging_face_infer.infer(call, body)

    def stream(self, call: ServiceCall, body: dict[str, Any]) -> list[dict[str, Any]]:
        if call.config.task_type != "chat_completion":
            # HuggingFaceService.supportedStreamingTasks: chat_completion (unified API) only here.
            return super().stream(call, body)
        return hugging_face_infer.stream_chat(call, body)
