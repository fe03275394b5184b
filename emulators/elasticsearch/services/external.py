"""What Elasticsearch's services for third-party APIs share, driven by each service's field table.

A third-party service (`openai`, `cohere`, `azureopenai`, …) parses a PUT the way ES's
`SenderService` subclasses do: `service_settings` must exist; chunking (embedding task types);
the service settings in the service's field order, problems accumulated into one
`validation_exception` (`ServiceUtils.extract*`); `rate_limit` with the service's default
(`RateLimitSettings.of`); the task settings; the secrets (`DefaultSecretSettings` and its
kin); then leftovers are unknown settings (`throwIfNotEmptyMap`).

`_update` follows `TransportUpdateInferenceModelAction`: 8.17-9.3 replace the secrets
(`SecretSettings.newSecretSettings`) and merge the task settings (`updatedTaskSettings`), other
service settings are ignored; from 9.4 `rate_limit` and chunking change too and any other key
must keep its value (else "unknown settings"), as the `hugging_face` module does. The REST
layer (`api/inference.py`) then drops a changed embedding endpoint's chunking on 8.17-9.2.5 and
9.3.0 (#139574, behaviour rule `update.chunking_reset`), for these services as for every other:
`combineExistingModelConfigurationsWithNewSettings` is shared.

The pieces of a validation call several APIs share are here too: `Authorization: Bearer
<api_key>` (`bearer_api_key`), OpenAI's embeddings answer, whose first vector's size becomes
`dimensions` (`embedding_size`, `OpenAiEmbeddingsResponseEntity`; Azure OpenAI, Jina AI, Voyage
AI and Mistral answer in that shape), and a rerank call with the test query and one document
(`rerank_body`, `rerank_validation`), and OpenAI's chat request, which Azure OpenAI and
Mistral take too (`chat_body`).

Choices where the sources could not settle it (the same for every third-party service here):
- the order of `extract*` calls follows each `*ServiceSettings.fromMap` as read, which varies
  across versions; the messages are `ServiceUtils`'s;
- a wrong type for an optional integer that ES reads with a silent `removeAsType` (OpenAI's
  `dimensions`) is reported like `extractOptionalPositiveInteger`'s, the stricter newer code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chunking import parse_chunking_settings
from ..errors import status_exception
from ..settings import (
    Problems,
    extract_optional_boolean,
    extract_optional_enum,
    extract_optional_positive_integer,
    extract_optional_string,
    extract_rate_limit,
    extract_required_string,
    extract_uri,
    present,
    remove_as_type,
    unknown_settings_error,
)
from ..validation import (
    EMBEDDING_SIZE_UNKNOWN,
    TEST_INPUT,
    TEST_QUERY,
    parsing_error,
    response_json,
    run_validation,
)
from ..versions import CHUNKING, RATE_LIMIT, EsVersion, Gate
from .base import ABSENT, EndpointConfig, EndpointUpdate, InferenceService, ServiceCall, Setting

__all__ = [
    "ExternalService",
    "Field",
    "Validation",
    "bearer_api_key",
    "chat_body",
    "embedding_details",
    "embedding_size",
    "embeddings_validation",
    "extract_fields",
    "list_at",
    "object_with",
    "rerank_body",
    "rerank_validation",
]

EMBEDDING_TASKS = ("text_embedding", "sparse_embedding")
SIMILARITIES = ("cosine", "dot_product", "l2_norm")


@dataclass(frozen=True)
class Field:
    """One setting: its kind decides the extractor (and the message) ES uses for it."""

    name: str
    kind: str = (
        "string"  # string | required | uri | optional_uri | int | enum | bool | number | list | map
    )
    task_types: tuple[str, ...] | None = None
    choices: tuple[str, ...] = ()
    label: str = ""
    updatable: bool = False
    since: Gate | None = None

    def applies(self, task_type: str, version: EsVersion) -> bool:
        """Whether ES reads this field for the task type on this version."""
        in_task = self.task_types is None or task_type in self.task_types
        return in_task and (self.since is None or self.since(version))


@dataclass(frozen=True)
class Validation:
    """The request ES sends at PUT and how it reads the answer, for one task type."""

    url: Callable[[EndpointConfig], str]
    body: Callable[[EndpointConfig], Any]
    headers: Callable[[EndpointConfig], dict[str, str]]
    read: Callable[[Any], int | None]
    """The embedding size in the answer (None for other task types); raises on a bad shape."""


def _extract(f: Field, settings: dict[str, Any], scope: str, problems: Problems) -> Any:
    if f.kind == "required":
        return extract_required_string(settings, f.name, scope, problems)
    if f.kind == "uri":
        return extract_uri(settings, f.name, scope, problems)
    if f.kind == "optional_uri":
        return extract_uri(settings, f.name, scope, problems) if f.name in settings else None
    if f.kind == "int":
        return extract_optional_positive_integer(settings, f.name, scope, problems)
    if f.kind == "enum":
        return extract_optional_enum(settings, f.name, scope, f.choices, problems)
    if f.kind == "bool":
        return extract_optional_boolean(settings, f.name, problems)
    if f.kind == "number":
        return remove_as_type(settings, f.name, ["Double", "Integer", "Float"], problems)
    if f.kind == "list":
        return remove_as_type(settings, f.name, ["List"], problems)
    if f.kind == "map":
        return remove_as_type(settings, f.name, ["Map"], problems)
    return extract_optional_string(settings, f.name, scope, problems)


def extract_fields(
    fields: tuple[Field, ...],
    task_type: str,
    version: EsVersion,
    settings: dict[str, Any],
    scope: str,
    problems: Problems,
) -> dict[str, Any]:
    """The `fields` ES reads for the task type on `version`, in order, those that are set."""
    read = [f for f in fields if f.applies(task_type, version)]
    return present({f.name: _extract(f, settings, scope, problems) for f in read})


class ExternalService(InferenceService):
    """A third-party service described by its class attributes; the module docstring has the order.

    Subclasses set `name`, `display_name`, `secret_keys`, `task_gates` (task type → version
    gate), `service_fields`, `task_fields`, `rate_limits` (task type → ES's default),
    `validations` (task type → the call at PUT) and, when the secrets are more than one
    required `api_key`, override `parse_secrets`.
    """

    task_gates: ClassVar[dict[str, Gate]] = {}
    service_fields: ClassVar[tuple[Field, ...]] = ()
    task_fields: ClassVar[tuple[Field, ...]] = ()
    rate_limits: ClassVar[dict[str, int]] = {}
    validations: ClassVar[dict[str, Validation]] = {}
    default_similarity: ClassVar[str | None] = None
    output_order: ClassVar[tuple[str, ...]] = ()
    """The order GET shows the service settings in (`toXContentFragmentOfExposedFields`)."""

    def output_order_for(self, task_type: str) -> tuple[str, ...]:
        """`output_order` for one task type (then `rate_limit`, then the rest as stored)."""
        del task_type
        return self.output_order

    def parse_secrets(self, settings: dict[str, Any], problems: Problems) -> dict[str, Any]:
        """The secrets of `settings` (removed from it), as `DefaultSecretSettings.fromMap`."""
        return {
            "api_key": extract_required_string(settings, "api_key", "secret_settings", problems)
        }

    def parse_secrets_on(
        self, settings: dict[str, Any], problems: Problems, version: EsVersion
    ) -> dict[str, Any]:
        """`parse_secrets` for a service whose secrets differ by version (OAuth2)."""
        del version
        return self.parse_secrets(settings, problems)

    def task_types(self, version: EsVersion) -> tuple[str, ...]:
        return tuple(t for t, gate in self.task_gates.items() if gate(version))

    def filtered(self, config: EndpointConfig) -> dict[str, Any]:
        out = super().filtered(config)
        settings = out["service_settings"]
        order = [*self.output_order_for(config.task_type), "rate_limit"]
        known = {k: settings[k] for k in order if k in settings}
        out["service_settings"] = {**known, **{k: v for k, v in settings.items() if k not in known}}
        return out

    def _service_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion, problems: Problems
    ) -> dict[str, Any]:
        out = extract_fields(
            self.service_fields, task_type, version, settings, "service_settings", problems
        )
        if RATE_LIMIT(version):
            rpm = extract_rate_limit(settings, self.name, version, problems)
            default = self.rate_limits[task_type]
            out["rate_limit"] = {"requests_per_minute": default if rpm is None else rpm}
        return out

    def _task_settings(
        self, task_type: str, settings: dict[str, Any], version: EsVersion
    ) -> dict[str, Any]:
        problems = Problems()
        out = extract_fields(
            self.task_fields, task_type, version, settings, "task_settings", problems
        )
        problems.raise_if_any()
        return out

    def _secrets(self, settings: dict[str, Any], version: EsVersion) -> dict[str, Any]:
        problems = Problems()
        found = self.parse_secrets_on(settings, problems, version)
        problems.raise_if_any()
        return present(found)

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        settings, task_map = self.take_settings_maps(config, task_type, version)
        settings_inserted, task_inserted = len(settings), len(task_map)
        chunking = None
        if task_type in EMBEDDING_TASKS and CHUNKING(version):
            chunking = parse_chunking_settings(config.pop("chunking_settings", None), version)
        problems = Problems()
        service_settings = self._service_settings(task_type, settings, version, problems)
        problems.raise_if_any()
        task_settings = self._task_settings(task_type, task_map, version)
        secrets = self._secrets(settings, version)
        if config:
            raise unknown_settings_error(config, self.name, version, inserted=inserted)
        if settings:
            raise unknown_settings_error(settings, self.name, version, inserted=settings_inserted)
        if task_map:
            raise unknown_settings_error(task_map, self.name, version, inserted=task_inserted)
        return EndpointConfig(task_type, service_settings, secrets, task_settings, chunking)

    def update_config(
        self, current: EndpointConfig, update: EndpointUpdate, version: EsVersion
    ) -> EndpointConfig:
        new = current.copy()
        settings = dict(update.service_settings or {})
        inserted = len(settings)
        if any(k in settings for k in self.secret_keys):
            new.secret_settings = self._secrets(settings, version)
        if update.full_update:
            if "rate_limit" in settings:
                problems = Problems()
                limit = self._service_settings(
                    current.task_type, {"rate_limit": settings.pop("rate_limit")}, version, problems
                )
                problems.raise_if_any()
                new.service_settings["rate_limit"] = limit["rate_limit"]
            for key in list(settings):
                if settings[key] == current.service_settings.get(key):
                    del settings[key]
            if settings:
                raise unknown_settings_error(settings, self.name, version, inserted=inserted)
        if update.task_settings:
            task_map = dict(update.task_settings)
            parsed = self._task_settings(current.task_type, task_map, version)
            new.task_settings = {**current.task_settings, **parsed}
            if update.full_update and task_map:
                raise unknown_settings_error(
                    task_map, self.name, version, inserted=len(update.task_settings)
                )
        if update.full_update and update.chunking_settings is not ABSENT:
            if current.task_type not in EMBEDDING_TASKS:
                raise unknown_settings_error(
                    {"chunking_settings": update.chunking_settings}, self.name, version
                )
            new.chunking_settings = parse_chunking_settings(update.chunking_settings, version)
        return new

    def validate(self, call: ServiceCall) -> EndpointConfig:
        from ..validation import send, unsuccessful_response

        config = call.config
        spec = self.validations[config.task_type]

        def attempt(seconds: float) -> int | None:
            response = send(
                call.inference_id,
                spec.url(config),
                spec.body(config),
                spec.headers(config),
                call.settings,
                seconds,
            )
            if not 200 <= response.status_code < 300:
                raise unsuccessful_response(call.inference_id, response)
            return spec.read(response_json(response))

        size = run_validation(attempt, call.seconds)
        return embedding_details(config, size, self.default_similarity)

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        described: dict[str, Setting] = {}
        for key in self.secret_keys:
            described[key] = Setting(label=key, required=False, sensitive=True, updatable=True)
        for f in self.service_fields:
            if f.since is None or f.since(version):
                described[f.name] = Setting(
                    label=f.label or f.name,
                    required=f.kind in ("required", "uri"),
                    updatable=f.updatable,
                    type="int" if f.kind == "int" else "str",
                    task_types=f.task_types,
                )
        described["rate_limit.requests_per_minute"] = Setting(
            label="Rate Limit", updatable=True, type="int"
        )
        return described


def embedding_details(
    config: EndpointConfig, size: int | None, default_similarity: str | None
) -> EndpointConfig:
    """`updateModelWithEmbeddingDetails`: the measured size, and the default similarity."""
    if config.task_type != "text_embedding" or size is None:
        return config
    updated = config.copy()
    settings = updated.service_settings
    settings["dimensions"] = size
    if settings.get("similarity") is None and default_similarity is not None:
        settings["similarity"] = default_similarity
    rate = settings.pop("rate_limit", None)
    if rate is not None:
        settings["rate_limit"] = rate
    return updated


def rerank_body(config: EndpointConfig, query: str, document: str) -> dict[str, Any]:
    """A rerank API's request for one document: the model, the query and the task settings."""
    return {
        "model": config.service_settings["model_id"],
        "query": query,
        "documents": [document],
        **config.task_settings,
    }


def list_at(key: str) -> Callable[[Any], None]:
    """A response check: a JSON object whose ``key`` is a list, else ES's parsing error."""

    def check(payload: Any) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get(key), list):
            raise parsing_error("START_OBJECT", payload)

    return check


def object_with(key: str) -> Callable[[Any], None]:
    """A response check: a JSON object that has ``key``, else ES's parsing error."""

    def check(payload: Any) -> None:
        if not isinstance(payload, dict) or key not in payload:
            raise parsing_error("START_OBJECT", payload)

    return check


def bearer_api_key(config: EndpointConfig) -> dict[str, str]:
    """`Authorization: Bearer <api_key>`, how most third-party APIs take the key."""
    return {"Authorization": f"Bearer {config.secret_settings['api_key']}"}


def embedding_size(payload: Any) -> int:
    """The size of the first vector of an OpenAI-shaped embeddings response."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise parsing_error("START_OBJECT", payload)
    data = payload["data"]
    if not data or not isinstance(data[0], dict) or not isinstance(data[0].get("embedding"), list):
        raise status_exception(EMBEDDING_SIZE_UNKNOWN)
    return len(data[0]["embedding"])


def embeddings_validation(url: str, body: Callable[[EndpointConfig], Any]) -> Validation:
    """An embeddings call at PUT to `url` with a Bearer key, answered in OpenAI's shape."""
    return Validation(lambda c: url, body, bearer_api_key, embedding_size)


def rerank_validation(url: str, results: str) -> Validation:
    """A rerank call at PUT to `url` with a Bearer key; the answer's `results` key is a list."""
    return Validation(
        lambda c: url,
        lambda c: rerank_body(c, TEST_QUERY, TEST_INPUT),
        bearer_api_key,
        list_at(results),
    )


def chat_body(config: EndpointConfig, model: str | None = None) -> dict[str, Any]:
    """The chat call at PUT in OpenAI's shape.

    The test input as the user's one message, `model` when given, one choice, streamed for
    chat_completion.
    """
    body: dict[str, Any] = {"messages": [{"role": "user", "content": TEST_INPUT}]}
    if model is not None:
        body["model"] = model
    body.update(n=1, stream=config.task_type == "chat_completion")
    return body
