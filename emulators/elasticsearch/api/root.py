"""`GET /`: the node's name, cluster and version (`RestMainAction`)."""

from __future__ import annotations

import hashlib
from typing import Any

from werkzeug.wrappers import Request

from ..rest import check_params
from .context import Cluster, Route

__all__ = ["ROUTES", "info"]


def info(cluster: Cluster, request: Request) -> tuple[Any, int]:
    """The main action's body, with version fields of the impersonated release."""
    check_params(request.path, request.args, ())
    v = cluster.version
    return {
        "name": "es-emulator-0",
        "cluster_name": cluster.cluster_name,
        "cluster_uuid": cluster.store.cluster_uuid,
        "version": {
            "number": str(v),
            "build_flavor": "default",
            "build_type": "docker",
            "build_hash": hashlib.sha1(str(v).encode()).hexdigest(),
            "build_date": "2025-01-01T00:00:00.000000000Z",
            "build_snapshot": False,
            "lucene_version": "10.2.2" if v.major >= 9 else "9.12.2",
            "minimum_wire_compatibility_version": "8.19.0" if v.major >= 9 else "7.17.0",
            "minimum_index_compatibility_version": "8.0.0" if v.major >= 9 else "7.0.0",
        },
        "tagline": "You Know, for Search",
    }, 200


ROUTES = (Route("/", ("GET",), info),)
