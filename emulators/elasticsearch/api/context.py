"""What every REST handler is given (the cluster), and how a module declares its routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..store import ClusterStore
from ..validation import ValidationSettings
from ..versions import EsVersion, Gate

__all__ = ["Cluster", "Handler", "Route"]


@dataclass(frozen=True)
class Cluster:
    """The emulated node: its state, the version it impersonates, its name, its outbound rules."""

    store: ClusterStore
    version: EsVersion
    validation: ValidationSettings
    cluster_name: str


Handler = Callable[..., tuple[Any, int]]
"""`handler(cluster, request, **path_args)`: the response body and status."""


def _always(version: EsVersion) -> bool:
    del version
    return True


@dataclass(frozen=True)
class Route:
    """A path (werkzeug syntax), the methods it answers, its handler and the versions it exists on.

    A GET route answers HEAD too, as ES's `RestController` does.
    """

    path: str
    methods: tuple[str, ...]
    handler: Handler
    available: Gate | Callable[[EsVersion], bool] = _always
