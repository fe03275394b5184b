"""The `elastic` inference service: the Elastic Inference Service (EIS), authorized per cluster.

What holds, with its versions and sources (x-pack/plugin/inference/.../services/elastic/):
- The service: 8.18 and 9.0 on (`ElasticInferenceService`; 8.16-8.17 kept it behind the
  `ElasticInferenceServiceFeature` flag, so release builds answer `Unknown service [elastic]`).
  Task types: sparse_embedding and chat_completion from 8.18/9.0 (`IMPLEMENTED_TASK_TYPES`,
  #120235, #120847); text_embedding from 8.19/9.1 (`ElasticInferenceServiceDenseTextEmbeddings
  ServiceSettings`, transport version `ML_INFERENCE_ELASTIC_DENSE_TEXT_EMBEDDINGS_ADDED_8_19`)
  and rerank with it (`ElasticInferenceServiceRerankServiceSettings`, transport version
  `ML_INFERENCE_ELASTIC_RERANK`, whose rate-limit default only mattered before 9.2).
- The node reaches EIS at its setting `xpack.inference.elastic.url` (the deprecated
  `xpack.inference.eis.gateway.url` as fallback; `ElasticInferenceServiceSettings`), with no
  credential of the endpoint's: EIS knows the cluster by its mTLS certificate, so the service
  has no secret settings and `api_key` is an unknown setting.
- Authorization: once the node has started, ES asks EIS which models it may use (GET
  `<url>/api/v1/authorizations` answering `{"models": [{"model_name", "task_types"}]}` up to
  9.2, `ElasticInferenceServiceAuthorizationRequestHandler`; GET `<url>/api/v2/authorizations`
  answering `{"inference_endpoints": [...]}` from 9.3, #138249). No URL, or a failed request,
  is the disabled service: nothing authorized (`newDisabledService`). The authorized task
  types are what `GET _inference/_services` lists, where the service is hidden when nothing
  is authorized (`hideFromConfigurationApi`, #134398). A PUT does not consult them
  (`TransportPutInferenceModelAction` checks the reserved ids, the service, the cluster's
  versions, then parses and validates): it is EIS that refuses, at the validation call, a
  model it does not authorize; with the validation skipped the endpoint is stored. Without a
  URL the call goes to `null/api/...`, a URI with no host, and fails to be sent.
- Preconfigured endpoints appear for the authorized default models
  (`ElasticInferenceServiceAuthorizationHandler.getAuthorizedDefaultConfigIds`):
  `.rainbow-sprinkles-elastic` (chat_completion, `rainbow-sprinkles`) from 8.18/9.0,
  `.elser-v2-elastic` (`elser-v2`) on 8.18/9.0, `.elser-2-elastic` (`elser_model_2`),
  `.multilingual-embed-v1-elastic` (text_embedding, 1024 dims, cosine) and `.rerank-v1-elastic`
  (`ElasticInferenceServiceMinimalSettings`) from 8.19/9.1; from 9.3 EIS's v2 answer names
  each endpoint itself (`InternalPreconfiguredEndpoints`, #136192). They read like any endpoint
  and are reserved: the REST layer refuses PUT, DELETE and `_update` on them.
- Service settings, problems collected into one `validation_exception`: `model_id` required
  (every task type); `max_input_tokens` (positive integer) for sparse_embedding;
  `similarity`, `dimensions`, `max_input_tokens` for text_embedding, whose validation call
  measures `dimensions` and fills `similarity` with cosine (`updateModelWithEmbeddingDetails`,
  `defaultDenseTextEmbeddingsSimilarity`); `rate_limit.requests_per_minute` with defaults
  1000 (sparse), 10000 (text_embedding), 500 (rerank) and 720 (chat_completion) until 9.1;
  from 9.2 rate limiting is disabled (#133845, merged for 9.2): a PUT with `rate_limit` is
  refused with `[service_settings] rate limit settings are not permitted for service
  [elastic] and task type [<task>]` (`RateLimitSettings.rejectRateLimitFieldForRequestContext`)
  and GET shows none; `_services` dropped its rate-limit field then too (#135838). No task
  settings: any key there is unknown. chunking_settings for the embedding task types.
- The validation call at PUT (`ModelValidatorBuilder`), no credential, to
  `<url>/api/v1/embed/text/sparse` and `/api/v1/embed/text/dense` (`{"input", "model",
  "usage_context": "ingest"}`, `ElasticInferenceServiceSparseEmbeddingsRequestEntity`,
  `ElasticInferenceServiceUsageContext`), `/api/v1/rerank/text/text-similarity` (`{"query",
  "model", "documents"}`, `ElasticInferenceServiceRerankRequestEntity`) and `/api/v1/chat`
  (the unified chat request, `"stream": true`). Answers: `{"data": [{token: weight}]}`,
  `{"data": [[float]]}`, `{"results": [...]}`, events. EIS refuses a model it does not
  authorize with 400 `{"error": "..."}` (`ElasticInferenceServiceErrorResponseEntity`), which
  `ElasticInferenceServiceResponseHandler` reports as a bad request.
- `_update`: as every third-party service (`external.py`); there is nothing to rotate.
- Perform inference and `_stream` go to EIS the same way (`elastic_infer.py`).

Choices where the sources could not settle it:
- How EIS refuses a model it does not authorize (status and wording) was not found: the
  stand-in answers 400 `{"error": "Model [<model>] is not authorized for task [<eis task>]"}`.
- rerank from 8.19/9.1, with text_embedding (its transport version has no release name).
- #133845 on 9.2.0 and not on 8.19 (no backport was found).
- chunking_settings from 8.19/9.1, with text_embedding (the 8.18/9.0 parser has none, so
  there it is an unknown setting).
- chat_completion's default rate limit is 240 on 8.18/9.0 (the 8.18 specification's wording)
  and 720 from 8.19/9.1 (the source as read).
- Authorization is asked once, when the emulator starts (ES asks again every 10 minutes,
  `xpack.inference.elastic.authorization_request_interval`; from 9.2 `_services` asks EIS
  at each call, #134398, and from 9.3 the registry asks it for the preconfigured endpoints,
  #136192: the emulator answers all of them from its start-time answer); `max_batch_size` (newer) is not
  emulated. The `_services` rate-limit field before 9.2 is the one every third-party service
  shows here (`external.py`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from ..chunking import DEFAULT_CHUNKING
from ..errors import EsError, status_exception
from ..settings import Problems, unknown_settings_error
from ..validation import (
    EMBEDDING_SIZE_UNKNOWN,
    TEST_INPUT,
    TEST_QUERY,
    ValidationSettings,
    parsing_error,
    response_json,
    run_validation,
    send,
    unsuccessful_response,
    with_error_message,
)
from ..versions import EsVersion, Gate
from . import elastic_infer
from .base import EndpointConfig, ServiceCall, Setting
from .external import SIMILARITIES, ExternalService, Field, embedding_details

__all__ = ["ELASTIC_URL_SETTING", "ElasticService", "eis_url"]

ELASTIC_URL_SETTING = "xpack.inference.elastic.url"
_DEPRECATED_URL_SETTING = "xpack.inference.eis.gateway.url"
_SERVICE = Gate((8, 18))
_DENSE = Gate((8, 19), (9, 1))
_RERANK = Gate((8, 19), (9, 1))
_CHUNKING = Gate((8, 19), (9, 1))
_AUTH_V2 = Gate(None, (9, 3))
_RATE_LIMIT_DISABLED = Gate(None, (9, 2))
_EMBED = ("sparse_embedding", "text_embedding")
_PATHS = {
    "sparse_embedding": "/api/v1/embed/text/sparse",
    "text_embedding": "/api/v1/embed/text/dense",
    "rerank": "/api/v1/rerank/text/text-similarity",
    "chat_completion": "/api/v1/chat",
}
_EIS_TASK_TYPES = {
    "embed/text/sparse": "sparse_embedding",
    "embed/text/dense": "text_embedding",
    "rerank/text/text-similarity": "rerank",
    "chat": "chat_completion",
}
_EARLY_CHAT_RATE_LIMIT = 240
_DENSE_DEFAULT_DIMENSIONS = 1024
_STATE_KEY = "elastic"
# The preconfigured endpoints up to 9.2: (id, task type, model), by the versions they exist on.
_DEFAULTS_8_18 = (
    (".elser-v2-elastic", "sparse_embedding", "elser-v2"),
    (".rainbow-sprinkles-elastic", "chat_completion", "rainbow-sprinkles"),
)
_DEFAULTS_8_19 = (
    (".elser-2-elastic", "sparse_embedding", "elser_model_2"),
    (".multilingual-embed-v1-elastic", "text_embedding", "multilingual-embed-v1"),
    (".rainbow-sprinkles-elastic", "chat_completion", "rainbow-sprinkles"),
    (".rerank-v1-elastic", "rerank", "rerank-v1"),
)


def eis_url(settings: ValidationSettings) -> str | None:
    """The node's EIS URL (`getElasticInferenceServiceUrl`), or None when it has none."""
    nodes = settings.node_settings
    url = nodes.get(ELASTIC_URL_SETTING) or nodes.get(_DEPRECATED_URL_SETTING)
    return url.rstrip("/") if url else None


def _fetch_authorization(settings: ValidationSettings, version: EsVersion) -> dict[str, set[str]]:
    """Authorized model → ES task types, as EIS answers; empty when it cannot be asked."""
    url = eis_url(settings)
    if url is None:
        return {}
    path = "/api/v2/authorizations" if _AUTH_V2(version) else "/api/v1/authorizations"
    target = settings.route(url + path)
    try:
        host = httpx.URL(target).host
        if settings.allowed_hosts is not None and host not in settings.allowed_hosts:
            return {}
        response = settings.client.get(target, timeout=settings.timeout)
        payload = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        return {}
    return _read_authorization(payload, version)


def _read_authorization(payload: Any, version: EsVersion) -> dict[str, set[str]]:
    """`ElasticInferenceServiceAuthorizationModel.of`: model → the ES task types granted."""
    models: dict[str, set[str]] = {}
    if not isinstance(payload, dict):
        return models
    if _AUTH_V2(version):
        for endpoint in payload.get("inference_endpoints") or []:
            if isinstance(endpoint, dict) and isinstance(endpoint.get("task_types"), dict):
                task = str(endpoint["task_types"].get("elasticsearch"))
                models.setdefault(str(endpoint.get("model_name")), set()).add(task)
        return models
    for model in payload.get("models") or []:
        if isinstance(model, dict):
            tasks = {_EIS_TASK_TYPES.get(str(t), "") for t in model.get("task_types") or []}
            models.setdefault(str(model.get("model_name")), set()).update(tasks - {""})
    return models


def _bad_request(inference_id: str, response: httpx.Response) -> EsError:
    """`ElasticInferenceServiceResponseHandler`'s error for a 400, with EIS's `error`."""
    message = (
        "Received a bad request status code for request from inference entity id"
        f" [{inference_id}] status [400]"
    )
    return status_exception(with_error_message(message, response))


def _rate_limit(task_type: str, version: EsVersion) -> int:
    if task_type == "chat_completion" and not _DENSE(version):
        return _EARLY_CHAT_RATE_LIMIT
    return ElasticService.rate_limits[task_type]


class ElasticService(ExternalService):
    """EIS as ES's `elastic` service: no secret, authorized by EIS (see the module docstring)."""

    name = "elastic"
    display_name = "Elastic"
    secret_keys = ()
    task_gates: ClassVar[dict[str, Gate]] = {
        "text_embedding": _DENSE,
        "sparse_embedding": _SERVICE,
        "rerank": _RERANK,
        "chat_completion": _SERVICE,
    }
    service_fields = (
        Field("model_id", "required", label="Model ID"),
        Field("similarity", "enum", ("text_embedding",), SIMILARITIES),
        Field("dimensions", "int", ("text_embedding",)),
        Field("max_input_tokens", "int", _EMBED, label="Maximum Input Tokens"),
    )
    rate_limits: ClassVar[dict[str, int]] = {
        "sparse_embedding": 1000,
        "text_embedding": 10000,
        "rerank": 500,
        "chat_completion": 720,
    }
    default_similarity = "cosine"
    _ORDERS: ClassVar[dict[str, tuple[str, ...]]] = {
        "text_embedding": ("similarity", "dimensions", "max_input_tokens", "model_id"),
    }

    def parse_secrets(self, settings: dict[str, Any], problems: Problems) -> dict[str, Any]:
        """None: EIS knows the cluster by its certificate (`EmptySecretSettings`)."""
        del settings, problems
        return {}

    # --- authorization ---------------------------------------------------------------------

    def _granted(self, settings: ValidationSettings, version: EsVersion) -> tuple[str, ...]:
        models = settings.service_state.get(_STATE_KEY) or {}
        granted = {task for tasks in models.values() for task in tasks}
        return tuple(t for t in self.task_types(version) if t in granted)

    def node_started(
        self, settings: ValidationSettings, version: EsVersion
    ) -> dict[str, dict[str, Any]]:
        if not _SERVICE(version):
            return {}
        models = _fetch_authorization(settings, version)
        settings.service_state[_STATE_KEY] = models
        return self._defaults(models, version)

    def offered_task_types(
        self, settings: ValidationSettings, version: EsVersion
    ) -> tuple[str, ...]:
        return self._granted(settings, version)

    def _default(
        self, inference_id: str, task_type: str, model: str, version: EsVersion
    ) -> dict[str, Any]:
        settings: dict[str, Any] = {"model_id": model}
        if task_type == "text_embedding":
            settings = {"similarity": "cosine", "dimensions": _DENSE_DEFAULT_DIMENSIONS, **settings}
        if not _RATE_LIMIT_DISABLED(version):
            settings["rate_limit"] = {"requests_per_minute": _rate_limit(task_type, version)}
        out: dict[str, Any] = {
            "inference_id": inference_id,
            "task_type": task_type,
            "service": self.name,
            "service_settings": settings,
        }
        if task_type in _EMBED and _CHUNKING(version):
            out["chunking_settings"] = dict(DEFAULT_CHUNKING)
        return out

    def _defaults(
        self, models: dict[str, set[str]], version: EsVersion
    ) -> dict[str, dict[str, Any]]:
        """The authorized preconfigured endpoints, by id (`defaultConfigIds`)."""
        table: tuple[tuple[str, str, str], ...]
        if _AUTH_V2(version):
            # From 9.3 EIS's answer names the endpoints; the known ids are ES's.
            known = {"rainbow-sprinkles": ".rainbow-sprinkles-elastic"}
            known["elser_model_2"] = ".elser-2-elastic"
            table = tuple(
                (known.get(model, f".{model.replace('_', '-')}-elastic"), task, model)
                for model, tasks in models.items()
                for task in sorted(tasks)
            )
        else:
            table = _DEFAULTS_8_19 if _DENSE(version) else _DEFAULTS_8_18
        implemented = self.task_types(version)
        return {
            inference_id: self._default(inference_id, task, model, version)
            for inference_id, task, model in sorted(table)
            if task in models.get(model, ()) and task in implemented
        }

    # --- parsing ---------------------------------------------------------------------------

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        if not _SERVICE(version):
            raise status_exception(f"Unknown service [{self.name}]")
        early = None
        if not _CHUNKING(version) and "chunking_settings" in config:
            early = {"chunking_settings": config.pop("chunking_settings")}
        parsed = super().parse_request_config(config, task_type, version, inserted=inserted)
        if early is not None:
            # The 8.18/9.0 parser reads no chunking: the key is left over in the body.
            raise unknown_settings_error(early, self.name, version, inserted=inserted)
        if not _CHUNKING(version):
            parsed.chunking_settings = None
        return parsed

    def _service_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion, problems: Problems
    ) -> dict[str, Any]:
        if _RATE_LIMIT_DISABLED(version):
            present = "rate_limit" in settings
            settings.pop("rate_limit", None)
            out = super()._service_settings(task_type, settings, version, problems)
            out.pop("rate_limit", None)
            if present:
                problems.add(
                    "[service_settings] rate limit settings are not permitted for service"
                    f" [{self.name}] and task type [{task_type}]"
                )
            return out
        limits = settings.get("rate_limit")
        chosen = isinstance(limits, dict) and limits.get("requests_per_minute") is not None
        out = super()._service_settings(task_type, settings, version, problems)
        if not chosen and "rate_limit" in out:
            out["rate_limit"] = {"requests_per_minute": _rate_limit(task_type, version)}
        return out

    def output_order_for(self, task_type: str) -> tuple[str, ...]:
        return self._ORDERS.get(task_type, ("model_id", "max_input_tokens"))

    # --- the validation call ---------------------------------------------------------------

    @staticmethod
    def _body(config: EndpointConfig) -> dict[str, Any]:
        model = config.service_settings["model_id"]
        if config.task_type == "rerank":
            return {"query": TEST_QUERY, "model": model, "documents": [TEST_INPUT]}
        if config.task_type == "chat_completion":
            return {
                "messages": [{"content": TEST_INPUT, "role": "user"}],
                "model": model,
                "n": 1,
                "stream": True,
            }
        return {"input": [TEST_INPUT], "model": model, "usage_context": "ingest"}

    @staticmethod
    def _read(task_type: str, response: httpx.Response) -> int | None:
        """The embedding size of the answer (None for other task types); raise on a bad shape."""
        if task_type == "chat_completion":
            return None
        payload = response_json(response)
        key = "results" if task_type == "rerank" else "data"
        if not isinstance(payload, dict) or not isinstance(payload.get(key), list):
            raise parsing_error("START_OBJECT", payload)
        if task_type != "text_embedding":
            return None
        data = payload["data"]
        if not data or not isinstance(data[0], list):
            raise status_exception(EMBEDDING_SIZE_UNKNOWN)
        return len(data[0])

    @staticmethod
    def _poster(call: ServiceCall, seconds: float) -> elastic_infer.Post:
        """Posts to EIS as ES's sender does; a refusal is `ElasticInferenceServiceResponseHandler`'s."""
        # Without a URL ES builds `null/api/...`, a URI with no host (`createUri`).
        base = eis_url(call.settings) or "null"

        def post(task_type: str, body: dict[str, Any]) -> httpx.Response:
            url = base + _PATHS[task_type]
            response = send(call.inference_id, url, body, {}, call.settings, seconds)
            if response.status_code == 400:
                raise _bad_request(call.inference_id, response)
            if not 200 <= response.status_code < 300:
                raise unsuccessful_response(call.inference_id, response)
            return response

        return post

    def validate(self, call: ServiceCall) -> EndpointConfig:
        config = call.config

        def attempt(seconds: float) -> int | None:
            post = self._poster(call, seconds)
            return self._read(config.task_type, post(config.task_type, self._body(config)))

        size = run_validation(attempt, call.seconds)
        return embedding_details(config, size, self.default_similarity)

    # --- perform inference (`elastic_infer.py`) ------------------------------------------

    def infer(self, call: ServiceCall, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = elastic_infer.infer(call, body, self._poster(call, call.seconds))
        return result

    def stream(self, call: ServiceCall, body: dict[str, Any]) -> list[dict[str, Any]]:
        if call.config.task_type != "chat_completion":
            # supportedStreamingTasks: chat_completion only.
            return super().stream(call, body)
        return elastic_infer.stream_chat(call.config, body, self._poster(call, call.seconds))

    # --- GET _inference/_services ----------------------------------------------------------

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        implemented = self.task_types(version)
        described = {
            "max_input_tokens": Setting(
                label="Maximum Input Tokens",
                description="Allows you to specify the maximum number of tokens per input.",
                type="int",
                task_types=tuple(t for t in implemented if t in _EMBED),
            ),
            "model_id": Setting(
                label="Model ID",
                description="The name of the model to use for the inference task.",
                required=True,
                task_types=implemented,
            ),
        }
        if not _RATE_LIMIT_DISABLED(version):
            described["rate_limit.requests_per_minute"] = Setting(
                label="Rate Limit", updatable=True, type="int"
            )
        return described
