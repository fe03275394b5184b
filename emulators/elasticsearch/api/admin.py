"""The emulator's own view and edit of stored endpoints (`/_emulator/endpoints`), out of band.

`PATCH` is a JSON merge patch of what a real cluster could hold but the REST API would refuse
to store (for example a different url), so tests can make drift. Secrets are shown hashed.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from werkzeug.wrappers import Request

from ..endpoints import merge_patch
from ..services import SERVICES
from .context import Cluster

__all__ = ["get_endpoint", "list_endpoints", "patch_endpoint"]


def _missing(inference_id: str) -> tuple[Any, int]:
    return {"error": f"no stored endpoint [{inference_id}]"}, 404


def list_endpoints(cluster: Cluster, request: Request) -> tuple[Any, int]:
    """Every stored endpoint (preconfigured ones excluded), sorted by id."""
    store = cluster.store
    with store.lock:
        views = [store.endpoints[k].admin_view() for k in sorted(store.endpoints)]
    return {"endpoints": views}, 200


def get_endpoint(cluster: Cluster, request: Request, inference_id: str) -> tuple[Any, int]:
    """One stored endpoint, secrets hashed."""
    with cluster.store.lock:
        stored = cluster.store.endpoints.get(inference_id)
    if stored is None:
        return _missing(inference_id)
    return stored.admin_view(), 200


def patch_endpoint(
    cluster: Cluster, request: Request, inference_id: str, patch: Any
) -> tuple[Any, int]:
    """Merge `patch` into a stored endpoint; a secret key in `service_settings` sets the secret."""
    if not isinstance(patch, dict) or "inference_id" in patch:
        return {"error": "the patch must be an object without inference_id"}, 400
    store = cluster.store
    with store.lock:
        stored = store.endpoints.get(inference_id)
        if stored is None:
            return _missing(inference_id)
        config = stored.config.copy()
        service = stored.service
        settings_patch = dict(patch.get("service_settings") or {})
        implementation = SERVICES.get(service)
        for key in implementation.secret_keys if implementation else ("api_key",):
            secret = settings_patch.pop(key, None)
            if secret is not None:
                config.secret_settings[key] = str(secret)
        merge_patch(config.service_settings, settings_patch)
        if "task_type" in patch:
            config.task_type = str(patch["task_type"])
        if "service" in patch:
            service = str(patch["service"])
        if "task_settings" in patch:
            if patch["task_settings"] is None:
                config.task_settings = {}
            else:
                merge_patch(config.task_settings, dict(patch["task_settings"]))
        if "chunking_settings" in patch:
            value = patch["chunking_settings"]
            if value is None or config.chunking_settings is None:
                config.chunking_settings = copy.deepcopy(value)
            else:
                merge_patch(config.chunking_settings, dict(value))
        stored = replace(stored, service=service, config=config)
        store.endpoints[inference_id] = stored
        return stored.admin_view(), 200
