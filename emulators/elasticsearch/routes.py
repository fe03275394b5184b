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


class _ExactRule(Rule):
    """A rule for exactly its methods: werkzeug adds HEAD to every GET rule, ES does not."""

    def __init__(self, path: str, *, endpoint: Route, methods: tuple[str, ...]) -> None:
        super().__init__(path, endpoint=endpoint, methods=list(methods))
        self.methods = set(methods)


def url_map(version: EsVersion) -> Map:
    """The routes that exist on `version`; each rule's endpoint is its `Route`."""
    rules: list[Rule] = [
        _ExactRule(route.path, endpoint=route, methods=route.methods)
        for route in ROUTE_TABLE
        if route.available(version)
    ]
    return Map(rules, strict_slashes=False, merge_slashes=False)
