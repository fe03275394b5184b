"""Inference endpoints as stored and shown: the stored record, default endpoints, id and
task-type rules (`MlStrings.isValidId`, `TaskType.fromStringOrStatusException`,
`ServiceUtils.resolveTaskType`).
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from .errors import action_request_validation_exception, status_exception
from .java_format import java_repr
from .services import SERVICES
from .services.base import EndpointConfig, InferenceService
from .versions import DEFAULT_ENDPOINTS, DEFAULT_RERANK_ENDPOINT, EsVersion

__all__ = [
    "TASK_TYPES",
    "StoredEndpoint",
    "merge_patch",
    "parse_task_type",
    "preconfigured_endpoints",
    "resolve_task_type",
    "validate_id",
]

TASK_TYPES = ("text_embedding", "sparse_embedding", "rerank", "completion", "chat_completion")
_VALID_ID = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?")
_ADAPTIVE = {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 32}
_DEFAULT_CHUNKING = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}
# An endpoint whose service the admin API changed to one the emulator lacks shows the default way.
_ANY_SERVICE = InferenceService()


def preconfigured_endpoints(version: EsVersion) -> dict[str, dict[str, Any]]:
    """The preconfigured endpoints a cluster of this version lists (ids start with a dot)."""

    def endpoint(inference_id: str, task_type: str, model_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "inference_id": inference_id,
            "task_type": task_type,
            "service": "elasticsearch",
            "service_settings": {
                "num_threads": 1,
                "model_id": model_id,
                "adaptive_allocations": dict(_ADAPTIVE),
            },
        }
        if task_type == "rerank":
            out["task_settings"] = {"return_documents": True}
        else:
            out["chunking_settings"] = dict(_DEFAULT_CHUNKING)
        return out

    if not DEFAULT_ENDPOINTS(version):
        return {}
    defaults = [
        endpoint(".elser-2-elasticsearch", "sparse_embedding", ".elser_model_2"),
        endpoint(
            ".multilingual-e5-small-elasticsearch", "text_embedding", ".multilingual-e5-small"
        ),
    ]
    if DEFAULT_RERANK_ENDPOINT(version):
        defaults.append(endpoint(".rerank-v1-elasticsearch", "rerank", ".rerank-v1"))
    return {d["inference_id"]: d for d in defaults}


@dataclass(frozen=True)
class StoredEndpoint:
    """An endpoint as the emulator stores it: id, service and parsed config (with the secret).

    Frozen, and its config is never edited in place: a change stores a new record.
    """

    inference_id: str
    service: str
    config: EndpointConfig

    def public(self) -> dict[str, Any]:
        """`toFilteredXContent`: no secrets, as the endpoint's service shows it."""
        service = SERVICES.get(self.service, _ANY_SERVICE)
        return {
            "inference_id": self.inference_id,
            "task_type": self.config.task_type,
            "service": self.service,
            **service.filtered(self.config),
        }

    def admin_view(self) -> dict[str, Any]:
        """The stored form for the admin API: everything, with the secret hashed."""
        out = self.public()
        for key, secret in self.config.secret_settings.items():
            out["service_settings"][f"{key}_sha256"] = hashlib.sha256(
                str(secret).encode()
            ).hexdigest()
        out["task_settings"] = dict(self.config.task_settings)
        out["chunking_settings"] = copy.deepcopy(self.config.chunking_settings)
        return out


def parse_task_type(text: Any) -> str:
    """`TaskType.fromStringOrStatusException`: trimmed, case-insensitive; `any` allowed."""
    value = java_repr(text)
    normalised = value.strip().lower()
    if normalised in (*TASK_TYPES, "any"):
        return normalised
    raise status_exception(f"Unknown task_type [{value}]")


def resolve_task_type(url_task: str, body_task: Any) -> str:
    """`ServiceUtils.resolveTaskType`: reconcile the URL's task type with the body's."""
    if body_task is None:
        if url_task == "any":
            raise status_exception("model is missing required setting [task_type]")
        return url_task
    parsed = parse_task_type(body_task)
    if parsed == "any":
        raise status_exception("task_type [any] is not valid type for inference")
    if url_task not in ("any", parsed):
        raise status_exception(
            "Cannot resolve conflicting task_type parameter in the request URL"
            f" [{url_task}] and the request body [{java_repr(body_task)}]"
        )
    return parsed


def validate_id(inference_id: str) -> None:
    """`MlStrings.isValidId`, as `PutInferenceModelAction.Request.validate` reports it."""
    if _VALID_ID.fullmatch(inference_id) is None or inference_id == "_all":
        raise action_request_validation_exception(
            [
                f"Invalid inference_id; '{inference_id}' can contain lowercase alphanumeric"
                " (a-z and 0-9), hyphens or underscores; must start and end with alphanumeric"
            ]
        )


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Apply a JSON merge patch (RFC 7386) to `target` in place; null deletes a key."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
