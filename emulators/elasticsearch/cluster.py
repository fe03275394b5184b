"""Cluster settings, ingest pipelines and indexes: the cluster state around inference endpoints.

Pipelines and `semantic_text` indexes are what DELETE's reference check (409) looks at;
`xpack.inference.skip_validate_and_start` turns the PUT-time validation call off.
"""

from __future__ import annotations

import copy
import fnmatch
import secrets
import threading
from typing import Any

from werkzeug.wrappers import Request

from emulators.admin import mark_mutated

from .errors import EsError, action_request_validation_exception, resource_not_found_exception
from .java_format import java_hash_order, java_repr
from .resources import (
    index_not_found,
    mapping_inference_ids,
    parse_pipeline,
    pipeline_model_ids,
    validate_index_name,
)
from .rest import (
    check_params,
    param_as_boolean,
    param_as_time,
    parse_json_object,
    required_content,
)

__all__ = ["SKIP_VALIDATION_SETTING", "ClusterState"]

SKIP_VALIDATION_SETTING = "xpack.inference.skip_validate_and_start"
_KNOWN_SETTINGS = (SKIP_VALIDATION_SETTING,)


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            out.update(_flatten(child, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


class ClusterState:
    """Mixin holding cluster settings, pipelines and indexes, with their REST handlers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pipelines: dict[str, dict[str, Any]] = {}
        self._indexes: dict[str, dict[str, Any]] = {}
        self._settings: dict[str, dict[str, str]] = {"persistent": {}, "transient": {}}

    def reset_cluster_state(self) -> None:
        """Forget pipelines, indexes and cluster settings."""
        with self._lock:
            self._pipelines.clear()
            self._indexes.clear()
            self._settings = {"persistent": {}, "transient": {}}

    def restore_cluster_state(
        self,
        pipelines: dict[str, dict[str, Any]],
        indexes: dict[str, dict[str, Any]],
        persistent_settings: dict[str, str],
    ) -> None:
        """Replace pipelines, indexes and persistent settings; transient settings start empty."""
        with self._lock:
            self._pipelines = pipelines
            self._indexes = indexes
            self._settings = {"persistent": persistent_settings, "transient": {}}

    @property
    def skip_validation(self) -> bool:
        """Whether `xpack.inference.skip_validate_and_start` is set (transient wins)."""
        with self._lock:
            value = self._settings["transient"].get(
                SKIP_VALIDATION_SETTING, self._settings["persistent"].get(SKIP_VALIDATION_SETTING)
            )
        return value == "true"

    def references(self, inference_id: str) -> tuple[list[str], list[str]]:
        """Pipelines and indexes that use `inference_id`, in Java set order."""
        with self._lock:
            pipelines = [
                p for p, body in self._pipelines.items() if inference_id in pipeline_model_ids(body)
            ]
            indexes = [
                i
                for i, body in self._indexes.items()
                if inference_id in mapping_inference_ids(body["mappings"])
            ]
        return java_hash_order(pipelines), java_hash_order(indexes)

    def _cluster_settings(self, request: Request) -> tuple[Any, int]:
        args = request.args
        if request.method == "GET":
            flat = param_as_boolean(args, "flat_settings", False)
            defaults = param_as_boolean(args, "include_defaults", False)
            param_as_time(args, "master_timeout")
            check_params(
                request.path,
                args,
                ("flat_settings", "include_defaults", "master_timeout", "timeout"),
            )
            with self._lock:
                scopes = {k: dict(v) for k, v in self._settings.items()}
            out: dict[str, Any] = {k: (v if flat else _nest(v)) for k, v in scopes.items()}
            if defaults:
                default = {SKIP_VALIDATION_SETTING: "false"}
                out["defaults"] = default if flat else _nest(default)
            return out, 200
        flat = param_as_boolean(args, "flat_settings", False)
        param_as_time(args, "master_timeout")
        param_as_time(args, "timeout")
        data = required_content(request)
        check_params(request.path, args, ("flat_settings", "master_timeout", "timeout"))
        body = parse_json_object(data)
        updates: dict[str, dict[str, str | None]] = {}
        for scope in ("persistent", "transient"):
            section = body.get(scope) or {}
            for key, value in _flatten(section).items():
                if key not in _KNOWN_SETTINGS:
                    raise EsError(
                        "illegal_argument_exception", f"{scope} setting [{key}], not recognized"
                    )
                if value is not None and java_repr(value) not in ("true", "false"):
                    raise EsError(
                        "illegal_argument_exception",
                        f"Failed to parse value [{java_repr(value)}] as only [true] or [false]"
                        " are allowed.",
                    )
                updates.setdefault(scope, {})[key] = None if value is None else java_repr(value)
        if not updates:
            raise action_request_validation_exception(["no settings to update"])
        echoed: dict[str, dict[str, str]] = {"persistent": {}, "transient": {}}
        with self._lock:
            for scope, values in updates.items():
                for key, value in values.items():
                    if value is None:
                        self._settings[scope].pop(key, None)
                    else:
                        self._settings[scope][key] = value
                        echoed[scope][key] = value
        mark_mutated(request)
        return {
            "acknowledged": True,
            **{k: (v if flat else _nest(v)) for k, v in echoed.items()},
        }, 200

    # Ingest pipelines and indexes.

    def _pipeline(self, request: Request, pipeline_id: str | None = None) -> tuple[Any, int]:
        args = request.args
        if request.method in ("GET", "HEAD"):
            param_as_time(args, "master_timeout")
            check_params(request.path, args, ("master_timeout", "summary"), ("id",))
            with self._lock:
                names = [
                    n
                    for n in sorted(self._pipelines)
                    if pipeline_id is None
                    or any(fnmatch.fnmatchcase(n, p) for p in pipeline_id.split(","))
                ]
                found = {n: copy.deepcopy(self._pipelines[n]) for n in names}
            return found, 200 if found or pipeline_id is None else 404
        assert pipeline_id is not None
        param_as_time(args, "master_timeout")
        param_as_time(args, "timeout")
        if request.method == "DELETE":
            check_params(request.path, args, ("master_timeout", "timeout"), ("id",))
            with self._lock:
                if pipeline_id not in self._pipelines:
                    raise resource_not_found_exception(f"pipeline [{pipeline_id}] is missing")
                del self._pipelines[pipeline_id]
            mark_mutated(request)
            return {"acknowledged": True}, 200
        data = required_content(request)
        check_params(request.path, args, ("master_timeout", "timeout", "if_version"), ("id",))
        pipeline = parse_pipeline(parse_json_object(data))
        with self._lock:
            self._pipelines[pipeline_id] = pipeline
        mark_mutated(request)
        return {"acknowledged": True}, 200

    def _index(self, request: Request, index: str) -> tuple[Any, int]:
        args = request.args
        if request.method in ("GET", "HEAD"):
            check_params(
                request.path,
                args,
                ("master_timeout", "flat_settings", "include_defaults"),
                ("index",),
            )
            with self._lock:
                stored = copy.deepcopy(self._indexes.get(index))
            if stored is None:
                raise index_not_found(index)
            return {
                index: {
                    "aliases": stored["aliases"],
                    "mappings": stored["mappings"],
                    "settings": {
                        "index": {
                            "uuid": stored["uuid"],
                            "provided_name": index,
                            **stored["settings"],
                        }
                    },
                }
            }, 200
        param_as_time(args, "master_timeout")
        param_as_time(args, "timeout")
        if request.method == "DELETE":
            check_params(
                request.path,
                args,
                (
                    "master_timeout",
                    "timeout",
                    "ignore_unavailable",
                    "allow_no_indices",
                    "expand_wildcards",
                ),
                ("index",),
            )
            with self._lock:
                if index not in self._indexes:
                    raise index_not_found(index)
                del self._indexes[index]
            mark_mutated(request)
            return {"acknowledged": True}, 200
        check_params(
            request.path, args, ("master_timeout", "timeout", "wait_for_active_shards"), ("index",)
        )
        validate_index_name(index)
        data = request.get_data(cache=True)
        body = parse_json_object(data) if data.strip() else {}
        with self._lock:
            if index in self._indexes:
                uuid = self._indexes[index]["uuid"]
                raise EsError(
                    "resource_already_exists_exception",
                    f"index [{index}/{uuid}] already exists",
                    metadata={"index_uuid": uuid, "index": index},
                )
            self._indexes[index] = {
                "uuid": secrets.token_urlsafe(16)[:22],
                "mappings": copy.deepcopy(body.get("mappings") or {}),
                "settings": copy.deepcopy(body.get("settings") or {}),
                "aliases": copy.deepcopy(body.get("aliases") or {}),
            }
        mark_mutated(request)
        return {"acknowledged": True, "shards_acknowledged": True, "index": index}, 200

    def _all_mappings(self, request: Request) -> tuple[Any, int]:
        check_params(request.path, request.args, ("master_timeout", "local"))
        with self._lock:
            return {
                name: {"mappings": copy.deepcopy(stored["mappings"])}
                for name, stored in sorted(self._indexes.items())
            }, 200

    def _mapping(self, request: Request, index: str) -> tuple[Any, int]:
        check_params(request.path, request.args, ("master_timeout", "local"), ("index",))
        with self._lock:
            stored = self._indexes.get(index)
            if stored is None:
                raise index_not_found(index)
            return {index: {"mappings": copy.deepcopy(stored["mappings"])}}, 200
