"""`/<index>`, `/<index>/_mapping` and `/_mapping`: indexes, kept for the `semantic_text`
reference check and the smoke test's embedding sizes."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from werkzeug.wrappers import Request

from emulators.admin import mark_mutated

from ..errors import EsError
from ..resources import index_not_found, validate_index_name
from ..rest import check_params, param_as_time, parse_json_object
from .context import Cluster, Route

__all__ = [
    "ROUTES",
    "create_index",
    "delete_index",
    "get_all_mappings",
    "get_index",
    "get_mapping",
]


def get_index(cluster: Cluster, request: Request, index: str) -> tuple[Any, int]:
    """One index's aliases, mappings and settings."""
    check_params(
        request.path,
        request.args,
        ("master_timeout", "flat_settings", "include_defaults"),
        ("index",),
    )
    with cluster.store.lock:
        stored = cluster.store.indexes.get(index)
    if stored is None:
        raise index_not_found(index)
    return {
        index: {
            "aliases": stored["aliases"],
            "mappings": stored["mappings"],
            "settings": {
                "index": {"uuid": stored["uuid"], "provided_name": index, **stored["settings"]}
            },
        }
    }, 200


def create_index(cluster: Cluster, request: Request, index: str) -> tuple[Any, int]:
    """Create an index once; a second create is `resource_already_exists_exception`."""
    param_as_time(request.args, "master_timeout")
    param_as_time(request.args, "timeout")
    check_params(
        request.path,
        request.args,
        ("master_timeout", "timeout", "wait_for_active_shards"),
        ("index",),
    )
    validate_index_name(index)
    data = request.get_data(cache=True)
    body = parse_json_object(data) if data.strip() else {}
    store = cluster.store
    with store.lock:
        if index in store.indexes:
            uuid = store.indexes[index]["uuid"]
            raise EsError(
                "resource_already_exists_exception",
                f"index [{index}/{uuid}] already exists",
                metadata={"index_uuid": uuid, "index": index},
            )
        store.indexes[index] = {
            "uuid": secrets.token_urlsafe(16)[:22],
            "mappings": copy.deepcopy(body.get("mappings") or {}),
            "settings": copy.deepcopy(body.get("settings") or {}),
            "aliases": copy.deepcopy(body.get("aliases") or {}),
        }
    mark_mutated(request)
    return {"acknowledged": True, "shards_acknowledged": True, "index": index}, 200


def delete_index(cluster: Cluster, request: Request, index: str) -> tuple[Any, int]:
    """Delete one index; `index_not_found_exception` when it is missing."""
    param_as_time(request.args, "master_timeout")
    param_as_time(request.args, "timeout")
    check_params(
        request.path,
        request.args,
        ("master_timeout", "timeout", "ignore_unavailable", "allow_no_indices", "expand_wildcards"),
        ("index",),
    )
    store = cluster.store
    with store.lock:
        if index not in store.indexes:
            raise index_not_found(index)
        del store.indexes[index]
    mark_mutated(request)
    return {"acknowledged": True}, 200


def get_mapping(cluster: Cluster, request: Request, index: str) -> tuple[Any, int]:
    """One index's mappings."""
    check_params(request.path, request.args, ("master_timeout", "local"), ("index",))
    with cluster.store.lock:
        stored = cluster.store.indexes.get(index)
    if stored is None:
        raise index_not_found(index)
    return {index: {"mappings": stored["mappings"]}}, 200


def get_all_mappings(cluster: Cluster, request: Request) -> tuple[Any, int]:
    """`GET /_mapping`: every index's mappings, by index name."""
    check_params(request.path, request.args, ("master_timeout", "local"))
    with cluster.store.lock:
        indexes = dict(cluster.store.indexes)
    return {name: {"mappings": indexes[name]["mappings"]} for name in sorted(indexes)}, 200


ROUTES = (
    Route("/_mapping", ("GET",), get_all_mappings),
    Route("/<index>", ("GET",), get_index),
    Route("/<index>", ("PUT",), create_index),
    Route("/<index>", ("DELETE",), delete_index),
    Route("/<index>/_mapping", ("GET",), get_mapping),
)
