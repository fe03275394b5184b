"""The `elasticsearch` inference service: trained models deployed on the cluster's own ML nodes.

Follows `ElasticsearchInternalService.parseRequestConfig` (service_settings required; chunking
for sparse/text embeddings; `deployment_id` attaches to an existing deployment and fills the
model and its allocation settings in, "Cannot find deployment [x]" (404) otherwise; without
one, `model_id` must be given, "Error parsing service settings, model_id must be provided")
and `ElasticsearchInternalServiceSettings.fromMap` (num_allocations, num_threads required,
adaptive_allocations, model_id; "does not contain one of the required settings
[num_allocations, adaptive_allocations]"). Starting the deployment applies
`StartTrainedModelDeploymentAction.Request.validate`: threads per allocation a power of 2 up to
32, and no num_allocations while adaptive allocations are enabled. Built-in models are ELSER
(sparse_embedding), E5 (text_embedding: dimensions 384, cosine, float) and `.rerank-v1`
(rerank); any other model id is an Eland model the emulator does not have.

The deployment lives as long as its endpoint. Under adaptive allocations GET shows the current
`num_allocations`, which moves between the bounds with simulated load every
`ADAPTIVE_PERIOD` seconds (`GetDeploymentStats`, `updateModelsWithDynamicFields`).

`_update` (`TransportUpdateInferenceModelAction.updateInClusterEndpoint`) changes only
`num_allocations` and fails without it ("Failed to parse [num_allocations] of update
request …"); a `num_threads` in it is ignored until 9.2 (#137129) and refused from 9.3
(#138122, backported to 9.2.x: the patch is UNCONFIRMED, so 9.2 keeps ignoring it here).
`TransportUpdateInferenceModelAction` builds the merged model before it branches to
`updateInClusterEndpoint`, so the chunking reset of 8.17-9.2.5 and 9.3.0 (#139574, behaviour
rule `update.chunking_reset`, applied for every service in `api/inference.py`) holds here too.

Choices where the sources could not settle it:
- a built-in model asked for the wrong task type fails as "Model [m] does not support task type
  [t]"; the real check runs through the model's inference config (wording UNCONFIRMED).
- the update error quotes the body as compact JSON.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from ..chunking import parse_chunking_settings
from ..errors import EsError, action_request_validation_exception, status_exception
from ..settings import (
    Problems,
    class_cast_exception,
    extract_optional_positive_integer,
    extract_optional_string,
    present,
    remove_as_type,
    unknown_settings_error,
)
from ..versions import CHUNKING, EsVersion, Gate
from .base import EndpointConfig, EndpointUpdate, InferenceService, ServiceCall, Setting

__all__ = ["ElasticsearchService"]

ELSER = (".elser_model_2", ".elser_model_2_linux-x86_64")
E5 = (".multilingual-e5-small", ".multilingual-e5-small_linux-x86_64")
RERANKER = ".rerank-v1"
_MODEL_TASK = {**dict.fromkeys(ELSER, "sparse_embedding"), **dict.fromkeys(E5, "text_embedding")}
_MODEL_TASK[RERANKER] = "rerank"
# Deployments the preconfigured endpoints run (their deployment ids are their inference ids).
_DEFAULT_DEPLOYMENTS = {
    ".elser-2-elasticsearch": ".elser_model_2",
    ".multilingual-e5-small-elasticsearch": ".multilingual-e5-small",
    ".rerank-v1-elasticsearch": RERANKER,
}
_RERANK = Gate((8, 15))
_THREADS_REFUSED = Gate(None, (9, 3))
_STARTED = "_deployment_started"
_OUTPUT = ("num_allocations", "num_threads", "model_id", "adaptive_allocations", "deployment_id")
_E5_DETAILS = {"dimensions": 384, "similarity": "cosine", "element_type": "float"}


def _ordered(settings: dict[str, Any]) -> dict[str, Any]:
    known = {k: settings[k] for k in _OUTPUT if settings.get(k) is not None}
    return {**known, **{k: v for k, v in settings.items() if k not in known and v is not None}}


def _adaptive(settings: dict[str, Any], problems: Problems) -> dict[str, Any] | None:
    raw = settings.pop("adaptive_allocations", None)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise class_cast_exception(raw)
    enabled = remove_as_type(raw, "enabled", ["Boolean"], problems)
    low = remove_as_type(raw, "min_number_of_allocations", ["Integer"], problems)
    high = remove_as_type(raw, "max_number_of_allocations", ["Integer"], problems)
    if raw:
        problems.add(f"[adaptive_allocations] unknown settings {sorted(raw)}")
    return present(
        {"enabled": enabled, "min_number_of_allocations": low, "max_number_of_allocations": high}
    )


class ElasticsearchService(InferenceService):
    """Models on the cluster's ML nodes (ELSER, E5, the Elastic reranker), as `elasticsearch`."""

    name = "elasticsearch"
    display_name = "Elasticsearch"
    secret_keys = ()
    ADAPTIVE_PERIOD: ClassVar[float] = 0.5

    def task_types(self, version: EsVersion) -> tuple[str, ...]:
        types = ["text_embedding", "sparse_embedding"]
        if _RERANK(version):
            types.insert(0, "rerank")
        return tuple(types)

    def parse_request_config(
        self, config: dict[str, Any], task_type: str, version: EsVersion, *, inserted: int
    ) -> EndpointConfig:
        settings, task_map = self.take_settings_maps(config, task_type, version)
        settings_inserted = len(settings)
        chunking = None
        if task_type in ("text_embedding", "sparse_embedding") and CHUNKING(version):
            chunking = parse_chunking_settings(config.pop("chunking_settings", None), version)
        if config:
            raise unknown_settings_error(config, self.name, version, inserted=inserted)
        deployment_id = settings.get("deployment_id")
        if deployment_id is not None:
            parsed = self._attach(settings, str(deployment_id), task_type)
        elif settings.get("model_id") is None:
            raise EsError(
                "illegal_argument_exception",
                "Error parsing service settings, model_id must be provided",
            )
        else:
            parsed = self._new_deployment(settings, task_type)
        if settings:
            raise unknown_settings_error(settings, self.name, version, inserted=settings_inserted)
        task_settings: dict[str, Any] = {}
        if task_type == "rerank":
            problems = Problems()
            returned = remove_as_type(task_map, "return_documents", ["Boolean"], problems)
            problems.raise_if_any()
            task_settings = {"return_documents": True if returned is None else bool(returned)}
        if task_map:
            raise unknown_settings_error(task_map, self.name, version, inserted=len(task_map))
        return EndpointConfig(task_type, parsed, {}, task_settings, chunking)

    def _attach(
        self, settings: dict[str, Any], deployment_id: str, task_type: str
    ) -> dict[str, Any]:
        settings.pop("deployment_id")
        requested = settings.pop("model_id", None)
        model = _DEFAULT_DEPLOYMENTS.get(deployment_id)
        if model is None:
            raise status_exception(f"Cannot find deployment [{deployment_id}]", status=404)
        if requested is not None and requested != model:
            raise status_exception(
                f"Deployment [{deployment_id}] uses model [{model}] which does not match the"
                f" model [{requested}] in the request."
            )
        self._check_task(model, task_type)
        out = {
            "num_threads": 1,
            "model_id": model,
            "deployment_id": deployment_id,
            "adaptive_allocations": {
                "enabled": True,
                "min_number_of_allocations": 0,
                "max_number_of_allocations": 32,
            },
        }
        return self._details(out, task_type)

    def _new_deployment(self, settings: dict[str, Any], task_type: str) -> dict[str, Any]:
        problems = Problems()
        scope = "service_settings"
        allocations = extract_optional_positive_integer(
            settings, "num_allocations", scope, problems
        )
        before = len(problems)
        threads = remove_as_type(settings, "num_threads", ["Integer"], problems)
        if len(problems) == before and threads is None:
            problems.add(f"[{scope}] does not contain the required setting [num_threads]")
        elif threads is not None and threads <= 0:
            problems.add(
                f"[{scope}] Invalid value [{threads}]. [num_threads] must be a positive integer"
            )
        adaptive = _adaptive(settings, problems)
        model_id = extract_optional_string(settings, "model_id", scope, problems)
        if allocations is None and adaptive is None:
            problems.add(
                f"[{scope}] does not contain one of the required settings"
                " [num_allocations, adaptive_allocations]"
            )
        problems.raise_if_any()
        assert model_id is not None and isinstance(threads, int)
        if model_id not in _MODEL_TASK:
            raise EsError(
                "illegal_argument_exception",
                "Error parsing request config, model id does not match any models available on"
                f" this platform. Was [{model_id}]. You may need to load it into the cluster"
                " using eland.",
            )
        self._check_task(model_id, task_type)
        start: list[str] = []
        if threads & (threads - 1) or threads > 32:
            start.append("[threads_per_allocation] must be a power of 2 less than or equal to 32")
        if allocations is not None and adaptive is not None and adaptive.get("enabled") is True:
            start.append("[number_of_allocations] cannot be set if adaptive allocations is enabled")
        if start:
            raise action_request_validation_exception(start)
        out: dict[str, Any] = {
            "num_allocations": allocations,
            "num_threads": threads,
            "model_id": model_id,
            "adaptive_allocations": adaptive,
            _STARTED: time.time(),
        }
        return self._details(out, task_type)

    @staticmethod
    def _check_task(model_id: str, task_type: str) -> None:
        if _MODEL_TASK.get(model_id) != task_type:
            raise status_exception(f"Model [{model_id}] does not support task type [{task_type}]")

    @staticmethod
    def _details(settings: dict[str, Any], task_type: str) -> dict[str, Any]:
        if task_type == "text_embedding":
            settings.update(_E5_DETAILS)
        return _ordered(settings)

    def filtered(self, config: EndpointConfig) -> dict[str, Any]:
        out = super().filtered(config)
        settings = out["service_settings"]
        started = settings.pop(_STARTED, None)
        adaptive = settings.get("adaptive_allocations") or {}
        if adaptive.get("enabled") is True and started is not None:
            low = int(adaptive.get("min_number_of_allocations", 0))
            high = int(adaptive.get("max_number_of_allocations", low + 2))
            span = max(high - low, 0) + 1
            steps = int((time.time() - float(started)) / self.ADAPTIVE_PERIOD)
            settings["num_allocations"] = low + steps % span
        out["service_settings"] = _ordered(settings)
        return out

    def update_config(
        self, current: EndpointConfig, update: EndpointUpdate, version: EsVersion
    ) -> EndpointConfig:
        settings = dict(update.service_settings or {})
        if "num_threads" in settings and _THREADS_REFUSED(version):
            raise EsError(
                "validation_exception", "Validation Failed: 1: [num_threads] cannot be updated;"
            )
        allocations = settings.get("num_allocations")
        if not isinstance(allocations, int) or isinstance(allocations, bool):
            body = {
                k: v
                for k, v in (
                    ("service_settings", update.service_settings),
                    ("task_settings", update.task_settings),
                )
                if v is not None
            }
            raise status_exception(
                "Failed to parse [num_allocations] of update request"
                f" [{json.dumps(body, separators=(',', ':'))}]"
            )
        new = current.copy()
        new.service_settings["num_allocations"] = allocations
        new.service_settings = _ordered(new.service_settings)
        return new

    def validate(self, call: ServiceCall) -> EndpointConfig:
        # In-cluster models make no outside call: PUT starts (or attaches to) the deployment.
        return call.config

    def settings_description(self, version: EsVersion) -> dict[str, Setting]:
        del version
        return {
            "model_id": Setting(
                label="Model ID",
                required=True,
                description="The name of the model to use for the inference task.",
            ),
            "num_allocations": Setting(
                label="Number Allocations",
                required=True,
                updatable=True,
                type="int",
                default_value=1,
                description="The total number of allocations this model is assigned across"
                " machine learning nodes.",
            ),
            "num_threads": Setting(
                label="Number Threads",
                required=True,
                type="int",
                default_value=2,
                description="Sets the number of threads used by each model allocation during"
                " inference.",
            ),
        }
