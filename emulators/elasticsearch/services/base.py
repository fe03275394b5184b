"""What every emulated inference service provides, and the parsed endpoint it works on.

An `InferenceService` is the emulator's twin of ES's `InferenceService` interface
(`server/src/main/java/org/elasticsearch/inference/InferenceService.java`): it parses a PUT's
config (`parseRequestConfig`), shows an endpoint without its secrets (`toFilteredXContent`),
merges an `_update` (`updateModelWithEmbeddingDetails`/`buildModelFromConfigAndSecrets`), makes
the validation call at PUT (`ModelValidatorBuilder`), performs inference (`infer`) and
describes itself for `GET _inference/_services` (`getConfiguration`). The calls it makes to
the service for an endpoint (validation, inference, streaming) take a `ServiceCall`: the
endpoint's id and config, how the emulator reaches services and the request's `timeout`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ..errors import status_exception
from ..settings import remove_map_or_default_empty, remove_service_settings, unsupported_task_type
from ..validation import ValidationSettings
from ..versions import EsVersion

__all__ = [
    "ABSENT",
    "TASK_TYPES",
    "EndpointConfig",
    "EndpointUpdate",
    "InferenceService",
    "ServiceCall",
    "Setting",
    "describe_service",
    "rate_limit_setting",
    "secret_setting",
]

TASK_TYPES = ("text_embedding", "sparse_embedding", "rerank", "completion", "chat_completion")
"""The task types of ES's `TaskType`, in its declaration order (`any` left out)."""

ABSENT: Any = object()
"""Marks a key the `_update` body did not carry (as opposed to one sent as null)."""


@dataclass
class EndpointConfig:
    """A parsed endpoint: exposed service settings, secrets, task and chunking settings.

    `service_settings` holds only what GET shows; secrets live in `secret_settings` (ES keeps
    them in a separate `ModelSecrets` document), so secret removal on GET is by construction.
    """

    task_type: str
    service_settings: dict[str, Any]
    secret_settings: dict[str, Any]
    task_settings: dict[str, Any] = field(default_factory=dict)
    chunking_settings: dict[str, Any] | None = None

    def copy(self) -> EndpointConfig:
        """A deep copy."""
        return copy.deepcopy(self)


@dataclass(frozen=True)
class ServiceCall:
    """One call ES makes to a service for an endpoint: validation at PUT, inference, streaming.

    `timeout` is the request's `timeout` parameter (None when absent or when the version
    takes none); `settings` is how the emulator reaches services.
    """

    inference_id: str
    config: EndpointConfig
    settings: ValidationSettings
    timeout: float | None = None

    @property
    def seconds(self) -> float:
        """How long the call may take: `timeout` capped by the emulator's, at least 1 ms."""
        limit = self.settings.timeout
        if self.timeout is not None:
            limit = min(self.timeout, limit)
        return max(limit, 0.001)

    def on(self, config: EndpointConfig) -> ServiceCall:
        """The same call for another config (a probe with other secrets, say)."""
        return replace(self, config=config)


@dataclass(frozen=True)
class EndpointUpdate:
    """The parts of an `_update` body, after the REST layer took out `task_type`.

    `service_settings` and `task_settings` are None when absent; `chunking_settings` is
    `ABSENT` when the body (or the version) does not carry it. `full_update` is ES 9.4's
    rewrite (#140003: the validation call); the per-version key rules read `versions` directly.
    """

    service_settings: dict[str, Any] | None
    task_settings: dict[str, Any] | None
    chunking_settings: Any = ABSENT
    full_update: bool = False


@dataclass(frozen=True)
class Setting:
    """One field of a service's `GET _inference/_services` description (`SettingsConfiguration`).

    `task_types` None means every task type the service supports.
    """

    label: str
    description: str | None = None
    required: bool = False
    sensitive: bool = False
    updatable: bool = False
    type: str | None = "str"
    default_value: Any = None
    task_types: tuple[str, ...] | None = None


API_KEY_DESCRIPTION = "API Key for the provider you're connecting to."
"""`DefaultSecretSettings`' description of its key, which other credentials reuse."""


def secret_setting(
    label: str,
    description: str = API_KEY_DESCRIPTION,
    task_types: tuple[str, ...] | None = None,
) -> Setting:
    """A credential's field (`DefaultSecretSettings.toSettingsConfiguration` and its kin).

    Required, sensitive and updatable.
    """
    return Setting(
        label=label,
        description=description,
        required=True,
        sensitive=True,
        updatable=True,
        task_types=task_types,
    )


def rate_limit_setting(description: str = "Minimize the number of rate limit errors.") -> Setting:
    """`rate_limit.requests_per_minute` (`RateLimitSettings.toSettingsConfiguration`)."""
    return Setting(label="Rate Limit", description=description, type="int")


class InferenceService:
    """One Elasticsearch inference service (`hugging_face`, `openai`, …) as the emulator runs it.

    Subclasses set `name` (the `service` value), `display_name` and `secret_keys`, and
    implement the methods below that raise `NotImplementedError`. Every method that rejects
    input raises `EsError` with Elasticsearch's type, reason and status.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    secret_keys: ClassVar[tuple[str, ...]] = ("api_key",)
    """The `service_settings` keys ES moves into the endpoint's secrets."""

    def task_types(self, version: EsVersion) -> tuple[str, ...]:
        """The task types this service accepts on `version`, in ES's `TaskType` order."""
        raise NotImplementedError

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        """Parse a PUT body (without `service` and `task_type`) in ES's order and wording.

        The parser removes what it consumes from `config`; `inserted` is how many keys the body
        had, which fixes how ES prints leftover keys (`java_map_repr`).
        """
        raise NotImplementedError

    def take_settings_maps(
        self, config: dict[str, Any], task_type: str, version: EsVersion
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A PUT body's `service_settings` and `task_settings` maps, removed from it.

        ES's `parseRequestConfig` prelude: `service_settings` must be there
        (`removeFromMapOrThrowIfNull`), `task_settings` may be missing
        (`removeFromMapOrDefaultEmpty`), then the task type must be one the service offers.
        """
        settings = remove_service_settings(config)
        task_map = remove_map_or_default_empty(config, "task_settings")
        if task_type not in self.task_types(version):
            raise unsupported_task_type(self.name, task_type)
        return settings, task_map

    def filtered(self, config: EndpointConfig) -> dict[str, Any]:
        """What GET shows besides the id, task type and service (`toFilteredXContent`)."""
        out: dict[str, Any] = {"service_settings": copy.deepcopy(config.service_settings)}
        if config.task_settings:
            out["task_settings"] = copy.deepcopy(config.task_settings)
        if config.chunking_settings is not None:
            out["chunking_settings"] = copy.deepcopy(config.chunking_settings)
        return out

    def update_config(
        self, current: EndpointConfig, update: EndpointUpdate, version: EsVersion
    ) -> EndpointConfig:
        """Apply an `_update` to `current` and return the new config; never mutate `current`."""
        raise NotImplementedError

    def validate(self, call: ServiceCall) -> EndpointConfig:
        """Make the validation call at PUT and return `call.config` with what it discovered.

        Only called when `xpack.inference.skip_validate_and_start` is off.
        """
        raise NotImplementedError

    def infer(self, call: ServiceCall, body: dict[str, Any]) -> dict[str, Any]:
        """Perform inference (`POST _inference/...`) and return ES's response body."""
        del call, body
        raise status_exception(f"The [{self.name}] service does not support inference here")

    def stream(self, call: ServiceCall, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Perform streamed inference (`POST _inference/.../_stream`): the chunks, in order."""
        del body
        raise status_exception(
            f"Streaming is not allowed for service [{self.name}] and task"
            f" [{call.config.task_type}]",
            status=405,
        )

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        """The fields `GET _inference/_services` lists for this service, in ES's order."""
        raise NotImplementedError

    def node_started(
        self, settings: ValidationSettings, version: EsVersion
    ) -> dict[str, dict[str, Any]]:
        """What the service does as the node starts (`onNodeStarted`).

        Returns the preconfigured endpoints it adds, by id, as GET shows them; a service may
        keep what it learned in `settings.service_state`. Most services do nothing.
        """
        del settings, version
        return {}

    def offered_task_types(
        self, settings: ValidationSettings, version: EsVersion
    ) -> tuple[str, ...]:
        """The task types `GET _inference/_services` lists; none hides the service."""
        del settings
        return self.task_types(version)


def _in_task_type_order(task_types: tuple[str, ...]) -> list[str]:
    return [t for t in TASK_TYPES if t in task_types]


def describe_service(
    service: InferenceService, version: EsVersion, task_types: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """`InferenceServiceConfiguration.toXContent` for `service` on `version`.

    Fields are listed by name (ES keeps them in a `HashMap`, whose order clients cannot rely
    on); each field's keys follow `SettingsConfiguration.toXContent`, which leaves out a null
    `default_value`, `description` and `type`. Task types follow `TaskType`'s order (ES keeps
    them in `EnumSet`s). `task_types` defaults to the service's task types on `version`.
    """
    if task_types is None:
        task_types = service.task_types(version)
    configurations: dict[str, Any] = {}
    for key, setting in sorted(service.settings_description(version).items()):
        described: dict[str, Any] = {}
        if setting.default_value is not None:
            described["default_value"] = setting.default_value
        if setting.description is not None:
            described["description"] = setting.description
        described.update(
            label=setting.label,
            required=setting.required,
            sensitive=setting.sensitive,
            updatable=setting.updatable,
        )
        if setting.type is not None:
            described["type"] = setting.type
        described["supported_task_types"] = _in_task_type_order(setting.task_types or task_types)
        configurations[key] = described
    return {
        "service": service.name,
        "name": service.display_name,
        "task_types": _in_task_type_order(task_types),
        "configurations": configurations,
    }
