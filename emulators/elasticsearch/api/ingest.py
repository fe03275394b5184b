"""`/_ingest/pipeline`: pipelines, kept for DELETE's reference check on inference endpoints."""

from __future__ import annotations

import fnmatch
from typing import Any

from werkzeug.wrappers import Request

from emulators.admin import mark_mutated

from ..errors import resource_not_found_exception
from ..resources import parse_pipeline
from ..rest import check_params, param_as_time, parse_json_object, required_content
from .context import Cluster, Route

__all__ = ["ROUTES", "delete_pipeline", "get_pipelines", "put_pipeline"]


def get_pipelines(
    cluster: Cluster, request: Request, pipeline_id: str | None = None
) -> tuple[Any, int]:
    """Pipelines by id or comma-separated wildcard patterns; 404 (empty) when none match."""
    param_as_time(request.args, "master_timeout")
    check_params(request.path, request.args, ("master_timeout", "summary"), ("id",))
    store = cluster.store
    with store.lock:
        found = {
            name: store.pipelines[name]
            for name in sorted(store.pipelines)
            if pipeline_id is None
            or any(fnmatch.fnmatchcase(name, p) for p in pipeline_id.split(","))
        }
    # Stored pipelines are replaced, never edited, so they need no copy.
    return found, 200 if found or pipeline_id is None else 404


def put_pipeline(cluster: Cluster, request: Request, pipeline_id: str) -> tuple[Any, int]:
    """Store a pipeline (its `inference` processors are what reference endpoints)."""
    param_as_time(request.args, "master_timeout")
    param_as_time(request.args, "timeout")
    data = required_content(request)
    check_params(request.path, request.args, ("master_timeout", "timeout", "if_version"), ("id",))
    pipeline = parse_pipeline(parse_json_object(data))
    with cluster.store.lock:
        cluster.store.pipelines[pipeline_id] = pipeline
    mark_mutated(request)
    return {"acknowledged": True}, 200


def delete_pipeline(cluster: Cluster, request: Request, pipeline_id: str) -> tuple[Any, int]:
    """Delete one pipeline; 404 when it is missing."""
    param_as_time(request.args, "master_timeout")
    param_as_time(request.args, "timeout")
    check_params(request.path, request.args, ("master_timeout", "timeout"), ("id",))
    store = cluster.store
    with store.lock:
        if pipeline_id not in store.pipelines:
            raise resource_not_found_exception(f"pipeline [{pipeline_id}] is missing")
        del store.pipelines[pipeline_id]
    mark_mutated(request)
    return {"acknowledged": True}, 200


ROUTES = (
    Route("/_ingest/pipeline", ("GET",), get_pipelines),
    Route("/_ingest/pipeline/<pipeline_id>", ("GET",), get_pipelines),
    Route("/_ingest/pipeline/<pipeline_id>", ("PUT",), put_pipeline),
    Route("/_ingest/pipeline/<pipeline_id>", ("DELETE",), delete_pipeline),
)
