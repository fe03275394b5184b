"""The route table: every REST route the emulator answers, by API area, and its handler."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from .api import cluster_settings, indices, inference, ingest, root
from .api.context import Route
from .versions import EsVersion

__all__ = ["ROUTE_TABLE", "url_map"]

ROUTE_TABLE: tuple[Route, ...] = (
    *root.ROUTES,
    *inference.ROUTES,
    *cluster_settings.ROUTES,
    *ingest.ROUTES,
    *indices.ROUTES,
)


def url_map(version: EsVersion) -> Map:
    """The routes that exist on `version`; each rule's endpoint is its `Route`."""
    rules = [
        Rule(route.path, endpoint=route, methods=list(route.methods))
        for route in ROUTE_TABLE
        if route.available(version)
    ]
    return Map(rules, strict_slashes=False, merge_slashes=False)
